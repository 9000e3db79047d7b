"""TwinChatSessionEventTrigger: serialization, one shared socket, events, deadlines, errors."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.triggers import chat as chat_triggers
from airflow_provider_twin.triggers.chat import TwinChatSessionEventTrigger, shared_chat_socket
from airflow_provider_twin.triggers.connections import connections_in_use
from tests.unit.chat.chat_fixtures import listened, settled, start_session, until


def make_trigger(session_id: str, **overrides: Any) -> TwinChatSessionEventTrigger:
    kwargs: dict[str, Any] = {"session_id": session_id, "deadline": time.time() + 15}
    kwargs.update(overrides)
    return TwinChatSessionEventTrigger(**kwargs)


async def first_event(trigger: TwinChatSessionEventTrigger) -> dict[str, Any]:
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1
    payload: dict[str, Any] = events[0]
    return payload


async def all_settled(count: int, key: str = "twin_default") -> None:
    """Wait until ``count`` sessions are joined on the shared socket and their REST checks are done."""
    calm = 0
    deadline = time.monotonic() + 10
    while calm < 3:
        assert time.monotonic() < deadline, "the triggers did not settle"
        await asyncio.sleep(0.05)
        shared = shared_chat_socket(key)
        ready = shared is not None and shared.hub.stats.joins >= count and not shared.checker.busy
        calm = calm + 1 if ready else 0


# -- serialization ----------------------------------------------------------------------------------
def test_serialization_round_trip_is_plain_json() -> None:
    trigger = make_trigger(
        "S1",
        deadline="2030-01-01T00:00:00Z",
        events=[{"event": "chatMessageCreated", "match": {"type": "TERMINAL"}}, "operatorChanged"],
        twin_conn_id="twin_prod",
        closed_statuses=("CLOSED", "ARCHIVED"),
        recheck_interval=120,
        fallback_interval=10,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_twin.triggers.chat.TwinChatSessionEventTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs == {
        "session_id": "S1",
        "deadline": datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp(),
        "events": [
            {"event": "chatMessageCreated", "match": {"type": "TERMINAL"}},
            {"event": "operatorChanged"},
        ],
        "twin_conn_id": "twin_prod",
        "closed_statuses": ["CLOSED", "ARCHIVED"],
        "recheck_interval": 120.0,
        "fallback_interval": 10.0,
        "user_id": None,
    }
    text = json.dumps(kwargs).lower()
    assert "token" not in text
    assert "password" not in text
    module, _, name = classpath.rpartition(".")
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (classpath, kwargs)


def test_the_socket_is_shared_unless_events_lack_a_session_id() -> None:
    assert make_trigger("S1").socket_key == "twin_default"
    assert make_trigger("S1", events=["chatMessageCreated"]).socket_key == "twin_default"
    assert make_trigger("S1", events=["showTypingIndicator"]).socket_key == "twin_default#session=s1"


# -- against the emulator ---------------------------------------------------------------------------
@pytest.mark.integration
async def test_many_triggers_share_one_socket_and_one_login(
    fast_realtime: TwinEmulator, twin_connection_env: str
) -> None:
    sessions = [start_session(fast_realtime) for _ in range(30)]
    runs = [asyncio.ensure_future(first_event(make_trigger(session_id))) for session_id in sessions]
    await all_settled(30)
    for index, session_id in enumerate(sessions):
        await asyncio.to_thread(fast_realtime.admin.close_session, session_id, 0, index % 2 == 0)
    events = await asyncio.gather(*runs)
    assert [event["status"] for event in events] == ["closed"] * 30
    assert [event["payload"]["sessionRatingRequired"] for event in events] == [i % 2 == 0 for i in range(30)]
    assert {event["source"] for event in events} == {"websocket"}
    counters = await asyncio.to_thread(fast_realtime.admin.counters)
    stats = (await asyncio.to_thread(fast_realtime.admin.realtime))["stats"]
    assert stats["connections_opened"] == 1
    assert counters["logins"] == 1
    assert connections_in_use() == []  # the last trigger closed the socket and the client
    await until(lambda: fast_realtime.admin.realtime()["stats"]["connections_active"] == 0)


@pytest.mark.integration
async def test_typing_waits_get_their_own_socket(
    fast_realtime: TwinEmulator, twin_connection_env: str
) -> None:
    typing_session, close_session = start_session(fast_realtime), start_session(fast_realtime)
    typing = asyncio.ensure_future(first_event(make_trigger(typing_session, events=["showTypingIndicator"])))
    closing = asyncio.ensure_future(first_event(make_trigger(close_session)))
    await until(lambda: listened(fast_realtime) == 2)
    assert (await asyncio.to_thread(fast_realtime.admin.realtime))["stats"]["connections_active"] == 2
    await asyncio.to_thread(fast_realtime.admin.emit_event, close_session, "showTypingIndicator")
    await asyncio.to_thread(
        fast_realtime.admin.emit_event, typing_session, "showTypingIndicator", authorType="OPERATOR"
    )
    event = await typing
    assert (event["status"], event["event"], event["payload"]) == (
        "event",
        "showTypingIndicator",
        {"authorType": "OPERATOR"},
    )
    assert not closing.done()  # typing does not end a close wait
    await asyncio.to_thread(fast_realtime.admin.close_session, close_session)
    assert (await closing)["status"] == "closed"


@pytest.mark.integration
async def test_websocket_dropped_mid_wait(fast_realtime: TwinEmulator, twin_connection_env: str) -> None:
    session_id = start_session(fast_realtime)
    run = asyncio.ensure_future(first_event(make_trigger(session_id)))
    await until(lambda: settled(fast_realtime, joins=1, reads=1))
    await asyncio.to_thread(fast_realtime.admin.drop_websockets)
    # Reconnected, joined again and checked REST again: the close can only come over the socket.
    await until(lambda: settled(fast_realtime, joins=2, reads=2))
    await asyncio.to_thread(fast_realtime.admin.close_session, session_id, 0, True)
    event = await run
    assert (event["status"], event["source"], event["payload"]["sessionRatingRequired"]) == (
        "closed",
        "websocket",
        True,
    )


@pytest.mark.integration
async def test_timeout_and_a_deadline_already_passed(
    fast_realtime: TwinEmulator, twin_connection_env: str
) -> None:
    session_id = start_session(fast_realtime)
    event = await first_event(make_trigger(session_id, deadline=time.time() + 0.5))
    assert event["status"] == "timeout"
    assert "sessionClosed" in event["message"]
    # Re-created after its deadline (e.g. a triggerer outage): one REST check decides.
    assert (await first_event(make_trigger(session_id, deadline=time.time() - 1)))["status"] == "timeout"
    fast_realtime.admin.close_session(session_id)
    late = await first_event(make_trigger(session_id, deadline=time.time() - 1))
    assert (late["status"], late["source"]) == ("closed", "rest")


@pytest.mark.integration
async def test_errors_become_error_events(
    fast_realtime: TwinEmulator, twin_connection_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown = await first_event(make_trigger("7d1f0a52-6a43-4f1b-8a0e-2b9c3d4e5f60"))
    assert (unknown["status"], unknown["error"]) == ("error", "not_found")
    no_connection = await first_event(make_trigger("S1", twin_conn_id="twin_missing"))
    assert no_connection["status"] == "error"
    assert "twin_missing" in no_connection["message"]

    def missing(module: str) -> Any:
        raise ImportError("TWIN realtime needs the 'realtime' extra")

    monkeypatch.setattr(chat_triggers, "load_realtime", missing)
    no_extra = await first_event(make_trigger("S1"))
    assert no_extra["status"] == "error"
    assert "realtime" in no_extra["message"]
