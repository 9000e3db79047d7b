"""The send/cancel docs page documents every argument (its examples are included from the DAG file)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from airflow_provider_twin.operators.messages import TwinCancelMessagesOperator, TwinSendMessagesOperator

REPO = Path(__file__).resolve().parents[4]
DOC = REPO / "docs" / "operators-messages.md"


@pytest.mark.parametrize("operator", [TwinSendMessagesOperator, TwinCancelMessagesOperator])
def test_docs_mention_every_argument(operator: type) -> None:
    doc = DOC.read_text()
    arguments = [
        name for name in inspect.signature(operator.__init__).parameters if name not in ("self", "kwargs")
    ]
    missing = [name for name in arguments if f"`{name}`" not in doc]
    assert not missing, f"arguments missing from {DOC.name}: {missing}"


def test_docs_mention_every_summary_key() -> None:
    from airflow_provider_twin.client.messages import SendReport

    doc = DOC.read_text()
    missing = [key for key in SendReport().summary() if f'"{key}"' not in doc]
    assert not missing, f"summary keys missing from {DOC.name}: {missing}"
