"""The blocking realtime client (websocket-client) against the emulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_twin.client import TwinClient
from airflow_provider_twin.client.chat import ERROR_NOT_FOUND, ERROR_REALTIME, EventFilter, TwinRealtimeError
from airflow_provider_twin.client.chat.realtime.sync_socket import (
    ConnectionDropped,
    RealtimeSocket,
    wait_for_session_event_sync,
)
from airflow_provider_twin.emulator import TwinEmulator
from tests.unit.chat.chat_fixtures import emulator_config, listened, start_session

pytestmark = pytest.mark.integration


@pytest.fixture
def rest(fast_realtime: TwinEmulator) -> Iterator[TwinClient]:
    with TwinClient(emulator_config(fast_realtime)) as client:
        yield client


def url_of(emulator: TwinEmulator) -> str:
    return emulator_config(emulator).endpoints.centrifugo_url


def when_listening(emulator: TwinEmulator, action: Any) -> threading.Thread:
    """Run ``action`` once the emulator has a listener (i.e. the poke subscribed)."""

    def run() -> None:
        deadline = time.monotonic() + 10
        while listened(emulator) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_nothing_happens_until_the_time_is_up(fast_realtime: TwinEmulator, rest: TwinClient) -> None:
    session_id = start_session(fast_realtime)
    started = time.monotonic()
    assert (
        wait_for_session_event_sync(rest, url_of(fast_realtime), session_id, until=time.time() + 0.6) is None
    )
    assert 0.5 < time.monotonic() - started < 3


def test_rest_precheck_sees_an_earlier_close(fast_realtime: TwinEmulator, rest: TwinClient) -> None:
    session_id = start_session(fast_realtime)
    fast_realtime.admin.close_session(session_id, rating_required=True)
    result = wait_for_session_event_sync(rest, url_of(fast_realtime), session_id, until=time.time() + 5)
    assert result is not None
    assert (result.status, result.source, result.payload["sessionRatingRequired"]) == ("closed", "rest", True)  # type: ignore[index]
    assert fast_realtime.admin.realtime()["stats"]["connections_opened"] == 0


def test_close_arrives_while_listening(fast_realtime: TwinEmulator, rest: TwinClient) -> None:
    session_id = start_session(fast_realtime)
    when_listening(fast_realtime, lambda: fast_realtime.admin.close_session(session_id, rating_required=True))
    result = wait_for_session_event_sync(rest, url_of(fast_realtime), session_id, until=time.time() + 5)
    assert result is not None
    assert (result.status, result.source, result.event) == ("closed", "websocket", "sessionClosed")
    assert result.payload["sessionRatingRequired"] is True  # type: ignore[index]


def test_awaited_event_and_others_ignored(fast_realtime: TwinEmulator, rest: TwinClient) -> None:
    session_id = start_session(fast_realtime)
    admin = fast_realtime.admin

    def chatter() -> None:
        admin.emit_event(session_id, "showTypingIndicator")
        admin.emit_event(session_id, "chatMessageCreated", body="more?")
        admin.emit_event(session_id, "chatMessageCreated", body="bye", type="TERMINAL")

    when_listening(fast_realtime, chatter)
    result = wait_for_session_event_sync(
        rest,
        url_of(fast_realtime),
        session_id,
        until=time.time() + 5,
        events=EventFilter.from_specs([{"event": "chatMessageCreated", "match": {"type": "TERMINAL"}}]),
    )
    assert result is not None
    assert (result.status, result.payload["body"]) == ("event", "bye")  # type: ignore[index]


def test_dropped_socket_reconnects_and_rechecks_rest(fast_realtime: TwinEmulator, rest: TwinClient) -> None:
    session_id = start_session(fast_realtime)

    def drop_then_close() -> None:
        fast_realtime.admin.drop_websockets()
        fast_realtime.admin.close_session(session_id)

    when_listening(fast_realtime, drop_then_close)
    result = wait_for_session_event_sync(
        rest, url_of(fast_realtime), session_id, until=time.time() + 5, min_reconnect_delay=0.2
    )
    assert result is not None
    assert (result.status, result.source) == ("closed", "rest")
    assert fast_realtime.admin.realtime()["stats"]["connections_opened"] == 2


def test_server_pings_are_answered(fast_realtime: TwinEmulator, rest: TwinClient) -> None:
    fast_realtime.admin.update_realtime(pong_timeout=0.5)
    session_id = start_session(fast_realtime)
    assert (
        wait_for_session_event_sync(rest, url_of(fast_realtime), session_id, until=time.time() + 2.5) is None
    )
    stats = fast_realtime.admin.realtime()["stats"]
    assert stats["pongs"] >= 2
    assert (stats["no_pong_disconnects"], stats["connections_opened"]) == (0, 1)


def test_terminal_disconnect_is_an_error(fast_realtime: TwinEmulator, rest: TwinClient) -> None:
    session_id = start_session(fast_realtime)
    when_listening(fast_realtime, lambda: fast_realtime.admin.drop_websockets(3503, "force disconnect"))
    result = wait_for_session_event_sync(rest, url_of(fast_realtime), session_id, until=time.time() + 5)
    assert result is not None
    assert (result.status, result.error) == ("error", ERROR_REALTIME)


def test_unknown_session_is_an_error(fast_realtime: TwinEmulator, rest: TwinClient) -> None:
    result = wait_for_session_event_sync(
        rest, url_of(fast_realtime), "7d1f0a52-6a43-4f1b-8a0e-2b9c3d4e5f60", until=time.time() + 5
    )
    assert result is not None
    assert (result.status, result.error) == ("error", ERROR_NOT_FOUND)


def test_socket_reports_refused_joins_and_bad_connects(fast_realtime: TwinEmulator) -> None:
    known = start_session(fast_realtime)
    unknown = "7d1f0a52-6a43-4f1b-8a0e-2b9c3d4e5f60"
    with RealtimeSocket(url_of(fast_realtime), [known, unknown]) as sock:
        joins = sock.open()
        assert joins[known] is None
        assert "103" in str(joins[unknown])
        assert sock.client_id
        assert sock.ping_interval == 1.0
    with pytest.raises(ConnectionDropped):
        RealtimeSocket("ws://127.0.0.1:9/centrifugo/connection/websocket", [known], timeout=0.5).open()
    with RealtimeSocket(url_of(fast_realtime), [known]) as sock:
        sock.open()
        fast_realtime.admin.drop_websockets(3501, "bad request")
        with pytest.raises(TwinRealtimeError) as closed:
            list(sock.events(until=time.time() + 5))
        assert closed.value.code == 3501


def test_already_subscribed_channel_still_delivers(fast_realtime: TwinEmulator, rest: TwinClient) -> None:
    # A server that subscribed the client on its side answers the client's subscribe with 105.
    fast_realtime.admin.update_realtime(strict_subscribe=True)
    session_id = start_session(fast_realtime)
    when_listening(fast_realtime, lambda: fast_realtime.admin.close_session(session_id))
    result = wait_for_session_event_sync(rest, url_of(fast_realtime), session_id, until=time.time() + 5)
    assert result is not None
    assert result.status == "closed"
    assert fast_realtime.admin.realtime()["stats"]["joins"] == 1  # the 105 did not stop the join
