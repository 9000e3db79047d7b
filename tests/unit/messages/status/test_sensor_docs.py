"""The example on the sensor's docs page is the code of the example DAG, verbatim."""

from __future__ import annotations

from pathlib import Path

from tests.snippets import dag_snippet, page_snippet

REPO = Path(__file__).resolve().parents[4]
DOC = REPO / "docs" / "sensors-messages.md"
DAG = REPO / "tests" / "integration" / "dags" / "status_example.py"
MARKER = "howto_twin_status_sensor"


def test_docs_example_matches_the_example_dag() -> None:
    assert page_snippet(DOC, MARKER) == dag_snippet(DAG, MARKER)


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
