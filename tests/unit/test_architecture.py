"""The package's layers and domains, as docs/architecture.md draws them, checked on the code.

Read statically from every module's imports (top level and inside functions), so a rule holds
whatever code path runs. A failure names the module, the import and the rule it breaks.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "airflow_provider_twin"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE
ADAPTER_LAYERS = ("operators", "sensors", "triggers", "notifications")
#: Served by Airflow's API server (a plugin), not run in tasks: builds on the client's faces only.
SERVER_LAYERS = ("webhooks",)
DOMAINS = ("messages", "chat", "files")
#: What adapters may import of the client: its face and the domain packages' faces.
ADAPTER_FACES = {f"{PACKAGE}.client", *(f"{PACKAGE}.client.{name}" for name in DOMAINS)}
#: The hook also builds clients from core's face.
HOOK_FACES = {*ADAPTER_FACES, f"{PACKAGE}.client.core"}
#: Third-party packages the client may use: it is a plain TWIN client, usable without Airflow.
CLIENT_THIRD_PARTY = {"httpx", "certifi", "centrifuge", "websocket"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted
    names: tuple[str, ...]  # names taken from it (empty for ``import x``)
    line: int

    def __str__(self) -> str:
        what = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.module}:{self.line} imports {self.target}{what}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        yield _module_name(path), path


def _imports() -> list[Import]:
    found: list[Import] = []
    for module, path in _modules():
        tree = ast.parse(path.read_text(), str(path))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.extend(Import(module, alias.name, (), node.lineno) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                names = tuple(alias.name for alias in node.names)
                found.append(Import(module, base, names, node.lineno))
    return found


IMPORTS = _imports()


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _own(target: str) -> bool:
    return target == PACKAGE or target.startswith(PACKAGE + ".")


def _violations(rule: str, bad: list[Import]) -> str:
    return f"{rule}:\n  " + "\n  ".join(map(str, bad))


def test_the_layers_are_where_the_guide_says() -> None:
    folders = ("client/core", *(f"client/{d}" for d in DOMAINS), "hooks", "emulator", *ADAPTER_LAYERS)
    for folder in (*folders, *SERVER_LAYERS):
        assert (ROOT / folder / "__init__.py").is_file(), folder


def test_client_never_imports_airflow_or_the_layers_above_it() -> None:
    bad = [
        i
        for i in IMPORTS
        if _layer(i.module) == "client"
        and (
            i.target.split(".")[0] == "airflow" or (_own(i.target) and _layer(i.target) not in ("client", ""))
        )
    ]
    assert not bad, _violations("client/ is a plain TWIN client: no Airflow, no hooks or adapters", bad)


def test_client_third_party_dependencies_are_the_declared_ones() -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    bad = [
        i
        for i in IMPORTS
        if _layer(i.module) == "client"
        and not _own(i.target)
        and i.target.split(".")[0] not in stdlib | CLIENT_THIRD_PARTY
    ]
    assert not bad, _violations(
        f"client/ uses only the standard library and {sorted(CLIENT_THIRD_PARTY)}", bad
    )


def test_core_knows_no_domain_and_domains_do_not_import_each_other() -> None:
    bad = []
    for i in IMPORTS:
        if _layer(i.module) != "client" or not i.target.startswith(f"{PACKAGE}.client."):
            continue
        source = i.module.split(".")[2] if i.module.count(".") >= 2 else ""
        target = i.target.split(".")[2]
        core_reaches_up = source == "core" and target != "core"
        domains_cross = source in DOMAINS and target in DOMAINS and target != source
        if core_reaches_up or domains_cross:
            bad.append(i)
    assert not bad, _violations("client.core builds on nothing; a domain builds on core only", bad)


def test_emulator_stands_alone() -> None:
    bad = [
        i
        for i in IMPORTS
        if _layer(i.module) == "emulator" and _own(i.target) and _layer(i.target) not in ("emulator", "")
    ]
    assert not bad, _violations("the emulator follows TWIN's documents, not our client", bad)


def test_hooks_and_adapters_use_client_faces_only() -> None:
    bad = [
        i
        for i in IMPORTS
        if _layer(i.module) in ("hooks", *ADAPTER_LAYERS)
        and i.target.startswith(f"{PACKAGE}.client")
        and i.target not in (HOOK_FACES if _layer(i.module) == "hooks" else ADAPTER_FACES)
    ]
    assert not bad, _violations(
        "adapters import the public names of airflow_provider_twin.client or of a domain package "
        "(client.messages, client.chat), never a client module; the hook may also use client.core",
        bad,
    )


def test_the_webhook_receiver_builds_on_the_client_faces_and_airflow_only() -> None:
    bad = [
        i
        for i in IMPORTS
        if _layer(i.module) in SERVER_LAYERS
        and _own(i.target)
        and _layer(i.target) != _layer(i.module)
        and i.target not in ADAPTER_FACES
    ]
    assert not bad, _violations(
        "webhooks/ runs in Airflow's API server: it uses the faces of the client and of a domain, "
        "never a client module, the hook, the adapters or the emulator",
        bad,
    )


@pytest.mark.parametrize("layer", ADAPTER_LAYERS)
def test_an_adapter_module_speaks_to_one_domain(layer: str) -> None:
    domains: dict[str, set[str]] = {}
    for i in IMPORTS:
        if _layer(i.module) == layer and i.target.startswith(f"{PACKAGE}.client."):
            domains.setdefault(i.module, set()).add(i.target.split(".")[2])
    bad = {module: sorted(used) for module, used in domains.items() if len(used - {"core"}) > 1}
    assert not bad, f"adapter modules using more than one client domain: {bad}"


def test_adapters_never_import_private_names_of_other_modules() -> None:
    bad = [
        i
        for i in IMPORTS
        if _layer(i.module) in ("hooks", *ADAPTER_LAYERS)
        and _own(i.target)
        and any(name.startswith("_") and name != "__version__" for name in i.names)
    ]
    assert not bad, _violations("another module's underscore names are its own", bad)


def test_every_module_fits_its_size() -> None:
    too_big = []
    for module, path in _modules():
        limit = 250 if _layer(module) in ADAPTER_LAYERS else 400
        lines = len(path.read_text().splitlines())
        if lines > limit:
            too_big.append(f"{module}: {lines} lines (limit {limit})")
    assert not too_big, "split by job:\n  " + "\n  ".join(too_big)


def test_no_module_is_named_for_nothing() -> None:
    vague = {"utils", "util", "support", "shared", "common", "helpers", "misc"}
    bad = [module for module, _ in _modules() if module.rpartition(".")[2] in vague]
    assert not bad, f"name modules for their domain: {bad}"


def test_client_imports_without_airflow_at_run_time() -> None:
    """Every client module imports in a fresh interpreter and pulls in no Airflow module."""
    code = (
        "import importlib, pkgutil, sys, airflow_provider_twin.client as client\n"
        "names = [m.name for m in pkgutil.walk_packages(client.__path__, 'airflow_provider_twin.client.')]\n"
        "assert len(names) > 20, names\n"
        "for name in names: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
