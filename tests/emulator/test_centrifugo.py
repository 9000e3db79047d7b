"""The emulator's Centrifugo websocket: protocol v2 framing, TWIN's connect/join, events, faults.

Spoken to twice: with a raw ``websocket-client`` socket (exact frames and close codes) and with
the official Centrifugo SDK ``centrifuge-python`` (the emulator must work with it as a client).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from centrifuge import (
    Client,
    ClientEventHandler,
    ConnectedContext,
    ConnectingContext,
    ReplyError,
    ServerPublicationContext,
    ServerSubscribedContext,
)
from emulator_testkit import CHAT_ID, wait_for
from websocket_testkit import UUID_LEN, start_session, ws_url

from airflow_provider_twin.emulator import TwinEmulator

pytestmark = pytest.mark.integration


# -- connect ----------------------------------------------------------------------------------------
def test_connect_reply_has_client_subs_and_ping(twin_emulator: TwinEmulator, raw: Any) -> None:
    sock = raw()
    reply = sock.connect([])
    result = reply["connect"]
    assert reply["id"] == 1
    assert len(result["client"]) == UUID_LEN
    assert result["version"] == "6.2.1 OSS"
    assert (result["ping"], result["pong"]) == (25, True)
    [(channel, sub)] = result["subs"].items()
    assert channel.startswith("widget:")
    assert len(channel) == len("widget:") + UUID_LEN
    assert sub["recoverable"] is True
    assert sub["positioned"] is True
    assert sub["epoch"]
    # Every connection gets a channel of its own (ASSUMPTION twin-api.md §7.17).
    other = raw().connect([])["connect"]
    assert other["subs"].keys() != result["subs"].keys()
    assert twin_emulator.admin.realtime()["stats"]["connections_active"] == 2


@pytest.mark.parametrize(
    "first",
    [
        {"id": 1, "connect": {"data": {"settings": {"sessions": []}}, "name": "js"}},
        {"id": 1, "connect": {"name": "js"}},
        {"id": 1, "connect": {"data": {"application": "widget", "settings": {"sessions": "x"}}}},
        {"id": 1, "rpc": {"method": "joinSession", "data": {"id": "x"}}},
    ],
    ids=["no-application", "no-data", "sessions-not-a-list", "command-before-connect"],
)
def test_bad_first_command_disconnects_with_3501(raw: Any, first: dict[str, Any]) -> None:
    sock = raw()
    sock.send(first)
    assert sock.close_code() == (3501, "bad request")


def test_malformed_json_disconnects_with_3501(raw: Any) -> None:
    sock = raw()
    sock.ws.send("{oops")
    assert sock.close_code()[0] == 3501


def test_protobuf_is_refused_with_3506(raw: Any) -> None:
    sock = raw(subprotocols=["centrifuge-protobuf"])
    assert sock.close_code()[0] == 3506


# -- joinSession, subscribe -------------------------------------------------------------------------
def test_join_session_known_unknown_and_twice(twin_emulator: TwinEmulator, raw: Any) -> None:
    session_id = start_session(twin_emulator)
    sock = raw()
    sock.connect([])
    join = {"method": "joinSession", "data": {"id": session_id}}
    assert sock.command("rpc", join) == {"id": 2, "rpc": {"data": {"success": True}}}
    assert sock.command("rpc", join)["rpc"] == {"data": {"success": True}}
    unknown = sock.command("rpc", {"method": "joinSession", "data": {"id": str(uuid.uuid4())}})
    assert unknown["error"] == {"code": 103, "message": "permission denied"}
    other = sock.command("rpc", {"method": "somethingElse", "data": {}})
    assert other["error"]["code"] == 104
    stats = twin_emulator.admin.realtime()["stats"]
    assert (stats["joins"], stats["join_refusals"]) == (2, 1)


def test_subscribe_to_own_channel_lenient_and_strict(twin_emulator: TwinEmulator, raw: Any) -> None:
    sock = raw()
    channel = next(iter(sock.connect([])["connect"]["subs"]))
    assert sock.command("subscribe", {"channel": channel}) == {"id": 2, "subscribe": {}}
    assert sock.command("subscribe", {"channel": "widget:other"})["error"]["code"] == 103
    twin_emulator.admin.update_realtime(strict_subscribe=True)
    assert sock.command("subscribe", {"channel": channel})["error"] == {
        "code": 105,
        "message": "already subscribed",
    }
    assert sock.command("unsubscribe", {"channel": channel}) == {"id": 5, "unsubscribe": {}}


# -- events -----------------------------------------------------------------------------------------
def test_close_is_pushed_to_sessions_listed_on_connect(twin_emulator: TwinEmulator, raw: Any) -> None:
    listened, other = start_session(twin_emulator), start_session(twin_emulator)
    sock = raw()
    channel = next(iter(sock.connect([listened])["connect"]["subs"]))
    twin_emulator.admin.close_session(other)
    twin_emulator.admin.close_session(listened, rating_required=True)
    [push] = sock.pushes(1)
    assert push == {
        "channel": channel,
        "pub": {
            "data": {
                "event": "sessionClosed",
                "payload": {"sessionId": listened, "chatId": CHAT_ID, "sessionRatingRequired": True},
            },
            "offset": 1,
        },
    }
    log = twin_emulator.admin.publications(event="sessionClosed")
    assert [(item["session_id"], item["connections"]) for item in log] == [(other, 0), (listened, 1)]


def test_delayed_close_and_ttl_expiry_are_pushed(twin_emulator: TwinEmulator, raw: Any) -> None:
    delayed = start_session(twin_emulator)
    short = start_session(twin_emulator, sessionTtl=1)
    sock = raw()
    sock.connect([delayed, short])
    twin_emulator.admin.update_realtime(sweep_interval=0.2)
    twin_emulator.admin.close_session(delayed, after_seconds=0.3)
    pushes = sock.pushes(2, timeout=5)
    closed = {push["pub"]["data"]["payload"]["sessionId"] for push in pushes}
    assert closed == {delayed, short}
    assert [push["pub"]["offset"] for push in pushes] == [1, 2]


@pytest.mark.parametrize(
    ("event", "expected_keys"),
    [
        ("showTypingIndicator", {"authorType"}),
        (
            "chatMessageCreated",
            {"id", "authorType", "body", "answers", "createdAt", "sessionId", "attachments", "actions"},
        ),
        (
            "operatorChanged",
            {
                "operatorId",
                "operatorName",
                "avatar",
                "previousOperatorId",
                "previousOperatorName",
                "previousOperatorAvatar",
            },
        ),
        ("chatMessageRead", {"messageId"}),
        ("sessionClosed", {"sessionId", "chatId", "sessionRatingRequired"}),
    ],
)
def test_admin_emits_each_documented_event(
    twin_emulator: TwinEmulator, raw: Any, event: str, expected_keys: set[str]
) -> None:
    session_id = start_session(twin_emulator)
    sock = raw()
    sock.connect([])
    sock.command("rpc", {"method": "joinSession", "data": {"id": session_id}})
    answer = twin_emulator.admin.emit_event(session_id, event)
    assert answer["connections"] == 1
    [push] = sock.pushes(1)
    data = push["pub"]["data"]
    assert data["event"] == event
    assert expected_keys <= set(data["payload"])
    if event == "sessionClosed":
        assert twin_emulator.admin.sessions(status="CLOSED")["count"] == 1


def test_emitted_message_overrides_defaults_and_is_stored(twin_emulator: TwinEmulator, raw: Any) -> None:
    session_id = start_session(twin_emulator)
    sock = raw()
    sock.connect([session_id])
    twin_emulator.admin.emit_event(
        session_id, "chatMessageCreated", body="Bye", type="TERMINAL", authorType="BOT"
    )
    payload = sock.pushes(1)[0]["pub"]["data"]["payload"]
    assert (payload["body"], payload["type"], payload["authorType"], payload["sessionId"]) == (
        "Bye",
        "TERMINAL",
        "BOT",
        session_id,
    )
    [session] = twin_emulator.admin.sessions()["items"]
    assert session["messages"][-1]["body"] == "Bye"


def test_envelope_shape_is_configurable(twin_emulator: TwinEmulator, raw: Any) -> None:
    session_id = start_session(twin_emulator)
    sock = raw()
    sock.connect([session_id])
    twin_emulator.admin.update_realtime(event_key="type", payload_key="data")
    twin_emulator.admin.emit_event(session_id, "chatMessageRead", messageId="m1")
    assert sock.pushes(1)[0]["pub"]["data"] == {"type": "chatMessageRead", "data": {"messageId": "m1"}}
    twin_emulator.admin.update_realtime(event_key="event", flat_envelope=True)
    twin_emulator.admin.emit_event(session_id, "chatMessageRead", messageId="m2")
    assert sock.pushes(1)[0]["pub"]["data"] == {"event": "chatMessageRead", "messageId": "m2"}
    assert twin_emulator.admin.publish_raw(session_id, "anything") == 1
    assert sock.pushes(1)[0]["pub"]["data"] == "anything"


def test_admin_validation(twin_emulator: TwinEmulator) -> None:
    admin = twin_emulator.admin
    session_id = start_session(twin_emulator)
    with pytest.raises(httpx.HTTPStatusError) as bad_event:
        admin.emit_event(session_id, "sessionOpened")
    assert bad_event.value.response.status_code == 422
    with pytest.raises(httpx.HTTPStatusError) as unknown:
        admin.emit_event(str(uuid.uuid4()), "sessionClosed")
    assert unknown.value.response.status_code == 404
    with pytest.raises(httpx.HTTPStatusError) as bad_setting:
        admin.update_realtime(ping_interval=0, nonsense=1)
    assert set(bad_setting.value.response.json()["details"]) == {"ping_interval", "nonsense"}
    with pytest.raises(httpx.HTTPStatusError):
        admin.drop_websockets(code=1234)


# -- ping/pong, faults, reset -----------------------------------------------------------------------
def test_pings_answered_keep_the_connection(twin_emulator: TwinEmulator, raw: Any) -> None:
    twin_emulator.admin.update_realtime(ping_interval=1, pong_timeout=0.5)
    sock = raw()
    assert sock.connect([])["connect"]["ping"] == 1
    for _ in range(2):
        assert sock.read(timeout=3) == [{}]
        sock.ws.send("{}")
    assert twin_emulator.admin.realtime()["stats"]["pongs"] == 2


def test_missing_pong_disconnects_with_3012(twin_emulator: TwinEmulator, raw: Any) -> None:
    twin_emulator.admin.update_realtime(ping_interval=1, pong_timeout=0.3)
    sock = raw()
    sock.connect([])
    assert sock.read(timeout=3) == [{}]
    assert sock.close_code() == (3012, "no pong")


def test_drop_all_or_by_session(twin_emulator: TwinEmulator, raw: Any) -> None:
    session_id = start_session(twin_emulator)
    listening, idle = raw(), raw()
    listening.connect([session_id])
    idle.connect([])
    assert twin_emulator.admin.drop_websockets(code=3001, session_id=session_id) == 1
    assert listening.close_code() == (3001, "shutdown")
    assert twin_emulator.admin.drop_websockets(code=3503, reason="force disconnect") == 1
    assert idle.close_code() == (3503, "force disconnect")
    wait_for(lambda: twin_emulator.admin.realtime()["stats"]["connections_active"] == 0)


def test_reset_drops_connections_and_restores_settings(twin_emulator: TwinEmulator, raw: Any) -> None:
    twin_emulator.admin.update_realtime(ping_interval=3)
    sock = raw()
    sock.connect([])
    twin_emulator.admin.reset()
    assert sock.close_code()[0] == 3001
    assert twin_emulator.admin.realtime()["settings"]["ping_interval"] == 25


def test_a_thousand_sessions_on_one_connection(twin_emulator: TwinEmulator, raw: Any) -> None:
    with httpx.Client() as http:
        sessions = [start_session(twin_emulator, http) for _ in range(1000)]
    sock = raw()
    sock.connect(sessions[:500])
    sock.send(
        *(
            {"id": 100 + i, "rpc": {"method": "joinSession", "data": {"id": s}}}
            for i, s in enumerate(sessions[500:])
        )
    )
    replies = 0
    while replies < 500:
        replies += sum(1 for reply in sock.read() if reply.get("rpc") == {"data": {"success": True}})
    sock.frames = 0
    started = time.perf_counter()
    with twin_emulator.state.lock:
        now = twin_emulator.state.now()
        for session_id in sessions:
            twin_emulator.state.sessions.close(twin_emulator.state.sessions.get(session_id), now, 0.0, False)  # type: ignore[arg-type]
    pushes = sock.pushes(1000, timeout=10)
    elapsed = time.perf_counter() - started
    assert {push["pub"]["data"]["payload"]["sessionId"] for push in pushes} == set(sessions)
    assert sock.frames < 500  # batched: many pushes per frame
    assert elapsed < 5.0


# -- the official SDK ------------------------------------------------------------------------------
class Recorder(ClientEventHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        self.connected: list[str] = []
        self.channels: list[str] = []
        self.publications: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.connecting: list[int] = []
        self.reconnected = asyncio.Event()

    async def on_connected(self, ctx: ConnectedContext) -> None:
        self.connected.append(ctx.client)
        self.reconnected.set()

    async def on_connecting(self, ctx: ConnectingContext) -> None:
        self.connecting.append(ctx.code)

    async def on_subscribed(self, ctx: ServerSubscribedContext) -> None:
        self.channels.append(ctx.channel)

    async def on_publication(self, ctx: ServerPublicationContext) -> None:
        await self.publications.put((ctx.channel, ctx.pub.data))


async def test_official_centrifuge_python_client(twin_emulator: TwinEmulator) -> None:
    admin = twin_emulator.admin
    await asyncio.to_thread(admin.update_realtime, ping_interval=1)
    first, second = start_session(twin_emulator), start_session(twin_emulator)
    events = Recorder()
    data = {"application": "widget", "settings": {"sessions": [first]}}
    client = Client(
        ws_url(twin_emulator),
        events=events,
        name="js",
        data=data,
        min_reconnect_delay=0.05,
        max_reconnect_delay=0.2,
    )
    await client.connect()
    try:
        await client.ready(timeout=5)
        assert events.channels
        assert events.channels[0].startswith("widget:")
        result = await client.rpc("joinSession", {"id": second})
        assert result.data == {"success": True}
        with pytest.raises(ReplyError) as refused:
            await client.rpc("joinSession", {"id": str(uuid.uuid4())})
        assert refused.value.code == 103

        await asyncio.to_thread(admin.emit_event, second, "chatMessageCreated", body="Hi")
        channel, pub = await asyncio.wait_for(events.publications.get(), 5)
        assert channel == events.channels[-1]
        assert (pub["event"], pub["payload"]["body"]) == ("chatMessageCreated", "Hi")

        # Server pings every second are answered by the SDK: the connection stays up.
        await asyncio.sleep(2.5)
        stats = (await asyncio.to_thread(admin.realtime))["stats"]
        assert stats["pongs"] >= 2
        assert stats["no_pong_disconnects"] == 0
        assert len(events.connected) == 1

        # Dropped: the SDK reconnects by itself and resends the connect data.
        events.reconnected.clear()
        await asyncio.to_thread(admin.drop_websockets)
        await asyncio.wait_for(events.reconnected.wait(), 5)
        assert len(events.connected) == 2
        await asyncio.to_thread(admin.close_session, first, 0, True)
        channel, pub = await asyncio.wait_for(events.publications.get(), 5)
        assert pub == {
            "event": "sessionClosed",
            "payload": {"sessionId": first, "chatId": CHAT_ID, "sessionRatingRequired": True},
        }
        assert channel == events.channels[-1] != events.channels[0]
    finally:
        await client.disconnect()
