"""The sensor's docs page documents every argument (its example is included from the DAG file)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
DOC = REPO / "docs" / "sensors-messages.md"


def test_docs_mention_every_sensor_argument() -> None:
    import inspect

    from airflow_provider_twin.sensors.messages import TwinMessageStatusSensor

    doc = DOC.read_text()
    own = [
        name
        for name in inspect.signature(TwinMessageStatusSensor.__init__).parameters
        if name not in ("self", "kwargs", "twin_conn_id")
    ]
    missing = [name for name in own if f"`{name}`" not in doc]
    assert not missing, f"arguments missing from {DOC.name}: {missing}"
