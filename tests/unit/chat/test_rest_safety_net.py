"""The REST safety net of chat waits: its closed statuses and recheck interval, settable and shown.

Only the status ``CLOSED`` means closed by default (ASSUMPTION, twin-api.md §7.15: TWIN does not
document the enum). If TWIN never publishes ``sessionClosed`` for a session whose ttl ran out,
only a REST check sees the close: every ``recheck_interval`` seconds while listening, in both
modes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from airflow.sdk import PokeReturnValue

from airflow_provider_twin.client.chat import CLOSED_STATUSES
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor
from airflow_provider_twin.triggers.chat import TwinChatSessionEventTrigger
from tests.unit.chat.chat_fixtures import deferred_trigger, make_context, settled, start_session, until


def test_closed_statuses_take_one_status_or_several() -> None:
    assert CLOSED_STATUSES == ("CLOSED",)
    one = TwinChatSessionClosedSensor(task_id="t", session_id="S1", closed_statuses="closed")
    assert one.closed_statuses == ("CLOSED",)
    several = TwinChatSessionClosedSensor(task_id="t", session_id="S1", closed_statuses=["CLOSED", "gone"])
    assert several.closed_statuses == ("CLOSED", "GONE")
    trigger = TwinChatSessionEventTrigger(
        session_id="S1", deadline=time.time() + 60, closed_statuses="CLOSED"
    )
    assert trigger.serialize()[1]["closed_statuses"] == ["CLOSED"]


@pytest.mark.parametrize("bad", [[], [""], ["CLOSED", 3], "  "])
def test_closed_statuses_are_checked_when_the_dag_is_parsed(bad: object) -> None:
    with pytest.raises(ValueError, match="closed_statuses"):
        TwinChatSessionClosedSensor(task_id="t", session_id="S1", closed_statuses=bad)  # type: ignore[arg-type]


def test_the_sensor_hands_its_safety_net_to_the_trigger_as_json() -> None:
    sensor = TwinChatSessionClosedSensor(
        task_id="t", session_id="S1", closed_statuses=("CLOSED", "EXPIRED"), recheck_interval=45
    )
    trigger = TwinChatSessionEventTrigger(
        session_id="S1",
        deadline=time.time() + 60,
        closed_statuses=sensor.closed_statuses,
        recheck_interval=sensor.recheck_interval,
        fallback_interval=sensor.fallback_interval,
    )
    kwargs = trigger.serialize()[1]
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert (kwargs["closed_statuses"], kwargs["recheck_interval"]) == (["CLOSED", "EXPIRED"], 45.0)


#: The emulator publishes every close; in an envelope the client cannot read, its ``sessionClosed``
#: stands for a close TWIN never publishes (the ttl expiry of seed 003 names no event).
UNREADABLE = {"event_key": "kind", "payload_key": "body"}


def expire_when(emulator: TwinEmulator, reads: int) -> threading.Thread:
    """Run the session ttl out once the wait listens."""

    def run() -> None:
        deadline = time.monotonic() + 10
        while not settled(emulator, joins=1, reads=reads) and time.monotonic() < deadline:
            time.sleep(0.02)
        emulator.admin.advance_clock(3601)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.integration
def test_a_poke_sees_a_silent_ttl_expiry_at_the_next_recheck(
    fast_realtime: TwinEmulator, twin_connection_env: str
) -> None:
    fast_realtime.admin.update_realtime(**UNREADABLE)
    session_id = start_session(fast_realtime, sessionTtl=3600)
    expire_when(fast_realtime, reads=2)
    sensor = TwinChatSessionClosedSensor(
        task_id="closed", session_id=session_id, listen_timeout=8, recheck_interval=0.3
    )
    result = sensor.poke(make_context())
    assert isinstance(result, PokeReturnValue)
    assert result.is_done
    assert result.xcom_value["sessionId"] == session_id


@pytest.mark.integration
async def test_the_trigger_sees_a_silent_ttl_expiry_at_the_next_recheck(
    fast_realtime: TwinEmulator, twin_connection_env: str
) -> None:
    await asyncio.to_thread(lambda: fast_realtime.admin.update_realtime(**UNREADABLE))
    session_id = start_session(fast_realtime, sessionTtl=3600)
    sensor = TwinChatSessionClosedSensor(
        task_id="closed", session_id=session_id, deferrable=True, timeout=30, recheck_interval=0.3
    )
    trigger = await deferred_trigger(sensor)
    run = asyncio.ensure_future(anext(trigger.run()))
    await until(lambda: settled(fast_realtime, joins=1, reads=2))
    await asyncio.to_thread(fast_realtime.admin.advance_clock, 3601)
    event = (await run).payload
    assert (event["status"], event["source"]) == ("closed", "rest")
