"""The repository's scripts and example DAG files, which are not packages, loaded as modules."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
DEMO_SCRIPT = REPO / "scripts" / "demo.py"
_loads = itertools.count()


def load_file(path: Path) -> ModuleType:
    """Import ``path`` under a fresh module name, so that each load reads the environment again."""
    spec = importlib.util.spec_from_file_location(f"twin_file_{path.stem}_{next(_loads)}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_demo_script() -> ModuleType:
    """``scripts/demo.py`` (``make demo`` / ``make airflow``) as a module."""
    return load_file(DEMO_SCRIPT)
