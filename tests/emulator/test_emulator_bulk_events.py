"""Admin shortcuts that make many events at once, each with its time recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from emulator_testkit import CHAT_ID, TwinApi, wait_for
from webhook_testkit import WebhookReceiver

from airflow_provider_twin.emulator import SessionEvent, TwinEmulator

pytestmark = pytest.mark.twin_strict


def test_messages_reach_the_chosen_status_when_told(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    made = twin_emulator.admin.make_messages(50, "undelivered", delivery_seconds=60, bulk_id="bench-1")
    assert (made["bulkId"], made["count"], made["status"], len(made["ids"])) == (
        "bench-1",
        50,
        "UNDELIVERED",
        50,
    )
    created = datetime.fromisoformat(made["created_at"])
    assert (datetime.fromisoformat(made["final_at"]) - created).total_seconds() == pytest.approx(60)
    assert made["final_ts"] - made["created_ts"] == pytest.approx(60)
    assert api.count(bulkId="bench-1", status="PENDING") == 50
    twin_emulator.admin.advance_clock(61)
    assert api.count(bulkId="bench-1", status="UNDELIVERED") == 50
    assert {item["id"] for item in api.items(bulkId="bench-1", limit=100)} == set(made["ids"])
    assert twin_emulator.admin.counters()["messages_created"] == 1
    # A second batch gets other phones: no duplicates are counted.
    twin_emulator.admin.make_messages(10, bulk_id="bench-1", delivery_seconds=0)
    assert twin_emulator.admin.counters()["duplicate_destinations"] == 0
    assert api.count(bulkId="bench-1", status="DELIVERED") == 10


def test_made_messages_send_their_webhooks(twin_emulator: TwinEmulator, receiver: WebhookReceiver) -> None:
    made = twin_emulator.admin.make_messages(
        20, "ERROR", delivery_seconds=0.1, callback_url=f"{receiver.url}/h", callback_data="bench"
    )
    bodies = wait_for(lambda: receiver.bodies() if len(receiver.bodies()) == 20 else None, timeout=10)
    assert {body["id"] for body in bodies} == set(made["ids"])
    assert {(body["newStatus"], body["callbackData"]) for body in bodies} == {("ERROR", "bench")}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "count"),
        ({"count": 0}, "count"),
        ({"count": 1, "status": "PENDING"}, "status"),
        ({"count": 1, "channel": "pigeon"}, "channel"),
        ({"count": 1, "delivery_seconds": -1}, "delivery_seconds"),
        ({"count": 1, "callback_url": 5}, "callback_url"),
    ],
)
def test_make_messages_refuses_bad_input(
    twin_emulator: TwinEmulator, body: dict[str, Any], field: str
) -> None:
    response = httpx.post(f"{twin_emulator.base_url}/_emulator/messages", json=body)
    assert response.status_code == 422
    assert field in response.json()["details"]


def test_start_message_and_close_many_sessions(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    events: list[SessionEvent] = []
    unsubscribe = twin_emulator.state.sessions.subscribe(events.append)
    try:
        started = twin_emulator.admin.start_sessions(5, chat_id=CHAT_ID, message_body="hi")
        assert len({item["id"] for item in started}) == 5
        assert all(item["chatId"] == CHAT_ID and item["started_ts"] for item in started)
        twin_emulator.admin.advance_clock(10)
        posted = twin_emulator.admin.post_client_messages(
            session_ids=[item["id"] for item in started[:2]], per_session=3, body="where?"
        )
        assert len(posted) == 6
        assert all(item["created_ts"] > started[0]["started_ts"] for item in posted)
        closed = twin_emulator.admin.close_sessions(chat_id=CHAT_ID, count=4, rating=4, rating_required=True)
    finally:
        unsubscribe()
    assert [item["id"] for item in closed] == [item["id"] for item in started[:4]]
    assert {item["rating"] for item in closed} == {4}
    assert all(item["closed_ts"] >= posted[0]["created_ts"] for item in closed)
    kinds = [event.kind for event in events]
    assert (kinds.count("session_started"), kinds.count("client_message"), kinds.count("session_closed")) == (
        5,
        5 + 6,
        4,
    )
    response = api.http.get("/chat/api/v1/sessions", params={"status": "CLOSED"}, headers=api.headers())
    listed = {item["id"]: item for item in response.json()["items"]}
    assert set(listed) == {item["id"] for item in closed}
    assert {item["closedAt"] for item in listed.values()} == {closed[0]["closedAt"]}
    first = listed[started[0]["id"]]
    assert first["lastMessageCreatedAt"] == posted[2]["createdAt"]
    assert first["lastMessage"]["body"] == "where?"
    # Closed sessions are not touched again; the rest are closed when nothing narrows the call.
    assert [item["id"] for item in twin_emulator.admin.close_sessions()] == [started[4]["id"]]
    assert twin_emulator.admin.post_client_messages() == []


def test_delayed_close_many_fires_when_due(twin_emulator: TwinEmulator) -> None:
    started = twin_emulator.admin.start_sessions(3)
    closed = twin_emulator.admin.close_sessions(after_seconds=0.2)
    assert len(closed) == 3
    assert closed[0]["closed_ts"] - started[0]["started_ts"] >= 0.2
    wait_for(lambda: twin_emulator.admin.sessions(status="CLOSED")["count"] == 3, timeout=5)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/sessions/start-many", {"count": 1, "chat_id": "not-a-chat"}, "chat_id"),
        ("/sessions/start-many", {"count": 1, "ttl": 0}, "ttl"),
        ("/sessions/close-many", {"rating": 9}, "rating"),
        ("/sessions/close-many", {"session_ids": "abc"}, "session_ids"),
        ("/sessions/client-messages", {"per_session": 0}, "per_session"),
        ("/sessions/client-messages", {"body": ""}, "body"),
    ],
)
def test_bulk_session_calls_refuse_bad_input(
    twin_emulator: TwinEmulator, path: str, body: dict[str, Any], field: str
) -> None:
    response = httpx.post(f"{twin_emulator.base_url}/_emulator{path}", json=body)
    assert response.status_code == 422
    assert field in response.json()["details"]
