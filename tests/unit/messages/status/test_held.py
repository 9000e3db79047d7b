"""Messages TWIN holds until their send time: the wait says how many and when, once per change.

Against the emulator, which keeps a message ``DELAYED`` until its ``sendAt`` (twin-api.md §7.1).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pendulum
import pytest
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_twin.client.messages import (
    Criteria,
    HeldMessages,
    ProgressNews,
    Targets,
    local_zone,
    moment_text,
)
from airflow_provider_twin.client.messages.held import held_from, held_text
from airflow_provider_twin.sensors.messages import TwinMessageStatusSensor
from airflow_provider_twin.triggers.messages import TwinMessageStatusTrigger
from tests.unit.messages.status.campaigns import Campaigns

CONTEXT: dict[str, Any] = {"ti": mock.MagicMock()}


def in_hours(hours: float) -> datetime:
    """A whole minute ``hours`` from now, UTC (so the expected text has no seconds)."""
    moment = datetime.now(timezone.utc) + timedelta(hours=hours)
    return moment.replace(second=0, microsecond=0)


def utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@pytest.fixture
def logged() -> Iterator[mock.MagicMock]:
    """The sensor's and the trigger's loggers, recorded."""
    log = mock.MagicMock()
    with (
        mock.patch.object(TwinMessageStatusSensor, "log", new_callable=mock.PropertyMock, return_value=log),
        mock.patch.object(TwinMessageStatusTrigger, "log", new_callable=mock.PropertyMock, return_value=log),
    ):
        yield log


def info_lines(log: mock.MagicMock) -> list[str]:
    """The progress lines logged at INFO level (``log.log(INFO, "%s", line)``)."""
    return [c.args[2] for c in log.log.call_args_list if c.args[0] == logging.INFO]


def sensor(**kwargs: Any) -> TwinMessageStatusSensor:
    return TwinMessageStatusSensor(
        task_id="wait", bulk_ids=["bulk-1"], poke_interval=1, timeout=60, deferrable=False, **kwargs
    )


# -- the line --------------------------------------------------------------------------------------
def test_a_send_time_is_told_with_its_own_offset_and_in_utc() -> None:
    """TWIN's ``sendAt`` carries the sender's offset (the recipient's local time): kept, then UTC."""
    given = datetime.fromisoformat("2026-12-02T09:00:00+08:00")
    assert moment_text(given) == "2026-12-02 09:00 +08:00 (01:00 UTC)"
    west = datetime.fromisoformat("2026-12-01T20:00:15-03:30")
    assert moment_text(west) == "2026-12-01 20:00:15 -03:30 (23:30:15 UTC)"
    assert moment_text(datetime.fromisoformat("2026-12-01T21:00:00-03:00")) == (
        "2026-12-01 21:00 -03:00 (2026-12-02 00:00 UTC)"
    )
    utc = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    assert moment_text(utc) == "2026-12-01 09:00 UTC"


def test_the_wait_zone_is_added_only_when_it_tells_something_new() -> None:
    given = datetime.fromisoformat("2026-12-02T09:00:00+08:00")
    assert moment_text(given, ZoneInfo("Europe/Berlin")) == "2026-12-02 09:00 +08:00 (01:00 UTC, 02:00 CET)"
    assert moment_text(given, ZoneInfo("Asia/Shanghai")) == "2026-12-02 09:00 +08:00 (01:00 UTC)"
    assert moment_text(given, local_zone("UTC")) == "2026-12-02 09:00 +08:00 (01:00 UTC)"
    utc = datetime(2026, 12, 1, 23, 30, tzinfo=timezone.utc)
    assert moment_text(utc, ZoneInfo("Europe/Berlin")) == "2026-12-01 23:30 UTC (2026-12-02 00:30 CET)"
    assert moment_text(utc, local_zone("+03:00")) == "2026-12-01 23:30 UTC (2026-12-02 02:30 UTC+03:00)"
    assert local_zone("Nowhere/Atlantis") is None


def test_the_held_part_names_counts_and_the_earliest_send_time() -> None:
    pages = [
        {"count": 3, "items": [{"sendAt": "2026-12-01T12:00:00+03:00"}, {"sendAt": "2026-12-01T08:30:00Z"}]},
        {"count": 1, "items": [{"sendAt": None}]},
    ]
    held = held_from(pages)  # type: ignore[arg-type]
    assert (held.count, held.listed, held.next_send_at_iso) == (4, 3, "2026-12-01T08:30:00+00:00")
    assert held_text(held, pending_records=6) == (
        "4 held until their send time, 2 in flight; next send at 2026-12-01 08:30 UTC"
        " (earliest of the 3 held listed)"
    )
    assert held_text(HeldMessages(count=2, listed=2), pending_records=2) == (
        "2 held until their send time, 0 in flight; TWIN gives no send time (held for a send window)"
    )
    assert held_text(HeldMessages(), pending_records=5) == ""


def test_the_earliest_send_time_keeps_the_offset_twin_gave() -> None:
    """Recipients in several zones: the earliest moment wins, told in its own local time."""
    items = [
        {"sendAt": "2026-12-02T09:00:00+03:00"},  # 06:00 UTC
        {"sendAt": "2026-12-02T09:00:00+08:00"},  # 01:00 UTC: the earliest
        {"sendAt": "2026-12-01T22:00:00-05:00"},  # 03:00 UTC
    ]
    held = held_from([{"count": 3, "items": items}])  # type: ignore[list-item]
    assert held.next_send_at_iso == "2026-12-02T09:00:00+08:00"
    assert held_text(held, pending_records=3) == (
        "3 held until their send time, 0 in flight; next send at 2026-12-02 09:00 +08:00 (01:00 UTC)"
    )
    no_offset = held_from([{"count": 1, "items": [{"sendAt": "2026-12-02T01:00:00"}]}])  # type: ignore[list-item]
    assert no_offset.next_send_at_iso == "2026-12-02T01:00:00+00:00"


def test_progress_news_is_the_first_line_and_each_change() -> None:
    news = ProgressNews()
    assert [news.news(line) for line in ("a", "a", "b", "b", "a")] == [True, False, True, False, True]
    assert ProgressNews(last="a").news("a") is False


# -- poke mode -------------------------------------------------------------------------------------
def test_a_held_wait_logs_its_line_once_and_again_when_the_counts_change(
    twin: Campaigns, logged: mock.MagicMock
) -> None:
    first, later = in_hours(2), in_hours(3)
    twin.hold(3, first)
    twin.hold(1, later)
    twin.send(2)  # in flight: pending until released
    task = sensor()
    for _ in range(3):
        assert task.poke(CONTEXT) is False
    expected = (
        "bulk bulk-1: 0 of 6 message(s) succeeded, 0 failed, 6 pending; "
        f"4 held until their send time, 2 in flight; next send at {utc_text(first)}"
    )
    assert info_lines(logged) == [expected]
    twin.release()  # the two in flight are delivered; the held ones still wait
    for _ in range(3):
        assert task.poke(CONTEXT) is False
    assert info_lines(logged)[1:] == [
        "bulk bulk-1: 2 of 6 message(s) succeeded, 0 failed, 4 pending; "
        f"4 held until their send time, 0 in flight; next send at {utc_text(first)}"
    ]
    assert logged.log.call_count == 6, "the unchanged lines go to the debug level"


def test_the_dag_time_zone_is_added_when_it_differs(twin: Campaigns, logged: mock.MagicMock) -> None:
    """The emulator answers ``sendAt`` in UTC (twin-api.md §7.3 asks only for an offset)."""
    first = in_hours(2)
    twin.hold(2, first)
    with DAG("held", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo")):
        task = sensor()
    assert task.timezone_name() == "Asia/Tokyo"
    assert task.poke(CONTEXT) is False
    (line,) = info_lines(logged)
    assert line.endswith(f"next send at {moment_text(first, ZoneInfo('Asia/Tokyo'))}")
    local = first.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"next send at {utc_text(first)} (" in line
    assert f"{local.strftime('%H:%M')} JST)" in line


def test_nothing_more_is_asked_when_nothing_is_pending(twin: Campaigns) -> None:
    twin.send(3, "DELIVERED")
    twin.forget_requests()
    assert sensor().poke(CONTEXT) is not False
    assert (twin.count_requests, twin.list_requests) == (9, 0)


def test_delayed_as_a_configured_status_is_not_asked_twice(twin: Campaigns) -> None:
    twin.hold(2, in_hours(2))
    twin.forget_requests()
    task = sensor(failure_statuses=["UNDELIVERED", "DELAYED"], max_failure_ratio=0.9)
    with pytest.raises(AirflowFailException, match="failure ratio"):
        task.poke(CONTEXT)
    assert twin.list_requests == 0


# -- deferrable ------------------------------------------------------------------------------------
def polling(**kwargs: Any) -> TwinMessageStatusTrigger:
    """A trigger on ``bulk-1`` polling every 20 ms, with time to spare on a busy machine."""
    return TwinMessageStatusTrigger(
        targets=Targets.of(bulk_ids=["bulk-1"]).to_json(),
        criteria=Criteria().to_json(),
        deadline=time.time() + 120,
        poll_interval=0.02,
        **kwargs,
    )


async def first_event(trigger: TwinMessageStatusTrigger) -> dict[str, Any]:
    payload: dict[str, Any] = (await trigger.run().__anext__()).payload
    return payload


async def checks_made(twin: Campaigns, checks: int) -> None:
    """Wait until the trigger has made ``checks`` checks (9 counts each) since the test began."""
    limit = time.monotonic() + 60
    while twin.count_requests < 9 * checks:
        assert time.monotonic() < limit, f"only {twin.count_requests // 9} check(s) in 60 s"
        await asyncio.sleep(0.02)


async def test_the_trigger_logs_a_held_line_once_over_many_polls(
    twin: Campaigns, logged: mock.MagicMock
) -> None:
    first = in_hours(2)
    twin.hold(2, first)
    waiting = asyncio.ensure_future(first_event(polling(timezone="Europe/Berlin")))
    await checks_made(twin, 5)
    local = moment_text(first, ZoneInfo("Europe/Berlin"))
    assert info_lines(logged) == [
        "bulk bulk-1: 0 of 2 message(s) succeeded, 0 failed, 2 pending; "
        f"2 held until their send time, 0 in flight; next send at {local}"
    ], "five polls, one line"
    await asyncio.to_thread(twin.admin.advance_clock, 3 * 3600)  # the held messages go out
    event = await waiting
    assert event["status"] == "success"
    # A check the clock jump cut in two may log a line between; the last is the final one.
    assert info_lines(logged)[-1] == event["message"]


async def test_a_deferring_sensor_hands_its_line_to_the_trigger(
    twin: Campaigns, logged: mock.MagicMock
) -> None:
    twin.hold(2, in_hours(2))
    task = sensor()
    task.deferrable = True
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(CONTEXT)
    trigger = deferred.value.trigger
    assert isinstance(trigger, TwinMessageStatusTrigger)
    _, kwargs = trigger.serialize()
    assert kwargs["reported"] == info_lines(logged)[0]
    again = TwinMessageStatusTrigger(**{**kwargs, "deadline": time.time() + 0.3, "next_check_at": None})
    events = [event.payload async for event in again.run()]
    assert events[0]["status"] == "timeout"
    assert len(info_lines(logged)) == 1, "the triggerer does not repeat the sensor's line"


async def test_the_trigger_logs_again_when_the_counts_change(twin: Campaigns, logged: mock.MagicMock) -> None:
    twin.hold(1, in_hours(2))
    twin.send(1)
    waiting = asyncio.ensure_future(first_event(polling()))
    await checks_made(twin, 3)
    await asyncio.to_thread(twin.release)  # the one in flight is delivered, the held one waits
    await checks_made(twin, 6)
    lines = info_lines(logged)
    assert len(lines) == 2, lines
    assert (
        "0 of 2 message(s) succeeded, 0 failed, 2 pending; 1 held until their send time, 1 in flight"
        in lines[0]
    )
    assert (
        "1 of 2 message(s) succeeded, 0 failed, 1 pending; 1 held until their send time, 0 in flight"
        in lines[1]
    )
    await asyncio.to_thread(twin.admin.advance_clock, 3 * 3600)
    event = await waiting
    assert info_lines(logged)[-1] == event["message"]
    assert "2 of 2 message(s) succeeded" in event["message"]
