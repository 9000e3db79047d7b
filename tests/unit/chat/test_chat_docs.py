"""docs/chat.md documents every argument and event key (its example is included from the DAG file)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from airflow_provider_twin.client.chat import EVENT_NAMES, WaitResult
from airflow_provider_twin.operators.chat import TwinStartChatSessionOperator
from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor
from airflow_provider_twin.triggers.chat import TwinChatSessionEventTrigger

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "chat.md"


@pytest.mark.parametrize(
    "cls", [TwinStartChatSessionOperator, TwinChatSessionClosedSensor, TwinChatSessionEventTrigger]
)
def test_docs_mention_every_argument(cls: type) -> None:
    doc = DOC.read_text()
    arguments = [
        name for name in inspect.signature(cls.__init__).parameters if name not in ("self", "kwargs")
    ]
    missing = [name for name in arguments if f"`{name}`" not in doc and f"{name}`" not in doc]
    assert not missing, f"arguments of {cls.__name__} missing from {DOC.name}: {missing}"


def test_docs_show_every_event_key_and_name() -> None:
    doc = DOC.read_text()
    event = WaitResult("closed", "S1").to_event()
    assert all(f'"{key}"' in doc for key in event)
    assert all(f"`{name}`" in doc for name in EVENT_NAMES)
