"""Strict mode on the realtime websocket (seed 003): what a connect carries, when publications flow."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from centrifuge import (
    Client,
    ClientEventHandler,
    PublicationContext,
    ServerPublicationContext,
    ServerSubscribedContext,
    SubscriptionEventHandler,
)
from websocket_testkit import start_session, ws_url

from airflow_provider_twin.emulator import TwinEmulator

pytestmark = pytest.mark.integration


def connect_command(
    sessions: Any = None, application: str = "widget", name: str | None = "js"
) -> dict[str, Any]:
    settings = {} if sessions is None else {"sessions": sessions}
    params: dict[str, Any] = {"data": {"application": application, "settings": settings}}
    if name is not None:
        params["name"] = name
    return {"id": 1, "connect": params}


# -- rule 1: a connect names at least one session, application "widget", name "js" ----------------
#: Connects seed 003 rules out, built for a session that exists.
BAD_FOR_SEED_003: dict[str, Callable[[str], dict[str, Any]]] = {
    "no-sessions-key": lambda session: connect_command(None),
    "empty-sessions": lambda session: connect_command([]),
    "empty-session-id": lambda session: connect_command([""]),
    "other-application": lambda session: connect_command([session], application="notifications"),
    "other-name": lambda session: connect_command([session], name="python"),
    "no-name": lambda session: connect_command([session], name=None),
}


@pytest.mark.parametrize("case", sorted(BAD_FOR_SEED_003))
def test_lenient_connect_accepts_what_seed_003_rules_out(
    twin_emulator: TwinEmulator, raw: Any, case: str
) -> None:
    session_id = start_session(twin_emulator)
    sock = raw()
    sock.send(BAD_FOR_SEED_003[case](session_id))
    assert "connect" in sock.reply(1)


@pytest.mark.twin_strict
@pytest.mark.parametrize("case", sorted(BAD_FOR_SEED_003))
def test_strict_connect_refuses_it_with_3501(twin_emulator: TwinEmulator, raw: Any, case: str) -> None:
    session_id = start_session(twin_emulator)
    sock = raw()
    sock.send(BAD_FOR_SEED_003[case](session_id))
    assert sock.close_code() == (3501, "bad request")


@pytest.mark.twin_strict
def test_strict_connect_with_a_session_is_accepted(twin_emulator: TwinEmulator, raw: Any) -> None:
    session_id = start_session(twin_emulator)
    reply = raw().connect([session_id])
    assert reply["connect"]["subs"]
    [connection] = twin_emulator.admin.realtime()["connections"]
    assert connection["sessions"] == [session_id]


# -- rule 2: no publication on the subs channel before the client subscribes to it ----------------
def test_lenient_publishes_on_subs_at_once(twin_emulator: TwinEmulator, raw: Any) -> None:
    session_id = start_session(twin_emulator)
    sock = raw()
    channel = next(iter(sock.connect([session_id])["connect"]["subs"]))
    assert twin_emulator.admin.emit_event(session_id, "showTypingIndicator")["connections"] == 1
    [push] = sock.pushes(1)
    assert (push["channel"], push["pub"]["offset"]) == (channel, 1)


@pytest.mark.twin_strict
def test_strict_publishes_only_after_subscribe(twin_emulator: TwinEmulator, raw: Any) -> None:
    admin = twin_emulator.admin
    session_id = start_session(twin_emulator)
    sock = raw()
    connect = sock.connect([session_id])["connect"]
    [(channel, position)] = connect["subs"].items()
    assert admin.emit_event(session_id, "showTypingIndicator")["connections"] == 0
    assert admin.realtime()["connections"][0]["subscribed"] is False

    granted = sock.command("subscribe", {"channel": channel})
    assert granted == {"id": 2, "subscribe": position}  # the stream position, offset 0: nothing sent
    assert position == {"recoverable": True, "epoch": position["epoch"], "positioned": True, "offset": 0}
    assert admin.emit_event(session_id, "chatMessageRead", messageId="m1")["connections"] == 1
    [push] = sock.pushes(1)
    assert push["channel"] == channel
    assert push["pub"] == {"data": {"event": "chatMessageRead", "payload": {"messageId": "m1"}}, "offset": 1}

    assert sock.command("subscribe", {"channel": channel})["error"] == {
        "code": 105,
        "message": "already subscribed",
    }
    other = sock.command("subscribe", {"channel": "widget:not-yours"})
    assert other["error"] == {"code": 103, "message": "permission denied"}
    assert sock.command("unsubscribe", {"channel": channel}) == {"id": 5, "unsubscribe": {}}
    assert admin.emit_event(session_id, "showTypingIndicator")["connections"] == 0
    log = admin.publications(session_id=session_id)
    assert [(item["event"], item["connections"]) for item in log] == [
        ("chatMessageCreated", 0),  # the bot greeting, published as the session started
        ("showTypingIndicator", 0),
        ("chatMessageRead", 1),
        ("showTypingIndicator", 0),
    ]


@pytest.mark.twin_strict
def test_strict_subscribe_refuses_a_channel_not_given(twin_emulator: TwinEmulator, raw: Any) -> None:
    session_id = start_session(twin_emulator)
    first, second = raw(), raw()
    first.connect([session_id])
    theirs = next(iter(second.connect([session_id])["connect"]["subs"]))
    refused = first.command("subscribe", {"channel": theirs})
    assert refused["error"] == {"code": 103, "message": "permission denied"}
    assert twin_emulator.admin.emit_event(session_id, "showTypingIndicator")["connections"] == 0


class SubscriptionRecorder(SubscriptionEventHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        self.publications: asyncio.Queue[Any] = asyncio.Queue()

    async def on_publication(self, ctx: PublicationContext) -> None:
        await self.publications.put(ctx.pub.data)


class ServerSubs(ClientEventHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        self.channels: list[str] = []
        self.publications: list[Any] = []

    async def on_subscribed(self, ctx: ServerSubscribedContext) -> None:
        self.channels.append(ctx.channel)

    async def on_publication(self, ctx: ServerPublicationContext) -> None:
        self.publications.append(ctx.pub.data)


@pytest.mark.twin_strict
async def test_strict_mode_with_the_official_sdk(twin_emulator: TwinEmulator) -> None:
    """centrifuge-python reads ``subs`` as server-side subscriptions; in strict mode a client
    subscribes to that channel itself (a client-side subscription), as seed 003 says."""
    admin = twin_emulator.admin
    session_id = start_session(twin_emulator)
    server_subs = ServerSubs()
    client = Client(
        ws_url(twin_emulator),
        events=server_subs,
        name="js",
        data={"application": "widget", "settings": {"sessions": [session_id]}},
    )
    await client.connect()
    try:
        await client.ready(timeout=5)
        [channel] = server_subs.channels
        before = await asyncio.to_thread(admin.emit_event, session_id, "showTypingIndicator")
        assert before["connections"] == 0
        recorder = SubscriptionRecorder()
        subscription = client.new_subscription(channel, events=recorder)
        await subscription.subscribe()
        await subscription.ready(timeout=5)
        after = await asyncio.to_thread(admin.emit_event, session_id, "chatMessageCreated", body="Hi")
        assert after["connections"] == 1
        data = await asyncio.wait_for(recorder.publications.get(), 5)
        assert (data["event"], data["payload"]["body"]) == ("chatMessageCreated", "Hi")
        assert server_subs.publications == []
    finally:
        await client.disconnect()
