"""Chat as an event source: list filters on startedAt, client messages, the session rating."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from emulator_testkit import CHAT_ID, TwinApi

from airflow_provider_twin.emulator import SessionEvent, TwinEmulator

pytestmark = pytest.mark.twin_strict

OTHER_CHAT = "5f0e2a77-1c1d-4a0b-8c55-0d6b7e0c9a21"


def start(api: TwinApi, chat_id: str = CHAT_ID, **body: Any) -> dict[str, Any]:
    response = api.http.post(f"/chat/api/v1/chats/{chat_id}/sessions", json=body, headers=api.headers())
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


def sessions(api: TwinApi, **params: Any) -> httpx.Response:
    return api.http.get("/chat/api/v1/sessions", params=params, headers=api.headers())


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def post_message(api: TwinApi, session_id: str, body: Any) -> httpx.Response:
    return api.http.post(
        f"/chat/api/v1/sessions/{session_id}/clients/messages", json=body, headers=api.headers()
    )


def test_list_filters_chat_status_and_started_at(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    early = start(api)
    twin_emulator.admin.advance_clock(3000)
    other = start(api, chat_id=OTHER_CHAT)
    late = start(api)
    twin_emulator.admin.close_session(late["id"])
    started = datetime.fromisoformat(other["startedAt"])

    assert ids(sessions(api, chatId=CHAT_ID)) == [early["id"], late["id"]]
    assert ids(sessions(api, chatId=CHAT_ID, status="OPEN")) == [early["id"]]
    assert ids(sessions(api, status="closed")) == [late["id"]]
    since = (started - timedelta(seconds=1)).isoformat()
    assert ids(sessions(api, **{"from": since})) == [other["id"], late["id"]]
    assert ids(sessions(api, to=since)) == [early["id"]]
    # Both bounds are inclusive, and a date as "to" covers its whole day.
    assert ids(
        sessions(api, chatId=OTHER_CHAT, **{"from": other["startedAt"], "to": other["startedAt"]})
    ) == [other["id"]]
    assert len(ids(sessions(api, to=started.date().isoformat()))) == 3
    bad = sessions(api, **{"from": "yesterday"})
    assert bad.status_code == 422
    assert set(bad.json()["details"]) == {"from"}
    dump = twin_emulator.admin.sessions(**{"from": since, "chatId": CHAT_ID})
    assert [item["id"] for item in dump["items"]] == [late["id"]]


def test_client_message_is_stored_announced_and_moves_last_message(
    api: TwinApi, twin_emulator: TwinEmulator
) -> None:
    events: list[SessionEvent] = []
    unsubscribe = twin_emulator.state.sessions.subscribe(events.append)
    try:
        session = start(api, clientNameForOperator="Ann")
        before = sessions(api, sessionId=session["id"]).json()["items"][0]["lastMessageCreatedAt"]
        twin_emulator.admin.advance_clock(5)
        response = post_message(api, session["id"], {"body": "Where is my order?"})
        assert response.status_code == 201, response.text
        answer = response.json()
        assert set(answer) == {"id", "createdAt"}
    finally:
        unsubscribe()
    info = api.http.get(f"/chat/api/v1/sessions/{session['id']}", headers=api.headers()).json()
    assert info["lastMessageCreatedAt"] == answer["createdAt"] != before
    assert info["lastMessage"]["id"] == answer["id"]
    messages = api.http.get(f"/chat/api/v1/sessions/{session['id']}/messages", headers=api.headers()).json()[
        "items"
    ]
    last = messages[-1]
    assert (last["id"], last["authorType"], last["body"], last["authorName"]) == (
        answer["id"],
        "CLIENT",
        "Where is my order?",
        "Ann",
    )
    assert last["authorId"] == session["clientId"]
    [event] = [e for e in events if e.kind == "client_message"]
    assert event.data["message"]["id"] == answer["id"]


def test_client_message_reply_attachments_and_refusals(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    session = start(api, messageBody="Hi")
    first = api.http.get(f"/chat/api/v1/sessions/{session['id']}/messages", headers=api.headers()).json()
    first_id = first["items"][0]["id"]
    file = api.http.post(
        "/iam/api/v1/files",
        files=[("file[]", ("menu.pdf", b"%PDF", "application/pdf"))],
        headers=api.headers(),
    ).json()[0]
    reply = post_message(
        api, session["id"], {"body": "", "attachments": [file["id"]], "replyToMessageId": first_id}
    )
    assert reply.status_code == 201, reply.text
    stored = twin_emulator.admin.sessions()["items"][0]["messages"][-1]
    (attachment,) = stored["attachments"]
    assert set(attachment) == {
        "id", "isPrivate", "createdAt", "name", "baseName", "extension", "sugestedExtension", "path",
        "size", "url", "downloadLink",
    }  # fmt: skip
    assert (attachment["id"], attachment["name"], attachment["size"]) == (file["id"], "menu.pdf", 4)
    assert attachment["sugestedExtension"] == file["suggestedExtension"]
    assert stored["replyTo"]["id"] == first_id
    unknown = post_message(api, session["id"], {"body": "x", "attachments": [file["id"], "a-1"]})
    assert unknown.status_code == 422
    assert set(unknown.json()["details"]) == {"attachments[1]"}
    twin_emulator.admin.update_settings(strict=False)
    assert post_message(api, session["id"], {"body": "x", "attachments": ["a-1"]}).status_code == 201
    assert twin_emulator.admin.sessions()["items"][0]["messages"][-1]["attachments"] == [{"id": "a-1"}]
    twin_emulator.admin.update_settings(strict=True)

    refused = post_message(
        api, session["id"], {"body": 5, "attachments": "x", "replyToMessageId": str(uuid.uuid4())}
    )
    assert refused.status_code == 422
    assert set(refused.json()["details"]) == {"body", "attachments", "replyToMessageId"}
    assert post_message(api, str(uuid.uuid4()), {"body": "x"}).status_code == 404
    unauthorised = api.http.post(
        f"/chat/api/v1/sessions/{session['id']}/clients/messages", json={"body": "x"}
    )
    assert unauthorised.status_code == 401
    twin_emulator.admin.close_session(session["id"])
    closed = post_message(api, session["id"], {"body": "still there?"})
    assert closed.status_code == 422
    assert set(closed.json()["details"]) == {"sessionId"}


def test_client_message_restarts_the_ttl(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    session = start(api, sessionTtl=60)
    twin_emulator.admin.advance_clock(50)
    assert post_message(api, session["id"], {"body": "still here"}).status_code == 201
    twin_emulator.admin.advance_clock(50)
    assert ids(sessions(api, status="OPEN")) == [session["id"]]


def test_rating_is_null_until_the_admin_close_gives_one(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    session = start(api)
    info = sessions(api).json()["items"][0]
    assert (info["rating"], info["closedAt"]) == (None, None)
    closed = twin_emulator.admin.close_session(session["id"], rating_required=True, rating=2)
    assert (closed["status"], closed["rating"], closed["sessionRatingRequired"]) == ("CLOSED", 2, True)
    assert closed["closedAt"] is not None
    # A rating can come after the close; the close itself stays.
    again = twin_emulator.admin.close_session(session["id"], rating=5)
    assert (again["rating"], again["closedAt"]) == (5, closed["closedAt"])
    for bad in (0, 6, 2.5, True, "3"):
        with pytest.raises(httpx.HTTPStatusError) as caught:
            twin_emulator.admin.close_session(session["id"], rating=bad)  # type: ignore[arg-type]
        assert caught.value.response.status_code == 422
        assert set(caught.value.response.json()["details"]) == {"rating"}


def test_the_admin_rate_gives_a_closed_session_its_rating(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    session = start(api)
    with pytest.raises(httpx.HTTPStatusError) as open_session:
        twin_emulator.admin.rate_session(session["id"], 2)
    assert open_session.value.response.status_code == 409
    closed = twin_emulator.admin.close_session(session["id"], rating_required=True)
    assert closed["rating"] is None
    twin_emulator.admin.advance_clock(30)
    rated = twin_emulator.admin.rate_session(session["id"], 1)
    assert (rated["rating"], rated["closedAt"]) == (1, closed["closedAt"])
    assert sessions(api, sessionId=session["id"]).json()["items"][0]["rating"] == 1
    assert twin_emulator.admin.rate_session(session["id"], None)["rating"] is None
    for bad in (0, 6, "3"):
        with pytest.raises(httpx.HTTPStatusError) as caught:
            twin_emulator.admin.rate_session(session["id"], bad)  # type: ignore[arg-type]
        assert caught.value.response.status_code == 422
    with pytest.raises(httpx.HTTPStatusError) as unknown:
        twin_emulator.admin.rate_session(str(uuid.uuid4()), 3)
    assert unknown.value.response.status_code == 404


def test_session_messages_filter_from_and_to_on_created_at(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    session = start(api)
    path = f"/chat/api/v1/sessions/{session['id']}/messages"
    written = []
    for text in ("one", "two", "three"):
        twin_emulator.admin.advance_clock(10)
        response = post_message(api, session["id"], {"body": text})
        written.append(response.json())

    def listed(**params: Any) -> list[str]:
        response = api.http.get(path, params=params, headers=api.headers())
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    everything = listed()
    assert everything[-3:] == [item["id"] for item in written]
    # "from" is inclusive: the last message read and everything after it.
    assert listed(**{"from": written[1]["createdAt"]}) == [written[1]["id"], written[2]["id"]]
    assert listed(to=written[0]["createdAt"]) == everything[:-2]
    bad = api.http.get(path, params={"from": "soon"}, headers=api.headers())
    assert bad.status_code == 422
    assert set(bad.json()["details"]) == {"from"}
