"""Chat sessions through Notify's chat channel, the chat client's replies, the bot's typing indicator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from emulator_testkit import CHAT_ID, TwinApi
from websocket_testkit import RawSocket, start_session

from airflow_provider_twin.emulator import TwinEmulator

pytestmark = pytest.mark.twin_strict

BOT_ID = "0b0d3f4e-8f1c-4d8e-9a53-6c1f2e7d9b10"
OTHER_CHAT = "5f0e2a77-1c1d-4a0b-8c55-0d6b7e0c9a21"
PHONE = "79001234567"


def chat_message(
    text: str | None,
    name: str = "Approval 1",
    *,
    destination: dict[str, Any] | None = None,
    chat_id: str = CHAT_ID,
    **extra: Any,
) -> dict[str, Any]:
    """A one-message batch whose only channel is ``chat``; ``extra`` goes into the channel, except
    ``sendAt`` which goes into the message."""
    send_at = extra.pop("sendAt", None)
    channel: dict[str, Any] = {"chatId": chat_id, "chatSessionName": name, **extra}
    if text is not None:
        channel["text"] = text
    message: dict[str, Any] = {
        "destinations": [destination or {"phone": PHONE}],
        "channels": {"chat": channel},
    }
    if send_at is not None:
        message["sendAt"] = send_at
    return {"messages": [message]}


def sessions(api: TwinApi, **params: Any) -> list[dict[str, Any]]:
    response = api.http.get("/chat/api/v1/sessions", params=params, headers=api.headers())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def messages(api: TwinApi, session_id: str) -> list[dict[str, Any]]:
    response = api.http.get(f"/chat/api/v1/sessions/{session_id}/messages", headers=api.headers())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_chat_channel_message_opens_a_named_session_with_the_bot_text_and_the_client(
    api: TwinApi,
) -> None:
    api.send_ok(chat_message("Approve the load?", messengerType="WHATSAPP", botId=BOT_ID))

    [session] = sessions(api, chatId=CHAT_ID, name="Approval 1")
    assert session["status"] == "OPEN"
    assert (session["messengerType"], session["botId"], session["clientPhone"]) == ("WHATSAPP", BOT_ID, PHONE)
    [message] = messages(api, session["id"])
    assert (message["authorType"], message["body"]) == ("BOT", "Approve the load?")
    assert message["createdAt"] == session["startedAt"]

    # Without continueLastOrStartNewSession a message always opens a new session, for the same client.
    api.send_ok(chat_message("Second question", name="Approval 2", destination={"phone": PHONE}))
    [second] = sessions(api, name="Approval 2")
    assert second["id"] != session["id"]
    assert second["clientId"] == session["clientId"]
    assert [m["body"] for m in messages(api, second["id"])] == ["Second question"]
    assert second["messengerType"] is None
    assert second["botId"] is None


def test_the_destination_names_the_client(api: TwinApi) -> None:
    api.send_ok(chat_message("hi", name="by-ids", destination={"clientId": "c-7", "externalId": "crm-7"}))
    api.send_ok(chat_message("hi", name="by-messenger", destination={"messengerUserId": "wa-1"}))
    [by_ids] = sessions(api, name="by-ids")
    assert (by_ids["clientId"], by_ids["clientExternalId"]) == ("c-7", "crm-7")
    [by_messenger] = sessions(api, name="by-messenger")
    assert by_messenger["messengerUserId"] == "wa-1"


def test_continue_appends_to_the_clients_open_session_of_that_name(api: TwinApi) -> None:
    api.send_ok(chat_message("Question", name="Approval A"))
    api.send_ok(chat_message("Other question", name="Approval B"))
    api.send_ok(chat_message("Please answer 1 or 2", name="Approval A", continueLastOrStartNewSession=True))

    [first] = sessions(api, name="Approval A")
    assert [(m["authorType"], m["body"]) for m in messages(api, first["id"])] == [
        ("BOT", "Question"),
        ("BOT", "Please answer 1 or 2"),
    ]
    [other] = sessions(api, name="Approval B")
    assert [m["body"] for m in messages(api, other["id"])] == ["Other question"]
    # No open session of that name: the latest open one of the client is continued.
    api.send_ok(chat_message("Anything else?", name="Approval C", continueLastOrStartNewSession=True))
    assert sessions(api, name="Approval C") == []
    assert messages(api, other["id"])[-1]["body"] == "Anything else?"
    # Another client, or no open session at all: a new session.
    api.send_ok(
        chat_message(
            "Hello",
            name="Approval A",
            destination={"phone": "79000000000"},
            continueLastOrStartNewSession=True,
        )
    )
    assert len(sessions(api, name="Approval A")) == 2


def test_continue_opens_a_new_session_once_the_old_one_closed(
    api: TwinApi, twin_emulator: TwinEmulator
) -> None:
    api.send_ok(chat_message("Question"))
    [old] = sessions(api)
    twin_emulator.admin.close_session(old["id"])
    api.send_ok(chat_message("Outcome", continueLastOrStartNewSession=True))
    [new] = sessions(api, status="OPEN")
    assert new["id"] != old["id"]
    assert new["name"] == "Approval 1"
    assert [m["body"] for m in messages(api, new["id"])] == ["Outcome"]


def test_a_delayed_message_opens_its_session_only_when_sent_and_a_cancelled_one_never(
    api: TwinApi, twin_emulator: TwinEmulator
) -> None:
    send_at = (datetime.now(timezone.utc) + timedelta(seconds=600)).isoformat()
    [later] = api.send_ok(chat_message("Later", name="later", sendAt=send_at))
    [cancelled] = api.send_ok(chat_message("Never", name="never", sendAt=send_at))
    assert later["status"] == "DELAYED"
    assert sessions(api) == []
    assert api.cancel({"id": cancelled["id"]}).json()[0]["status"] == "CANCELLED"

    twin_emulator.admin.advance_clock(601)
    [session] = sessions(api)
    assert session["name"] == "later"
    started = datetime.fromisoformat(session["startedAt"])
    assert abs(started - datetime.fromisoformat(send_at)) < timedelta(seconds=0.01)
    [message] = messages(api, session["id"])
    assert message["body"] == "Later"


def test_an_undelivered_chat_attempt_opens_nothing(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(outcome_rules=[{"channel": "chat", "status": "UNDELIVERED"}])
    api.send_ok(chat_message("Lost"))
    assert sessions(api) == []


@pytest.mark.parametrize(
    ("channel", "field"),
    [
        ({"continueLastOrStartNewSession": "yes"}, "continueLastOrStartNewSession"),
        ({"chatSessionName": None}, "chatSessionName"),
    ],
)
def test_bad_chat_channel_fields_are_refused(api: TwinApi, channel: dict[str, Any], field: str) -> None:
    body = chat_message("hi")
    body["messages"][0]["channels"]["chat"].update(channel)
    response = api.send(body)
    assert response.status_code == 422
    assert f"messages[0].channels.chat.{field}" in response.json()["details"]


def test_reply_in_chat_finds_the_session_by_name_or_phone(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    admin = twin_emulator.admin
    api.send_ok(chat_message("Question", name="Approval A"))
    api.send_ok(chat_message("Question", name="Approval B", chat_id=OTHER_CHAT))
    [a] = sessions(api, name="Approval A")
    [b] = sessions(api, name="Approval B")

    by_name = admin.reply_in_chat("1", session_name="Approval A", chat_id=CHAT_ID)
    assert by_name["sessionId"] == a["id"]
    assert set(by_name) == {"id", "createdAt", "sessionId"}
    by_phone = admin.reply_in_chat("yes", phone="+7 900 123-45-67", chat_id=OTHER_CHAT)
    assert by_phone["sessionId"] == b["id"]
    latest = admin.reply_in_chat("either", phone=PHONE)  # both match: the latest started one
    assert latest["sessionId"] == b["id"]
    assert admin.reply_in_chat("by id", session_id=a["id"], client_id=a["clientId"])["sessionId"] == a["id"]
    assert [(m["authorType"], m["body"]) for m in messages(api, a["id"])] == [
        ("BOT", "Question"),
        ("CLIENT", "1"),
        ("CLIENT", "by id"),
    ]
    assert messages(api, a["id"])[1]["id"] == by_name["id"]
    assert [m["body"] for m in messages(api, b["id"]) if m["authorType"] == "CLIENT"] == ["yes", "either"]

    with pytest.raises(httpx.HTTPStatusError) as missing:
        admin.reply_in_chat("1", session_name="Approval A", chat_id=OTHER_CHAT)
    assert missing.value.response.status_code == 404
    assert "error" in missing.value.response.json()
    admin.close_session(a["id"])
    with pytest.raises(httpx.HTTPStatusError) as closed:
        admin.reply_in_chat("1", session_id=a["id"])
    assert closed.value.response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sessionName": "x"}, "body"),
        ({"body": ""}, "sessionId"),
        ({"body": "hi", "chatId": CHAT_ID}, "sessionId"),
        ({"body": "hi", "phone": 7}, "phone"),
        ({"body": "hi", "sessionName": ""}, "sessionName"),
    ],
)
def test_reply_in_chat_names_the_bad_field(
    twin_emulator: TwinEmulator, body: dict[str, Any], field: str
) -> None:
    response = httpx.post(f"{twin_emulator.base_url}/_emulator/chat/replies", json=body)
    assert response.status_code == 422
    assert field in response.json()["details"]


def test_the_bot_types_when_the_client_writes(api: TwinApi, twin_emulator: TwinEmulator, raw: Any) -> None:
    session_id = start_session(twin_emulator)
    sock: RawSocket = raw()
    [channel] = sock.connect([session_id])["connect"]["subs"]
    assert sock.command("subscribe", {"channel": channel})["subscribe"]

    response = api.http.post(
        f"/chat/api/v1/sessions/{session_id}/clients/messages", json={"body": "hi"}, headers=api.headers()
    )
    assert response.status_code == 201, response.text
    twin_emulator.admin.reply_in_chat("again", session_id=session_id)
    twin_emulator.admin.post_client_messages(session_ids=[session_id])
    pushes = sock.pushes(3)
    assert [push["pub"]["data"] for push in pushes] == [
        {"event": "showTypingIndicator", "payload": {"authorType": "BOT"}}
    ] * 3
    log = twin_emulator.admin.publications(session_id=session_id, event="showTypingIndicator")
    assert [item["connections"] for item in log] == [1, 1, 1]


def test_a_continued_session_publishes_the_bot_message(
    api: TwinApi, twin_emulator: TwinEmulator, raw: Any
) -> None:
    api.send_ok(chat_message("Question"))
    [session] = sessions(api)
    sock: RawSocket = raw()
    [channel] = sock.connect([session["id"]])["connect"]["subs"]
    sock.command("subscribe", {"channel": channel})

    api.send_ok(chat_message("Recorded: Approve.", continueLastOrStartNewSession=True))
    [push] = sock.pushes(1)
    data = push["pub"]["data"]
    assert data["event"] == "chatMessageCreated"
    assert (data["payload"]["authorType"], data["payload"]["body"]) == ("BOT", "Recorded: Approve.")
