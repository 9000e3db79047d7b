"""Chat waits name their awaited events as words, never as a tuple's repr."""

from __future__ import annotations

from unittest import mock

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_twin.client.chat import EventFilter, timeout_result
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor
from tests.unit.chat.chat_fixtures import make_context, start_session


def test_awaited_events_read_as_words() -> None:
    assert EventFilter.from_specs(None).describe() == "sessionClosed"
    events = EventFilter.from_specs(["chatMessageCreated", {"event": "chatMessageCreated"}])
    assert events.describe() == "sessionClosed or chatMessageCreated"
    result = timeout_result("s-1", 0, events.names)
    assert "waiting for sessionClosed or chatMessageCreated of chat session s-1" in result.message


def test_the_deferral_line_names_the_events(fast_realtime: TwinEmulator, twin_connection_env: str) -> None:
    session_id = start_session(fast_realtime)
    task = TwinChatSessionClosedSensor(
        task_id="closed", session_id=session_id, deferrable=True, events=["chatMessageCreated"]
    )
    log = mock.MagicMock()
    with (
        mock.patch.object(
            TwinChatSessionClosedSensor, "log", new_callable=mock.PropertyMock, return_value=log
        ),
        pytest.raises(TaskDeferred),
    ):
        task.execute(make_context())
    lines = [call.args[0] % call.args[1:] for call in log.info.call_args_list]
    assert lines == [
        f"Chat session {session_id} open; waiting for sessionClosed or chatMessageCreated in the triggerer"
    ]
