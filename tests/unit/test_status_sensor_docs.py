"""The example on the sensor's docs page is the code of the example DAG, verbatim."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "sensors-messages.md"
DAG = REPO / "tests" / "integration" / "dags" / "status_example.py"
MARKER = "howto_twin_status_sensor"


def _dag_snippet() -> str:
    text = DAG.read_text()
    match = re.search(rf"# \[START {MARKER}\]\n(.*?)\n\s*# \[END {MARKER}\]", text, re.S)
    assert match, f"{DAG.name} lacks the {MARKER} markers"
    return match.group(1)


def _doc_snippet() -> str:
    text = DOC.read_text()
    pattern = rf"<!-- \[START {MARKER}\] -->\n```python\n(.*?)\n```\n<!-- \[END {MARKER}\] -->"
    match = re.search(pattern, text, re.S)
    assert match, f"{DOC.name} lacks the {MARKER} block"
    return match.group(1)


def test_docs_example_matches_the_example_dag() -> None:
    assert _doc_snippet() == _dag_snippet()


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
