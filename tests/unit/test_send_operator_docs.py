"""The examples on the send/cancel docs page are the example DAG's code, and every argument is documented."""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path

import pytest

from airflow_provider_twin.operators.messages import TwinCancelMessagesOperator, TwinSendMessagesOperator

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "operators-messages.md"
DAG = REPO / "tests" / "integration" / "dags" / "messages_example.py"
MARKERS = ("howto_send_recipients", "howto_cancel", "howto_send_file", "howto_send_raw")


def dag_snippet(marker: str) -> str:
    match = re.search(rf"# \[START {marker}\]\n(.*?)\n\s*# \[END {marker}\]", DAG.read_text(), re.S)
    assert match, f"{DAG.name} lacks the {marker} markers"
    return textwrap.dedent(match.group(1))


def doc_snippet(marker: str) -> str:
    pattern = rf"<!-- \[START {marker}\] -->\n```python\n(.*?)\n```\n<!-- \[END {marker}\] -->"
    match = re.search(pattern, DOC.read_text(), re.S)
    assert match, f"{DOC.name} lacks the {marker} block"
    return match.group(1)


@pytest.mark.parametrize("marker", MARKERS)
def test_docs_examples_match_the_example_dag(marker: str) -> None:
    assert doc_snippet(marker) == dag_snippet(marker)


@pytest.mark.parametrize("operator", [TwinSendMessagesOperator, TwinCancelMessagesOperator])
def test_docs_mention_every_argument(operator: type) -> None:
    doc = DOC.read_text()
    arguments = [
        name for name in inspect.signature(operator.__init__).parameters if name not in ("self", "kwargs")
    ]
    missing = [name for name in arguments if f"`{name}`" not in doc]
    assert not missing, f"arguments missing from {DOC.name}: {missing}"


def test_docs_mention_every_summary_key() -> None:
    from airflow_provider_twin.client.bulk import SendReport

    doc = DOC.read_text()
    missing = [key for key in SendReport().summary() if f'"{key}"' not in doc]
    assert not missing, f"summary keys missing from {DOC.name}: {missing}"
