"""Test-wide set-up: an isolated Airflow home, the emulator fixtures, loopback only.

Airflow reads its configuration from the environment when first imported, so the
environment is prepared here, at import time, before any test module imports Airflow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DAG_SOURCES = (REPO / "tests" / "integration" / "dags", REPO / "example_dags")

_HOME = Path(tempfile.mkdtemp(prefix="twin-airflow-home-"))
_DAGS = _HOME / "dags"
_DAGS.mkdir()
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_DAGS)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ.pop("AIRFLOW_CONN_TWIN_DEFAULT", None)
# The emulator is reached over loopback; never let a proxy setting send it elsewhere.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

pytest_plugins = ["airflow_provider_twin.emulator.pytest_plugin"]


def _link_dag_files() -> None:
    for source in DAG_SOURCES:
        if not source.is_dir():
            continue
        for path in source.glob("*.py"):
            if path.name == "__init__.py":
                continue
            target = _DAGS / f"{source.name}__{path.name}"
            if not target.exists():
                target.symlink_to(path)
        data = source / "data"
        if data.is_dir() and not (_DAGS / "data").exists():
            (_DAGS / "data").symlink_to(data)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata database and a DAGs folder holding the test and example DAGs."""
    _link_dag_files()
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
        timeout=300,
    )
    return _HOME


@pytest.fixture
def airflow_twin(airflow_db: Path, twin_emulator, twin_connection_env):  # type: ignore[no-untyped-def]
    """A migrated Airflow whose ``twin_default`` connection points at a fresh emulator."""
    return twin_emulator
