"""The asyncio realtime client against the emulator: routing, joins, reconnects and waits."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from airflow_provider_twin.client import AsyncTwinClient
from airflow_provider_twin.client.chat import ERROR_NOT_FOUND, ERROR_REALTIME, ChatEvent, EventFilter
from airflow_provider_twin.client.chat.realtime import (
    ConnectionLost,
    HubStopped,
    Joined,
    wait_for_session_event,
)
from airflow_provider_twin.client.chat.realtime.async_hub import ChatEventHub
from airflow_provider_twin.emulator import TwinEmulator
from tests.unit.chat.chat_fixtures import emulator_config, listened, settled, start_session, until

pytestmark = pytest.mark.integration


@pytest.fixture
async def rest(fast_realtime: TwinEmulator) -> Any:
    client = AsyncTwinClient(emulator_config(fast_realtime))
    yield client
    await client.aclose()


@pytest.fixture
async def hub(fast_realtime: TwinEmulator) -> Any:
    url = emulator_config(fast_realtime).endpoints.centrifugo_url
    the_hub = ChatEventHub(url, min_reconnect_delay=0.3, max_reconnect_delay=1.0)
    await the_hub.start()
    yield the_hub
    await the_hub.aclose()


async def next_of(watch: Any, kind: type, timeout: float = 5.0) -> Any:
    """The next item of ``kind`` the watch receives (others are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        item = await watch.next(deadline - time.monotonic())
        assert item is not None, f"no {kind.__name__} within {timeout} s"
        if isinstance(item, kind):
            return item


# -- the hub ----------------------------------------------------------------------------------------
async def test_hub_joins_and_routes_events_by_session(fast_realtime: TwinEmulator, hub: ChatEventHub) -> None:
    first, second = start_session(fast_realtime), start_session(fast_realtime)
    watch_first, watch_second = hub.watch(first), hub.watch(second)
    await next_of(watch_first, Joined)
    await next_of(watch_second, Joined)
    assert hub.sessions == (first, second)
    assert hub.stats.joins == 2

    await asyncio.to_thread(fast_realtime.admin.emit_event, second, "chatMessageCreated", body="Hi")
    event = await next_of(watch_second, ChatEvent)
    assert (event.name, event.payload["body"], event.session_id) == ("chatMessageCreated", "Hi", second)
    assert watch_first._queue.empty()

    # Typing has no sessionId: with two sessions on the socket it cannot be attributed.
    await asyncio.to_thread(fast_realtime.admin.emit_event, first, "showTypingIndicator")
    await until(lambda: hub.stats.unattributed == 1)
    hub.unwatch(watch_second)
    await asyncio.to_thread(fast_realtime.admin.emit_event, first, "showTypingIndicator")
    assert (await next_of(watch_first, ChatEvent)).name == "showTypingIndicator"


async def test_second_watch_of_a_joined_session_is_told_at_once(
    fast_realtime: TwinEmulator, hub: ChatEventHub
) -> None:
    session_id = start_session(fast_realtime)
    await next_of(hub.watch(session_id), Joined)
    second = hub.watch(session_id.upper())
    assert isinstance(await second.next(0.01), Joined)
    assert hub.sessions == (session_id,)


async def test_reconnect_resends_the_current_sessions_and_rejoins(
    fast_realtime: TwinEmulator, hub: ChatEventHub
) -> None:
    kept, dropped = start_session(fast_realtime), start_session(fast_realtime)
    watch, gone = hub.watch(kept), hub.watch(dropped)
    await next_of(watch, Joined)
    hub.unwatch(gone)
    await asyncio.to_thread(fast_realtime.admin.drop_websockets)
    assert isinstance(await next_of(watch, ConnectionLost), ConnectionLost)
    joined = await next_of(watch, Joined)
    assert joined.generation == 2
    [connection] = (await asyncio.to_thread(fast_realtime.admin.realtime))["connections"]
    assert connection["sessions"] == [kept]  # the connect data lists only what is watched now
    assert hub.stats.connects == 2


# -- waiting ---------------------------------------------------------------------------------------
async def test_close_arrives_over_the_websocket(
    fast_realtime: TwinEmulator, rest: AsyncTwinClient, hub: ChatEventHub
) -> None:
    session_id = start_session(fast_realtime)
    waiting = asyncio.ensure_future(wait_for_session_event(rest, hub, session_id, deadline=time.time() + 10))
    await until(lambda: settled(fast_realtime, joins=1, reads=1))
    await asyncio.to_thread(fast_realtime.admin.close_session, session_id, 0.2, True)
    result = await waiting
    assert (result.status, result.source, result.event) == ("closed", "websocket", "sessionClosed")
    assert result.payload == {
        "sessionId": session_id,
        "chatId": result.payload["chatId"],
        "sessionRatingRequired": True,
    }  # type: ignore[index]
    assert hub.sessions == ()


async def test_precheck_finds_an_already_closed_session(
    fast_realtime: TwinEmulator, rest: AsyncTwinClient, hub: ChatEventHub
) -> None:
    session_id = start_session(fast_realtime)
    fast_realtime.admin.close_session(session_id, rating_required=True)
    result = await wait_for_session_event(rest, hub, session_id, deadline=time.time() + 5, precheck=True)
    assert (result.status, result.source) == ("closed", "rest")
    assert result.payload["sessionRatingRequired"] is True  # type: ignore[index]
    assert hub.stats.joins == 0  # never subscribed


async def test_close_before_the_join_is_seen_over_rest(
    fast_realtime: TwinEmulator, rest: AsyncTwinClient, hub: ChatEventHub
) -> None:
    session_id = start_session(fast_realtime)
    fast_realtime.admin.close_session(session_id)
    result = await wait_for_session_event(rest, hub, session_id, deadline=time.time() + 5)
    assert (result.status, result.source) == ("closed", "rest")


async def test_close_while_disconnected_is_seen_after_the_reconnect(
    fast_realtime: TwinEmulator, rest: AsyncTwinClient, hub: ChatEventHub
) -> None:
    session_id = start_session(fast_realtime)
    waiting = asyncio.ensure_future(wait_for_session_event(rest, hub, session_id, deadline=time.time() + 10))
    await until(lambda: settled(fast_realtime, joins=1, reads=1))

    def drop_then_close() -> None:
        fast_realtime.admin.drop_websockets()
        fast_realtime.admin.close_session(session_id, rating_required=True)

    await asyncio.to_thread(drop_then_close)
    result = await waiting
    # Nobody was listening when the close was published; the REST check after the reconnect saw it.
    [published] = await asyncio.to_thread(
        fast_realtime.admin.publications, session_id=session_id, event="sessionClosed"
    )
    assert published["connections"] == 0
    assert (result.status, result.source) == ("closed", "rest")
    assert result.payload["sessionRatingRequired"] is True  # type: ignore[index]
    assert hub.stats.connection_losses == 1


async def test_awaited_event_ends_the_wait(
    fast_realtime: TwinEmulator, rest: AsyncTwinClient, hub: ChatEventHub
) -> None:
    session_id = start_session(fast_realtime)
    events = EventFilter.from_specs([{"event": "chatMessageCreated", "match": {"type": "TERMINAL"}}])
    waiting = asyncio.ensure_future(
        wait_for_session_event(rest, hub, session_id, deadline=time.time() + 10, events=events)
    )
    await until(lambda: listened(fast_realtime) == 1)
    await asyncio.to_thread(fast_realtime.admin.emit_event, session_id, "chatMessageCreated", body="step")
    await asyncio.to_thread(
        fast_realtime.admin.emit_event, session_id, "chatMessageCreated", body="bye", type="TERMINAL"
    )
    result = await waiting
    assert (result.status, result.event, result.payload["body"]) == ("event", "chatMessageCreated", "bye")  # type: ignore[index]


async def test_deadline_gives_a_timeout(
    fast_realtime: TwinEmulator, rest: AsyncTwinClient, hub: ChatEventHub
) -> None:
    session_id = start_session(fast_realtime)
    started = time.monotonic()
    result = await wait_for_session_event(rest, hub, session_id, deadline=time.time() + 0.5)
    assert result.status == "timeout"
    assert "sessionClosed" in result.message
    assert 0.4 < time.monotonic() - started < 3


async def test_unknown_session_is_an_error(rest: AsyncTwinClient, hub: ChatEventHub) -> None:
    result = await wait_for_session_event(
        rest, hub, "7d1f0a52-6a43-4f1b-8a0e-2b9c3d4e5f60", deadline=time.time() + 5
    )
    assert (result.status, result.error) == ("error", ERROR_NOT_FOUND)
    assert hub.stats.join_failures == 1  # TWIN refused joinSession (103), then REST said 404


async def test_terminal_disconnect_ends_the_wait(
    fast_realtime: TwinEmulator, rest: AsyncTwinClient, hub: ChatEventHub
) -> None:
    session_id = start_session(fast_realtime)
    waiting = asyncio.ensure_future(wait_for_session_event(rest, hub, session_id, deadline=time.time() + 10))
    await until(lambda: listened(fast_realtime) == 1)
    await asyncio.to_thread(fast_realtime.admin.drop_websockets, 3503, "force disconnect")
    result = await waiting
    assert (result.status, result.error) == ("error", ERROR_REALTIME)
    assert "3503" in result.message
    assert hub.failed is not None
    assert isinstance(await hub.watch(session_id).next(0), HubStopped)  # later watches learn at once


async def test_rest_fallback_while_the_websocket_is_unreachable(
    fast_realtime: TwinEmulator, rest: AsyncTwinClient
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = ChatEventHub(f"ws://127.0.0.1:{port}/centrifugo/connection/websocket", timeout=0.5)
    await dead.start()
    try:
        session_id = start_session(fast_realtime)
        waiting = asyncio.ensure_future(
            wait_for_session_event(rest, dead, session_id, deadline=time.time() + 10, fallback_interval=0.3)
        )
        await asyncio.sleep(0.5)
        await asyncio.to_thread(fast_realtime.admin.close_session, session_id)
        result = await waiting
        assert (result.status, result.source) == ("closed", "rest")
    finally:
        await dead.aclose()


async def test_already_subscribed_channel_still_delivers(
    fast_realtime: TwinEmulator, hub: ChatEventHub
) -> None:
    # A server that subscribed the client on its side answers the client's subscribe with 105.
    await asyncio.to_thread(fast_realtime.admin.update_realtime, strict_subscribe=True)
    session_id = start_session(fast_realtime)
    watch = hub.watch(session_id)
    await next_of(watch, Joined)
    await asyncio.to_thread(fast_realtime.admin.close_session, session_id)
    assert (await next_of(watch, ChatEvent)).name == "sessionClosed"
    assert hub.stats.join_failures == 0
