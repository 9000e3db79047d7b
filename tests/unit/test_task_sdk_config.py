"""The provider reads Airflow's configuration through the Task SDK, never the core's module.

``airflow.sdk.conf`` is what a task's code is meant to use in Airflow 3 (it exists from 3.0 on,
so on every supported version); ``airflow.configuration`` belongs to Airflow's core, which a
worker running only the Task SDK need not have.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_twin"


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_the_core_configuration(path: Path) -> None:
    assert "airflow.configuration" not in _imported_modules(path)


def test_the_sensors_read_the_task_sdk_configuration() -> None:
    from airflow.sdk import conf

    from airflow_provider_twin.sensors import chat, messages, twin_sensor

    for module in (chat, messages, twin_sensor):
        assert module.conf is conf, module.__name__


def test_a_wait_outside_a_dag_shows_times_in_the_configured_default_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_twin.sensors.messages import TwinMessageStatusSensor

    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TIMEZONE", "Asia/Kolkata")
    assert TwinMessageStatusSensor(task_id="w", bulk_ids="b").timezone_name() == "Asia/Kolkata"
