"""A guard: no log line or exception message of the package, the example DAGs or the scripts
formats a collection's repr.

Users read "09:00-20:00", "sessionClosed" and "SMS 13", not "('09:00', '20:00')",
"('sessionClosed',)" or "{'SMS': 13}". This scans the package (not the emulator, which speaks for
TWIN), the example DAGs and the scripts for f-strings and %-formatted log calls that interpolate
an expression that is, by its shape, a tuple, list, set or dict: a display (``[a, b]``), a call
of ``list``/``tuple``/``set``/``frozenset``/``dict``/``sorted``, a mapping view (``.items()``),
or an attribute named as a collection the package keeps (``names``, ``statuses``,
``*_statuses``, ``ids``, ``*_ids``, ``channels``). Join them (``", ".join(...)``) instead. It is
a cheap net, not a proof: the tests next to each line assert its text.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.messages import Targets

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "airflow_provider_twin"
# What users read besides the package: the example DAGs' task logs and the demo's output.
USER_FACING_FILES = (REPO / "example_dags", REPO / "scripts")
CONTAINER_CALLS = {"list", "tuple", "set", "frozenset", "dict", "sorted"}
MAPPING_VIEWS = {"items", "keys", "values"}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


def _collection_attribute(name: str) -> bool:
    return name in {"names", "statuses", "ids", "channels"} or name.endswith(("_statuses", "_ids"))


def looks_like_a_collection(node: ast.expr) -> bool:
    """True when ``node`` is, by its shape, a tuple, list, set or dict."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp, ast.DictComp)):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in CONTAINER_CALLS:
            return True
        return isinstance(func, ast.Attribute) and func.attr in MAPPING_VIEWS and not node.args
    return isinstance(node, ast.Attribute) and _collection_attribute(node.attr)


def interpolated(tree: ast.AST) -> list[ast.expr]:
    """Expressions formatted into text: f-string fields and the arguments of %-style log calls."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FormattedValue) and node.format_spec is None:
            found.append(node.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in LOG_METHODS and node.args:
                first = 1 if node.func.attr == "log" else 0
                template = node.args[first] if len(node.args) > first else None
                if isinstance(template, ast.Constant) and isinstance(template.value, str):
                    found.extend(node.args[first + 1 :])
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Mod)
            and isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
        ):
            right = node.right
            found.extend(right.elts if isinstance(right, ast.Tuple) else [right])
    return found


def offenders(source: str, where: str) -> list[str]:
    tree = ast.parse(source)
    return [
        f"{where}:{expr.lineno}: {ast.unparse(expr)}"
        for expr in interpolated(tree)
        if looks_like_a_collection(expr)
    ]


def scanned_files() -> list[Path]:
    """The package without the emulator, the example DAGs and the scripts."""
    package = [path for path in PACKAGE.rglob("*.py") if "emulator" not in path.relative_to(PACKAGE).parts]
    return sorted([*package, *(path for folder in USER_FACING_FILES for path in folder.rglob("*.py"))])


def test_no_collection_repr_is_formatted_into_a_line() -> None:
    found: list[str] = []
    for path in scanned_files():
        found.extend(offenders(path.read_text(encoding="utf-8"), str(path.relative_to(REPO))))
    assert not found, "format these as words (', '.join(...)), not as a repr:\n" + "\n".join(found)


def test_the_example_dags_and_scripts_are_scanned() -> None:
    scanned = {path.relative_to(REPO).as_posix() for path in scanned_files()}
    assert {"example_dags/example_twin_delayed_with_cancel.py", "scripts/demo.py"} <= scanned
    assert not any(name.startswith("airflow_provider_twin/emulator/") for name in scanned)


def test_the_guard_catches_the_shapes_it_names() -> None:
    source = """
log.info("waiting for %s", events.names)
raise ValueError(f"window {tuple(window)} is wrong")
message = f"per channel: {counts.items()}"
self.log.log(20, "statuses %s", self.closed_statuses)
text = "ids %s" % (self.bulk_ids,)
fine = f"waiting for {' or '.join(events.names)}; {len(ids)} id(s)"
"""
    assert sorted(line.split(": ", 1)[1] for line in offenders(source, "x")) == [
        "counts.items()",
        "events.names",
        "self.bulk_ids",
        "self.closed_statuses",
        "tuple(window)",
    ]


def test_serialized_targets_name_the_kinds_they_hold() -> None:
    with pytest.raises(TwinInputError, match=r"exactly one kind of id, got bulk_ids, group_ids$"):
        Targets.from_json({"bulk_ids": ["b-1"], "group_ids": ["g-1"]})
    with pytest.raises(TwinInputError, match=r"exactly one kind of id, got none$"):
        Targets.from_json({"expected_total": 3})
