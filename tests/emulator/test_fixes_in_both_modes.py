"""Fixes that hold in lenient and in strict mode alike: payloads TWIN's documents and SDK ask for."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime
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


# -- a forced token expiry shows in the token's exp -------------------------------------------------
EXPIRED = {"error": "Token is expired."}


def jwt_exp(token: str) -> int:
    payload = token.split(".")[1]
    exp: int = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]
    return exp


class ExpTrustingClient:
    """Renews as TWIN's PHP SDK does (twin-api.md §2.5, §8): only once its own copy of ``exp`` has
    passed; a 401 "Token is expired." makes it check that copy again and repeat the call."""

    def __init__(self, api: TwinApi) -> None:
        self.api = api
        self.token: str | None = None
        self.exp = 0
        self.logins = 0
        self.refused = 0

    def call(self) -> int:
        for _ in range(100):  # the SDK repeats without bound; a loop here is a failure
            if self.token is None or time.time() >= self.exp:
                self.token = self.api.login().json()["token"]
                self.exp = jwt_exp(self.token)
                self.logins += 1
            response = self.api.messages(token=self.token)
            if response.status_code == 401 and response.json() == EXPIRED:
                self.refused += 1
                assert time.time() >= self.exp, "refused a token whose exp the client reads as ahead"
                continue
            return response.status_code
        raise AssertionError("the client never recovered")


@BOTH_MODES
def test_forced_expiry_is_announced_by_exp_and_a_client_renewing_on_exp_recovers(
    api: TwinApi, twin_emulator: TwinEmulator, strict: bool
) -> None:
    in_mode(twin_emulator, strict)
    held = api.login().json()["token"]
    answer = twin_emulator.admin.expire_tokens(after_seconds=1)
    moment = datetime.fromisoformat(answer["expires_at"]).timestamp()
    client = ExpTrustingClient(api)
    assert client.call() == 200
    # The token says when it ends: the moment rounded up to a second ("expires_at" is in ms).
    assert moment <= client.exp < moment + 1.001
    assert client.exp < jwt_exp(held)
    assert api.messages(token=held).status_code == 200  # nothing refused before the moment
    deadline = client.exp + 0.3
    while time.time() < deadline:
        assert client.call() == 200
        time.sleep(0.1)
    assert client.logins == 2  # renewed on exp, as the SDK does
    # At most a call sent just before exp and read just after it; never one the client read as
    # ahead of exp (checked in ExpTrustingClient.call).
    assert client.refused <= 1
    assert jwt_exp(client.token or "") - time.time() > 3000  # after the moment: full lifetime again
    # A token handed out before the call cannot be rewritten: it is refused from the moment on.
    assert api.messages(token=held).json() == EXPIRED


@BOTH_MODES
def test_fast_forward_does_not_refuse_tokens_before_their_exp(
    api: TwinApi, twin_emulator: TwinEmulator, strict: bool
) -> None:
    in_mode(twin_emulator, strict)
    client = ExpTrustingClient(api)
    assert client.call() == 200
    twin_emulator.admin.advance_clock(7200)  # deliveries, send times and session ttls come due
    assert client.call() == 200
    assert (client.logins, client.refused) == (1, 0)
    fresh = api.login().json()["token"]
    assert abs(jwt_exp(fresh) - (time.time() + 3600)) < 5  # exp on the clock the client reads
