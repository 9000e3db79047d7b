"""The chat endpoint calls as data: paths, bodies, filters and which may be repeated."""

from __future__ import annotations

import pytest

from airflow_provider_twin.client import TwinInputError, chat


def test_chat_calls() -> None:
    start = chat.start_session("chat/1", {"sessionId": "s-1", "sessionTtl": 600, "name": None})
    assert start.path == "/chats/chat%2F1/sessions"
    assert start.json == {"sessionId": "s-1", "sessionTtl": 600}
    assert start.safe_to_repeat  # a caller-chosen session id makes the start repeatable
    assert not chat.start_session("c", {}).safe_to_repeat
    with pytest.raises(TwinInputError, match="sessionTtl"):
        chat.start_session("c", {"sessionTtl": 50_000})
    assert chat.get_session("s 1").path == "/sessions/s%201"
    assert chat.list_sessions(status="OPEN", limit=5).params == {
        "limit": "5",
        "offset": "0",
        "status": "OPEN",
    }
