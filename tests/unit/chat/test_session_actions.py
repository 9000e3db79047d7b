"""Chat session actions against the emulator: close once, transcripts, listings, client messages,
mark read, and the sessions a send's chat channel opened."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from airflow_provider_twin.client import (
    RetryPolicy,
    TwinClient,
    TwinInputError,
    TwinNotFoundError,
    chat,
    notify,
)
from airflow_provider_twin.client.chat import CampaignChatSessions
from airflow_provider_twin.emulator import TwinEmulator
from tests.unit.chat.chat_fixtures import CHAT_ID, emulator_config, start_session

pytestmark = pytest.mark.integration


@pytest.fixture
def client(twin_emulator: TwinEmulator) -> Any:
    config = replace(emulator_config(twin_emulator), retry=RetryPolicy(max_attempts=1))
    with TwinClient(config) as twin:
        yield twin


def test_calls_as_data() -> None:
    close = chat.close_session("s 1", "done")
    assert (close.method, close.path, close.json) == ("DELETE", "/sessions/s%201", {"result": "done"})
    post = chat.post_client_message("s1", "hi", reply_to_message_id="m1")
    assert post.json == {"body": "hi", "attachments": [], "replyToMessageId": "m1"}
    assert not post.safe_to_repeat
    assert chat.mark_message_read("m1").safe_to_repeat
    with pytest.raises(TwinInputError):
        chat.post_client_message("s1", "")
    with pytest.raises(TwinInputError, match="unknown session filter"):
        chat.session_filters({"colour": "red"})
    assert chat.session_filters({"chat_id": "c", "marked_as_spam": False, "name": None}) == {
        "chatId": "c",
        "markedAsSpam": False,
    }
    assert chat.session_ref({"sessionId": " s1 "}) == "s1"
    assert chat.session_ref({"session_id": "s2"}) == "s2"


def test_close_once_is_idempotent(client: TwinClient, twin_emulator: TwinEmulator) -> None:
    session_id = start_session(twin_emulator)
    first = client.run(chat.close_once(session_id, "resolved"))
    assert first == {"session_id": session_id, "closed": True, "status": "CLOSED", "result": "resolved"}
    again = client.run(chat.close_once(session_id, "resolved"))
    assert (again["closed"], again["status"]) == (False, "CLOSED")
    with pytest.raises(TwinNotFoundError):
        client.run(chat.close_once("00000000-0000-4000-8000-000000000000"))


def test_transcript_reads_every_page_and_filters_authors(
    client: TwinClient, twin_emulator: TwinEmulator
) -> None:
    session_id = start_session(twin_emulator, messageBody="first", clientPhone="79990000001")
    for number in range(150):
        client.send(chat.post_client_message(session_id, f"message {number}"))
    whole = client.run(chat.read_transcript(session_id))
    assert whole["count"] == 152
    assert not whole["truncated"]
    assert [m["author_type"] for m in whole["messages"][:2]] == ["CLIENT", "BOT"]
    assert whole["messages"][-1]["body"] == "message 149"
    clients = client.run(chat.read_transcript(session_id, author_types="client", max_messages=10))
    assert clients["count"] == 10
    assert clients["truncated"]
    assert {m["author_type"] for m in clients["messages"]} == {"CLIENT"}
    message_id = whole["messages"][0]["id"]
    assert message_id is not None
    client.send(chat.mark_message_read(message_id))
    again = client.run(chat.read_transcript(session_id, max_messages=1))
    assert again["messages"][0]["read_at"]


def test_find_sessions_by_filters_is_bounded(client: TwinClient, twin_emulator: TwinEmulator) -> None:
    ids = [start_session(twin_emulator, name="Survey") for _ in range(5)]
    start_session(twin_emulator, name="Other")
    client.run(chat.close_once(ids[0]))
    listing = client.run(chat.find_sessions({"chat_id": CHAT_ID, "name": "Survey"}, max_sessions=3))
    assert listing["total"] == 5
    assert listing["truncated"]
    assert listing["session_ids"] == ids[:3]
    open_ones = client.run(chat.find_sessions({"chatId": CHAT_ID, "name": "Survey", "status": "OPEN"}))
    assert open_ones["session_ids"] == ids[1:]
    assert not open_ones["truncated"]
    assert open_ones["sessions"][0]["name"] == "Survey"


def chat_message(name: str, phones: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "destinations": [{"phone": phone} for phone in phones],
        "channels": {"chat": {"chatId": CHAT_ID, "chatSessionName": name, "text": "How was your visit?"}},
        **extra,
    }


def test_campaign_sessions_are_found_and_matched_to_recipients(
    client: TwinClient, twin_emulator: TwinEmulator
) -> None:
    phones = ["79990000011", "79990000012", "79990000013"]
    message = chat_message("Feedback run 1", phones)
    client.send(notify.create_messages([message]))  # type: ignore[list-item]
    start_session(twin_emulator, name="Feedback run 1")  # someone else's session of that name: unmatched
    chats = CampaignChatSessions(since=time.time())
    chats.record([message], first_index=0)
    assert chats.present
    found = client.run(chats.finding(wait_seconds=0))
    assert (found["status"], found["expected"], found["found"], found["unmatched"]) == ("found", 3, 4, 1)
    assert [entry["index"] for entry in found["sessions"]] == [0, 1, 2, None]
    sessions = twin_emulator.admin.sessions(chatId=CHAT_ID)["items"]
    by_phone = {item["clientPhone"]: item["id"] for item in sessions}
    assert [entry["session_id"] for entry in found["sessions"][:3]] == [by_phone[phone] for phone in phones]


def test_a_delayed_chat_message_has_no_sessions_yet(client: TwinClient) -> None:
    later = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 3600))
    message = chat_message("Tomorrow", ["79990000021"], sendAt=later)
    client.send(notify.create_messages([message]))  # type: ignore[list-item]
    chats = CampaignChatSessions(since=time.time())
    chats.record([message], first_index=0)
    found = client.run(chats.finding(wait_seconds=5))
    assert (found["status"], found["delayed"], found["sessions"]) == ("delayed", 1, [])
    assert "later sendAt" in found["note"]


def test_the_lookup_waits_a_bounded_time_for_missing_sessions(client: TwinClient) -> None:
    message = chat_message("Never opened", ["79990000031"])  # recorded, never sent: nothing opens
    chats = CampaignChatSessions(since=time.time())
    chats.record([message], first_index=0)
    began = time.monotonic()
    found = client.run(chats.finding(wait_seconds=1.5))
    assert 1.0 <= time.monotonic() - began < 5
    assert (found["status"], found["expected"]) == ("none", 1)
    assert not CampaignChatSessions(since=0).present
