"""Chat sessions: start, continue, read, list, ttl, close and session events."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from emulator_testkit import CHAT_ID, TwinApi, wait_for

from airflow_provider_twin.emulator import SessionEvent, TwinEmulator


def start(
    api: TwinApi, body: dict[str, Any] | None = None, chat_id: str = CHAT_ID, method: str = "POST"
) -> httpx.Response:
    return api.http.request(method, f"/chat/api/v1/chats/{chat_id}/sessions", json=body or {})


def test_start_session_without_auth(api: TwinApi) -> None:
    response = start(api, {"name": "Order 42", "messengerType": "WHATSAPP", "messengerUserId": "u-1"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "clientId", "startedAt", "ttl", "messages"}
    assert body["ttl"] == 3600
    [greeting] = body["messages"]
    assert set(greeting) == {
        "authorId",
        "authorType",
        "body",
        "answers",
        "keyboard",
        "actions",
        "attachments",
    }
    assert greeting["authorType"] == "BOT"
    assert greeting["body"]
    uuid.UUID(body["id"])


def test_start_with_bearer_token_and_custom_greeting(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(bot_greeting="Hi there")
    response = api.http.post(f"/chat/api/v1/chats/{CHAT_ID}/sessions", json={}, headers=api.headers())
    assert response.status_code == 201
    assert response.json()["messages"][0]["body"] == "Hi there"
    twin_emulator.admin.update_settings(bot_greeting="")
    assert start(api).json()["messages"] == []


@pytest.mark.parametrize("ttl", [0, 43201, "60", 1.5, True])
def test_session_ttl_validation(api: TwinApi, ttl: Any) -> None:
    response = start(api, {"sessionTtl": ttl})
    assert response.status_code == 422
    assert "sessionTtl" in response.json()["details"]


def test_caller_session_id_and_conflict(api: TwinApi) -> None:
    session_id = str(uuid.uuid4())
    response = start(api, {"sessionId": session_id, "sessionTtl": 43200})
    assert response.status_code == 201
    assert response.json()["id"] == session_id
    assert response.json()["ttl"] == 43200
    again = start(api, {"sessionId": session_id})
    assert again.status_code == 409
    assert again.json() == {"error": "Session already exists"}


def test_unknown_chats(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    response = start(api, chat_id="not-a-uuid")
    assert response.status_code == 404
    assert response.json() == {"error": "Entity not found"}
    twin_emulator.admin.update_settings(chats=[CHAT_ID])
    assert start(api, chat_id=str(uuid.uuid4())).status_code == 404
    assert start(api, chat_id=CHAT_ID.upper()).status_code == 201
    assert start(api, {"sessionId": "nope"}).status_code == 422


def test_continue_last_open_session_or_start_new(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    first = start(api, {"clientPhone": "79990000001", "name": "a"}).json()
    again = start(api, {"clientPhone": "79990000001", "messageBody": "hello?"}, method="PUT")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["clientId"] == first["clientId"]
    other = start(api, {"clientPhone": "79990000002"}, method="PUT")
    assert other.status_code == 201
    assert other.json()["id"] != first["id"]
    twin_emulator.admin.close_session(first["id"])
    reopened = start(api, {"clientPhone": "79990000001"}, method="PUT")
    assert reopened.status_code == 201
    assert reopened.json()["id"] != first["id"]
    assert reopened.json()["clientId"] == first["clientId"]  # same client, new session


def test_get_and_list_sessions(api: TwinApi) -> None:
    created = start(api, {"name": "alpha", "messengerType": "TELEGRAM", "messengerUserId": "tg-1"}).json()
    start(api, {"name": "beta"})
    other_chat = str(uuid.uuid4())
    start(api, {"name": "gamma"}, chat_id=other_chat)
    response = api.http.get(f"/chat/api/v1/sessions/{created['id']}", headers=api.headers())
    assert response.status_code == 200
    info = response.json()
    for key in (
        "id",
        "chatId",
        "name",
        "ttl",
        "status",
        "botStatus",
        "startedAt",
        "closedAt",
        "clientId",
        "messengerType",
        "messengerUserId",
        "channel",
        "tags",
        "sessionRatingRequired",
    ):
        assert key in info
    assert info["status"] == "OPEN"
    assert info["chatId"] == CHAT_ID
    assert info["messengerType"] == "TELEGRAM"
    listing = api.http.get("/chat/api/v1/sessions", params={"chatId": CHAT_ID}, headers=api.headers()).json()
    assert listing["count"] == 2
    assert (
        api.http.get("/chat/api/v1/sessions", params={"name": "gamma"}, headers=api.headers()).json()["count"]
        == 1
    )
    by_id = api.http.get("/chat/api/v1/sessions", params={"sessionId": created["id"]}, headers=api.headers())
    assert [s["id"] for s in by_id.json()["items"]] == [created["id"]]
    paged = api.http.get(
        "/chat/api/v1/sessions", params={"limit": 1, "offset": 1}, headers=api.headers()
    ).json()
    assert paged["count"] == 3
    assert len(paged["items"]) == 1
    missing = api.http.get(f"/chat/api/v1/sessions/{uuid.uuid4()}", headers=api.headers())
    assert missing.status_code == 404
    assert missing.json() == {"error": "Entity not found"}
    assert api.http.get("/chat/api/v1/sessions").status_code == 401


def test_session_ttl_elapses_to_closed(api: TwinApi) -> None:
    created = start(api, {"sessionTtl": 1}).json()
    info = wait_for(
        lambda: (
            (data := api.http.get(f"/chat/api/v1/sessions/{created['id']}", headers=api.headers()).json())
            and data["status"] == "CLOSED"
            and data
        ),
        timeout=3,
    )
    assert info["closedAt"] is not None
    closed = api.http.get("/chat/api/v1/sessions", params={"status": "CLOSED"}, headers=api.headers()).json()
    assert closed["count"] == 1


def test_admin_close_fires_session_event(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    events: list[SessionEvent] = []
    with twin_emulator.state.lock:
        unsubscribe = twin_emulator.state.sessions.subscribe(events.append)
    try:
        now_id = start(api).json()["id"]
        later_id = start(api).json()["id"]
        info = twin_emulator.admin.close_session(now_id, rating_required=True)
        assert info["status"] == "CLOSED"
        assert info["sessionRatingRequired"] is True
        twin_emulator.admin.close_session(later_id, after_seconds=0.3)
        status = api.http.get(f"/chat/api/v1/sessions/{later_id}", headers=api.headers()).json()["status"]
        assert status == "OPEN"
        wait_for(
            lambda: [e for e in events if e.kind == "session_closed" and e.session_id == later_id], timeout=3
        )
    finally:
        unsubscribe()
    closed = [e for e in events if e.kind == "session_closed"]
    assert closed[0].data == {"sessionId": now_id, "chatId": CHAT_ID, "sessionRatingRequired": True}
    assert {e.kind for e in events} >= {"session_started", "bot_message", "session_closed"}
    time.sleep(0.05)
    assert len([e for e in events if e.kind == "session_closed"]) == 2  # each fires once


def test_session_messages_and_delete(api: TwinApi) -> None:
    created = start(api, {"messageBody": "I need help"}).json()
    messages = api.http.get(f"/chat/api/v1/sessions/{created['id']}/messages", headers=api.headers()).json()
    assert [m["authorType"] for m in messages["items"]] == ["CLIENT", "BOT"]
    response = api.http.delete(f"/chat/api/v1/sessions/{created['id']}", headers=api.headers())
    assert response.status_code == 204
    info = api.http.get(f"/chat/api/v1/sessions/{created['id']}", headers=api.headers()).json()
    assert info["status"] == "CLOSED"
