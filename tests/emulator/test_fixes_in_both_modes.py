"""Fixes that hold in lenient and in strict mode alike: payloads TWIN's documents and SDK ask for."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from emulator_testkit import CHAT_ID, TwinApi, sms
from websocket_testkit import start_session

from airflow_provider_twin.emulator import TwinEmulator

BOTH_MODES = pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])


def in_mode(emulator: TwinEmulator, strict: bool) -> None:
    emulator.admin.update_settings(strict=strict)


# -- operatorChanged.avatar is a URL (seed 003: REQUIRED) -------------------------------------------
@pytest.mark.integration
@BOTH_MODES
def test_operator_changed_carries_an_avatar_url(twin_emulator: TwinEmulator, raw: Any, strict: bool) -> None:
    in_mode(twin_emulator, strict)
    session_id = start_session(twin_emulator)
    sock = raw()
    channel = next(iter(sock.connect([session_id])["connect"]["subs"]))
    if strict:
        sock.command("subscribe", {"channel": channel})
    twin_emulator.admin.emit_event(session_id, "operatorChanged")
    payload = sock.pushes(1)[0]["pub"]["data"]["payload"]
    avatar = payload["avatar"]
    assert isinstance(avatar, str)
    prefix = "data:image/svg+xml;base64,"
    assert avatar.startswith(prefix)
    assert base64.b64decode(avatar.removeprefix(prefix)).startswith(b"<svg")
    assert payload["previousOperatorAvatar"] is None  # seed 003's example: null is allowed there


# -- withoutCount answers an integer count (TWIN's PHP SDK cannot parse null, twin-api.md §8) -------
@BOTH_MODES
def test_without_count_answers_an_integer(api: TwinApi, twin_emulator: TwinEmulator, strict: bool) -> None:
    in_mode(twin_emulator, strict)
    api.send_ok(sms(*[f"7999{n:07d}" for n in range(12)], bulk_id="no-count"))
    page = api.messages(bulkId="no-count", withoutCount=1, limit=5).json()
    assert page["count"] == 5 == len(page["items"])
    last = api.messages(bulkId="no-count", withoutCount="true", offset=10).json()
    assert last["count"] == 2 == len(last["items"])
    assert api.messages(bulkId="no-count", withoutCount=1, withoutItems=1).json() == {"count": 0, "items": []}
    ids = api.messages(id=page["items"][0]["id"], withoutCount=1).json()
    assert ids["count"] == 1
    assert api.messages(bulkId="no-count").json()["count"] == 12  # counted as before without it


# -- chat messages carry every field TWIN's PHP SDK reads (twin-api.md §8, §4.5) ---------------------
SDK_MESSAGE_FIELDS = {"authorName", "type", "readAt", "updatedAt", "replyTo"}


@BOTH_MODES
def test_chat_messages_have_the_fields_the_sdk_reads(
    api: TwinApi, twin_emulator: TwinEmulator, strict: bool
) -> None:
    in_mode(twin_emulator, strict)
    url = f"/chat/api/v1/chats/{CHAT_ID}/sessions"
    started = api.http.post(url, json={"messageBody": "Hello", "clientNameForOperator": "Ann"}).json()
    session_id = started["id"]
    twin_emulator.admin.emit_event(
        session_id,
        "chatMessageCreated",
        body="Re: hello",
        authorName="Operator Olga",
        replyToMessage={"id": "m-1", "authorType": "CLIENT", "body": "Hello"},
    )
    listed = api.http.get(f"/chat/api/v1/sessions/{session_id}/messages", headers=api.headers()).json()
    client, bot, operator = listed["items"]
    for item in (client, bot, operator):
        assert set(item) >= SDK_MESSAGE_FIELDS
        assert item["type"] == "REGULAR"
        assert item["readAt"] is None
        assert item["updatedAt"] == item["createdAt"]
    assert (client["authorType"], client["authorName"], client["replyTo"]) == ("CLIENT", "Ann", None)
    assert (bot["authorType"], bot["authorName"], bot["replyTo"]) == ("BOT", "Bot", None)
    assert (operator["authorType"], operator["authorName"]) == ("OPERATOR", "Operator Olga")
    assert operator["replyTo"] == {"id": "m-1", "authorType": "CLIENT", "body": "Hello"}
    session = api.http.get(f"/chat/api/v1/sessions/{session_id}", headers=api.headers()).json()
    assert set(session["lastMessage"]) >= SDK_MESSAGE_FIELDS
