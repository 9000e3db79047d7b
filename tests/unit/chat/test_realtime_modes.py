"""The realtime waits in both emulator modes: lenient, and strict (seed 003 as written).

Seed 003 requires the connect's ``settings.sessions`` and tells the client to subscribe to the
channels named by the keys of the connect reply's ``subs``. The strict emulator refuses a connect
without a session (3501) and publishes nothing on a channel the client did not subscribe to; the
lenient one takes the channel as a server-side subscription. Every wait must hear a close over the
websocket in both.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from airflow.sdk import PokeReturnValue

from airflow_provider_twin.client import AsyncTwinClient, TwinClient
from airflow_provider_twin.client.chat import ChatEvent, EventFilter
from airflow_provider_twin.client.chat.realtime import Joined, wait_for_session_event
from airflow_provider_twin.client.chat.realtime.async_hub import ChatEventHub
from airflow_provider_twin.client.chat.realtime.sync_socket import wait_for_session_event_sync
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor
from tests.unit.chat.chat_fixtures import (
    deferred_trigger,
    emulator_config,
    make_context,
    settled,
    start_session,
    until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize(
        "mode",
        [
            pytest.param("lenient", marks=pytest.mark.twin_strict(False)),
            pytest.param("strict", marks=pytest.mark.twin_strict(True)),
        ],
    ),
]


def connections(emulator: TwinEmulator) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = emulator.admin.realtime()["connections"]
    return found


def opened(emulator: TwinEmulator) -> int:
    count: int = emulator.admin.realtime()["stats"]["connections_opened"]
    return count


def close_when(emulator: TwinEmulator, ready: Callable[[], bool], session_id: str) -> threading.Thread:
    """Close ``session_id`` once ``ready()``: the wait is subscribed, joined and has checked REST."""

    def run() -> None:
        deadline = time.monotonic() + 10
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.02)
        emulator.admin.close_session(session_id, rating_required=True)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def rest(fast_realtime: TwinEmulator) -> Iterator[TwinClient]:
    with TwinClient(emulator_config(fast_realtime)) as client:
        yield client


# -- the asyncio hub --------------------------------------------------------------------------------
async def test_hub_connects_with_the_watched_sessions_only(mode: str, fast_realtime: TwinEmulator) -> None:
    url = emulator_config(fast_realtime).endpoints.centrifugo_url
    hub = ChatEventHub(url, min_reconnect_delay=0.3, max_reconnect_delay=1.0)
    await hub.start()
    try:
        assert await asyncio.to_thread(opened, fast_realtime) == 0  # nothing to listen to yet
        session_id = start_session(fast_realtime)
        watch = hub.watch(session_id)
        assert isinstance(await watch.next(5), Joined)
        [connection] = await asyncio.to_thread(connections, fast_realtime)
        assert (connection["sessions"], connection["subscribed"]) == ([session_id], True)
        await asyncio.to_thread(fast_realtime.admin.close_session, session_id)
        event = await watch.next(5)
        assert isinstance(event, ChatEvent)
        assert event.name == "sessionClosed"
        hub.unwatch(watch)
        await until(lambda: fast_realtime.admin.realtime()["stats"]["connections_active"] == 0)
        assert hub.failed is None
        again = hub.watch(start_session(fast_realtime))  # the next watch connects again
        assert isinstance(await again.next(5), Joined)
        assert hub.stats.connects == 2
    finally:
        await hub.aclose()


async def test_async_wait_hears_the_close_over_the_websocket(mode: str, fast_realtime: TwinEmulator) -> None:
    client = AsyncTwinClient(emulator_config(fast_realtime))
    hub = ChatEventHub(emulator_config(fast_realtime).endpoints.centrifugo_url)
    await hub.start()
    try:
        session_id = start_session(fast_realtime)
        waiting = asyncio.ensure_future(
            wait_for_session_event(client, hub, session_id, deadline=time.time() + 10)
        )
        await until(lambda: settled(fast_realtime, joins=1, reads=1))
        await asyncio.to_thread(fast_realtime.admin.close_session, session_id, 0, True)
        result = await waiting
        assert (result.status, result.source, result.event) == ("closed", "websocket", "sessionClosed")
    finally:
        await hub.aclose()
        await client.aclose()


# -- the blocking socket ----------------------------------------------------------------------------
def test_sync_wait_hears_the_close_over_the_websocket(
    mode: str, fast_realtime: TwinEmulator, rest: TwinClient
) -> None:
    session_id = start_session(fast_realtime)
    close_when(fast_realtime, lambda: settled(fast_realtime, joins=1, reads=2), session_id)
    url = emulator_config(fast_realtime).endpoints.centrifugo_url
    result = wait_for_session_event_sync(rest, url, session_id, until=time.time() + 5)
    assert result is not None
    assert (result.status, result.source, result.event) == ("closed", "websocket", "sessionClosed")


# -- the sensor -------------------------------------------------------------------------------------
async def test_deferrable_sensor_hears_the_close_in_the_trigger(
    mode: str, fast_realtime: TwinEmulator, twin_connection_env: str
) -> None:
    session_id = start_session(fast_realtime)
    sensor = TwinChatSessionClosedSensor(task_id="closed", session_id=session_id, deferrable=True, timeout=30)
    trigger = await deferred_trigger(sensor)
    runs = asyncio.ensure_future(anext(trigger.run()))
    await until(lambda: settled(fast_realtime, joins=1, reads=2))
    await asyncio.to_thread(fast_realtime.admin.close_session, session_id, 0, True)
    event = (await runs).payload
    assert (event["status"], event["source"]) == ("closed", "websocket")
    assert sensor.execute_complete(make_context(), event)["sessionRatingRequired"] is True


def test_poking_sensor_hears_the_close(
    mode: str, fast_realtime: TwinEmulator, twin_connection_env: str
) -> None:
    session_id = start_session(fast_realtime)
    close_when(fast_realtime, lambda: settled(fast_realtime, joins=1, reads=2), session_id)
    sensor = TwinChatSessionClosedSensor(task_id="closed", session_id=session_id, listen_timeout=5)
    result = sensor.poke(make_context())
    assert isinstance(result, PokeReturnValue)
    assert result.is_done
    assert result.xcom_value["sessionRatingRequired"] is True
    [closed] = fast_realtime.admin.publications(session_id=session_id, event="sessionClosed")
    assert closed["connections"] == 1  # heard over the websocket


def test_operator_changed_with_its_avatar_url_ends_an_awaited_wait(
    mode: str, fast_realtime: TwinEmulator, rest: TwinClient
) -> None:
    # Seed 003: operatorChanged.avatar is REQUIRED, a URL (the emulator sends a data: URL).
    session_id = start_session(fast_realtime)

    def change_operator() -> None:
        deadline = time.monotonic() + 10
        while not settled(fast_realtime, joins=1, reads=2) and time.monotonic() < deadline:
            time.sleep(0.02)
        fast_realtime.admin.emit_event(session_id, "operatorChanged")

    threading.Thread(target=change_operator, daemon=True).start()
    url = emulator_config(fast_realtime).endpoints.centrifugo_url
    events = EventFilter.from_specs(["operatorChanged"])
    result = wait_for_session_event_sync(rest, url, session_id, until=time.time() + 5, events=events)
    assert result is not None
    assert (result.status, result.event) == ("event", "operatorChanged")
    assert str(result.payload["avatar"]).startswith("data:image/")  # type: ignore[index]
    assert result.payload["previousOperatorAvatar"] is None  # type: ignore[index]
