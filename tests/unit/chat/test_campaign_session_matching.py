"""Campaign session lookups: bounded ``from`` windows, and someone else's sessions never end the wait."""

from __future__ import annotations

import time
from collections.abc import Generator
from datetime import datetime
from typing import Any

import pytest

from airflow_provider_twin.client.chat.campaign_sessions import (
    CLOCK_SLACK_SECONDS,
    CONTINUED_LOOKBACK_SECONDS,
    CampaignChatSessions,
)
from airflow_provider_twin.client.core.calls import ApiCall
from tests.unit.core.procedure_runs import run_procedure

CHAT = "7c1e0c2a-1d2b-4c3d-8e4f-5a6b7c8d9e0f"


def message(name: str, clients: list[str], *, continued: bool = False) -> dict[str, Any]:
    chat: dict[str, Any] = {"chatId": CHAT, "chatSessionName": name, "text": "Hi"}
    if continued:
        chat["continueLastOrStartNewSession"] = True
    return {"destinations": [{"clientId": client} for client in clients], "channels": {"chat": chat}}


def session(session_id: str, client: str, name: str) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return {"id": session_id, "clientId": client, "name": name, "chatId": CHAT, "startedAt": now}


def drive(procedure: Generator[Any, Any, Any], pages: list[list[dict[str, Any]]]) -> tuple[Any, list[Any]]:
    """Answer the n-th listing with ``pages[n]`` (the last one again after that)."""
    listed = 0

    def answer(_call: ApiCall[Any]) -> dict[str, Any]:
        nonlocal listed
        listed += 1
        items = pages[min(listed, len(pages)) - 1]
        return {"count": len(items), "items": items}

    return run_procedure(procedure, answer)


def test_unmatched_sessions_do_not_end_the_wait_early() -> None:
    chats = CampaignChatSessions(since=time.time())
    chats.record([message("Feedback", ["c1", "c2"])], first_index=0)
    strangers = [session("s-x", "x", "Feedback"), session("s-y", "y", "Feedback")]
    ours = [session("s-1", "c1", "Feedback"), session("s-2", "c2", "Feedback")]
    found, calls = drive(chats.finding(wait_seconds=30), [strangers, strangers + ours])
    assert len(calls) == 2  # the strangers alone did not end the wait
    assert (found["status"], found["expected"], found["found"], found["unmatched"]) == ("found", 2, 4, 2)
    assert [entry["index"] for entry in found["sessions"]] == [0, 1, None, None]
    assert "matched no recipient" in found["note"]


def test_only_strangers_leave_the_status_partial_or_none() -> None:
    chats = CampaignChatSessions(since=time.time())
    chats.record([message("Feedback", ["c1"])], first_index=0)
    chats.record([message("Feedback", ["c2"])], first_index=1)
    found, _ = drive(chats.finding(wait_seconds=0), [[session("s-x", "x", "Feedback")]])
    assert (found["status"], found["found"], found["unmatched"]) == ("none", 1, 1)


def test_a_continued_session_lookup_keeps_a_from_filter() -> None:
    since = time.time()
    chats = CampaignChatSessions(since=since)
    chats.record([message("Feedback", ["c1"], continued=True)], first_index=0)
    _, calls = drive(chats.finding(wait_seconds=0), [[session("s-1", "c1", "Feedback")]])
    window = calls[0].params["from"]
    assert window
    looked_back = since - datetime.fromisoformat(window).timestamp()
    assert looked_back == pytest.approx(CONTINUED_LOOKBACK_SECONDS + CLOCK_SLACK_SECONDS, abs=0.01)
