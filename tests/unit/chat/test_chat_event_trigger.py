"""TwinChatEventTrigger against the emulator: kwargs, REST events, realtime closes, shared socket."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import json
import re
import time
import types
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.emulator.admin_client import EmulatorAdmin
from airflow_provider_twin.triggers import TwinChatEventTrigger, chat_event_socket
from airflow_provider_twin.triggers.chat import ChatSocket, shared_chat_socket
from tests.unit.chat.chat_fixtures import CHAT_ID, start_session, until
from tests.unit.event_watchers import Variables, collect, memory_variables

RATED_CLOSE = "rating" in inspect.signature(EmulatorAdmin.close_session).parameters


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> Variables:
    return memory_variables(monkeypatch)


def write(emulator: TwinEmulator, session_id: str, text: str = "hello") -> None:
    """The client writes in its open session."""
    response = httpx.put(
        f"{emulator.base_url}/chat/api/v1/chats/{CHAT_ID}/sessions",
        json={"sessionId": session_id, "messageBody": text},
    )
    assert response.status_code == 200, response.text


def test_kwargs_are_plain_json_that_re_create_the_same_watcher() -> None:
    trigger = TwinChatEventTrigger(chat_id=CHAT_ID, events="session_closed", created_within_seconds=3600)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_twin.triggers.chat_events.TwinChatEventTrigger"
    assert kwargs == {
        "chat_id": CHAT_ID,
        "events": ["session_closed"],
        "created_within_seconds": 3600,
        "realtime": True,
        "twin_conn_id": "twin_default",
        "poll_interval": 30.0,
        "commit_delay": 5.0,
        "cursor_name": None,
    }
    assert json.loads(json.dumps(kwargs)) == kwargs
    module, _, name = classpath.rpartition(".")
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert re.fullmatch(r"twin_events\.[0-9a-f]{16}", trigger.cursor_variable)
    assert trigger.window == 3600 + 3600
    assert TwinChatEventTrigger().serialize()[1]["events"] == [
        "session_started",
        "session_closed",
        "client_message",
        "session_rated",
    ]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"events": ["session_ended"]}, "events"),
        ({"events": []}, "events"),
        ({"created_within_seconds": 0}, "created_within_seconds"),
        ({"chat_id": ""}, "chat_id"),
        ({"poll_interval": -1}, "poll_interval"),
        ({"cursor_name": "a b"}, "cursor_name"),
    ],
)
def test_a_bad_argument_fails_at_parse_time_naming_it(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(TwinInputError, match="^" + re.escape(field)):
        TwinChatEventTrigger(**arguments)


async def test_rest_polls_report_starts_client_messages_and_closes_once(
    twin_emulator: TwinEmulator, twin_connection_env: str, variables: Variables
) -> None:
    quiet = start_session(twin_emulator)
    chatty = start_session(twin_emulator, messageBody="I need help")
    await asyncio.to_thread(twin_emulator.admin.close_session, quiet, 0, True)
    trigger = TwinChatEventTrigger(chat_id=CHAT_ID, realtime=False, poll_interval=0.1, commit_delay=0)

    # Up to 20 s on a loaded machine; once the four events came, one more second shows a repeat
    # and lets the watcher store what it reported.
    payloads = await collect(trigger, seconds=20, count=4, then=1.0)

    by_type: dict[str, list[str]] = {}
    for payload in payloads:
        by_type.setdefault(payload["type"], []).append(payload["sessionId"])
        assert "body" not in payload
        assert "text" not in payload
    assert sorted(by_type["chat.session_started"]) == sorted([quiet, chatty])
    assert by_type["chat.session_closed"] == [quiet]
    assert by_type["chat.client_message"] == [chatty]
    closed = next(p for p in payloads if p["type"] == "chat.session_closed")
    assert closed["event_id"] == f"session:{quiet}:closed"
    assert closed["sessionRatingRequired"] is True

    # A restart reports only what is new: the second session's close and a new message.
    await asyncio.to_thread(write, twin_emulator, chatty, "still there?")
    await asyncio.to_thread(twin_emulator.admin.close_session, chatty)
    again = await collect(TwinChatEventTrigger(**trigger.serialize()[1]), seconds=20, count=2, then=1.0)
    assert sorted(p["type"] for p in again) == ["chat.client_message", "chat.session_closed"]
    assert {p["sessionId"] for p in again} == {chatty}


async def test_a_close_arrives_over_the_shared_websocket_long_before_the_next_poll(
    fast_realtime: TwinEmulator, twin_connection_env: str, variables: Variables
) -> None:
    session_id = start_session(fast_realtime)
    trigger = TwinChatEventTrigger(chat_id=CHAT_ID, events=["session_closed"], poll_interval=60)
    events = trigger.run()

    async def close_when_listened() -> float:
        await until(lambda: fast_realtime.admin.realtime()["stats"]["sessions_listened"] >= 1)
        socket = shared_chat_socket("twin_default")
        assert socket is not None
        assert session_id in socket.hub.sessions
        await asyncio.sleep(0.3)  # joined
        closing = {"rating": 2} if RATED_CLOSE else {}
        await asyncio.to_thread(fast_realtime.admin.close_session, session_id, 0, False, **closing)
        return time.monotonic()

    closer = asyncio.ensure_future(close_when_listened())
    try:
        event = await asyncio.wait_for(anext(events), 15)
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    closed_at = await closer
    assert time.monotonic() - closed_at < 5  # not the 60 s poll
    payload = event.payload
    assert payload["event_id"] == f"session:{session_id}:closed"
    if RATED_CLOSE:
        assert payload["rating"] == 2
    assert shared_chat_socket("twin_default") is None  # the last user closed it


async def test_without_a_websocket_the_watcher_polls(
    twin_emulator: TwinEmulator,
    twin_connection_env: str,
    variables: Variables,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def refused(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionRefusedError("the websocket is down")

    monkeypatch.setattr(ChatSocket, "open", refused)
    session_id = start_session(twin_emulator)
    await asyncio.to_thread(twin_emulator.admin.close_session, session_id)
    trigger = TwinChatEventTrigger(
        chat_id=CHAT_ID, events=["session_closed"], poll_interval=0.1, commit_delay=0
    )

    payloads = await collect(trigger, seconds=20, count=1, then=1.0)

    assert [p["event_id"] for p in payloads] == [f"session:{session_id}:closed"]


class StoppedHub:
    """A websocket hub that has stopped for good (a terminal disconnect)."""

    failed = "disconnected for good: 3501 terminal"
    sessions: tuple[str, ...] = ()

    async def aclose(self) -> None:
        return None


async def test_a_websocket_that_stops_for_good_is_reopened_and_closes_come_in_real_time_again(
    fast_realtime: TwinEmulator,
    twin_connection_env: str,
    variables: Variables,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(chat_event_socket, "REOPEN_FIRST_WAIT", 0.2)
    real_open = ChatSocket.open
    opened: list[ChatSocket] = []

    async def stopped_first(connection: Any, user_id: str | None = None) -> ChatSocket:
        socket = await real_open(connection, user_id)
        if not opened:
            await socket.aclose()
            socket = ChatSocket(StoppedHub(), socket.checker)
        opened.append(socket)
        return socket

    monkeypatch.setattr(ChatSocket, "open", stopped_first)
    session_id = start_session(fast_realtime)
    trigger = TwinChatEventTrigger(chat_id=CHAT_ID, events=["session_closed"], poll_interval=60)
    events = trigger.run()

    async def close_when_listened() -> float:
        await until(lambda: fast_realtime.admin.realtime()["stats"]["sessions_listened"] >= 1)
        await asyncio.sleep(0.3)  # joined
        await asyncio.to_thread(fast_realtime.admin.close_session, session_id)
        return time.monotonic()

    closer = asyncio.ensure_future(close_when_listened())
    try:
        event = await asyncio.wait_for(anext(events), 15)
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    closed_at = await closer
    assert time.monotonic() - closed_at < 5  # over the reopened websocket, not the 60 s poll
    assert event.payload["event_id"] == f"session:{session_id}:closed"
    assert len(opened) == 2
    assert "the websocket stopped (disconnected for good" in caplog.text


class FlakyHub:
    """A websocket hub the test connects and stops at will."""

    def __init__(self) -> None:
        self.failed: str | None = None
        self.connected = False
        self.sessions: tuple[str, ...] = ()


class FlakyConnection:
    """A connection whose shared websocket is a new :class:`FlakyHub` at each open."""

    def __init__(self) -> None:
        self.hubs: list[FlakyHub] = []

    def attach(self, key: str, factory: Any, closer: Any) -> Any:
        @contextlib.asynccontextmanager
        async def attached() -> AsyncIterator[Any]:
            self.hubs.append(FlakyHub())
            yield types.SimpleNamespace(hub=self.hubs[-1])

        return attached()


async def test_the_reopen_wait_starts_again_only_once_a_socket_proved_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Opening does not connect: a socket that fails before it worked keeps the wait growing."""
    now = [1000.0]
    monkeypatch.setattr(chat_event_socket, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    connection = FlakyConnection()
    realtime = chat_event_socket.RealtimeSessions(connection, "twin_default", "test")  # type: ignore[arg-type]

    async def open_then_fail() -> float:
        """Open a socket (once the wait is over), let it stop; the next wait."""
        now[0] += realtime.retry_in()
        assert await realtime.current() is not None
        connection.hubs[-1].failed = "disconnected for good"
        assert await realtime.current() is None
        return realtime.retry_in()

    assert [await open_then_fail() for _ in range(3)] == [1.0, 2.0, 4.0]  # never connected: growing
    now[0] += realtime.retry_in()
    assert await realtime.current() is not None
    connection.hubs[-1].connected = True
    await realtime.current()
    now[0] += chat_event_socket.REOPEN_MAX_WAIT - 1
    await realtime.current()  # connected, not long enough yet
    connection.hubs[-1].failed = "disconnected for good"
    assert await realtime.current() is None
    assert realtime.retry_in() == 8.0
    now[0] += realtime.retry_in()
    assert await realtime.current() is not None
    connection.hubs[-1].connected = True
    await realtime.current()
    now[0] += chat_event_socket.REOPEN_MAX_WAIT
    await realtime.current()  # connected and working for a minute: proven
    assert await open_then_fail() == 1.0
    assert await open_then_fail() == 2.0
    now[0] += realtime.retry_in()
    follower = await realtime.current()
    assert follower is not None
    follower.heard = True  # an event came through
    await realtime.current()
    connection.hubs[-1].failed = "disconnected for good"
    assert await realtime.current() is None
    assert realtime.retry_in() == 1.0
    await realtime.aclose()
