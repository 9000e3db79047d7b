"""The event watchers' cursor: seen at once, stored after the commit delay, bounded by its window."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_twin.client import TwinEvent, TwinInputError
from airflow_provider_twin.triggers.event_cursor import EventCursor, check_commit_delay, cursor_variable
from tests.unit.event_watchers import Variables

NAME = "twin_events.test"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def event(n: int, age_seconds: float = 0.0) -> TwinEvent:
    moment = datetime.now(timezone.utc) - timedelta(seconds=age_seconds)
    return TwinEvent(f"message:m{n}:UNDELIVERED", "message.status", moment.isoformat(), {"id": f"m{n}"})


def cursor(variables: Variables, clock: Clock, delay: float = 5.0, window: float = 3600.0) -> EventCursor:
    return EventCursor(variables.store(NAME), window, delay, clock=clock)


def test_an_emitted_event_is_seen_at_once_and_stored_after_the_delay() -> None:
    variables, clock = Variables(), Clock()
    c = cursor(variables, clock)
    asyncio.run(c.open())
    first = c.new([event(1), event(2), event(1)])
    assert [e.event_id for e in first] == ["message:m1:UNDELIVERED", "message:m2:UNDELIVERED"]
    for e in first:
        c.emitted(e)
    assert c.new([event(1), event(2)]) == []  # seen in memory at once
    assert asyncio.run(c.commit()) == 0
    assert c.next_commit_in() == 5.0
    clock.now += 5.0
    assert asyncio.run(c.commit()) == 2
    assert variables.ids(NAME) == {"message:m1:UNDELIVERED", "message:m2:UNDELIVERED"}
    assert c.next_commit_in() is None


def test_writes_are_batched_at_most_one_a_second() -> None:
    variables, clock = Variables(), Clock()
    c = cursor(variables, clock, delay=0.0)
    asyncio.run(c.open())
    c.emitted(event(1))
    assert asyncio.run(c.commit()) == 1
    c.emitted(event(2))
    c.emitted(event(3))
    assert asyncio.run(c.commit()) == 0
    assert c.next_commit_in() == pytest.approx(1.0)
    clock.now += 1.0
    assert asyncio.run(c.commit()) == 2
    assert variables.writes == 2


def test_a_failed_write_keeps_the_ids_pending_for_the_next_commit() -> None:
    variables, clock = Variables(), Clock()
    variables.failures["save"] = 1
    c = cursor(variables, clock, delay=0.0)
    asyncio.run(c.open())
    c.emitted(event(1))
    assert asyncio.run(c.commit()) == 0
    assert c.pending == 1
    clock.now += 1.0
    assert asyncio.run(c.commit()) == 1
    assert variables.ids(NAME) == {"message:m1:UNDELIVERED"}


def test_a_new_cursor_reads_what_was_stored_and_drops_what_left_the_window() -> None:
    variables, clock = Variables(), Clock()
    c = cursor(variables, clock, delay=0.0)
    asyncio.run(c.open())
    c.emitted(event(1))
    c.emitted(event(2, age_seconds=1800))
    asyncio.run(c.commit())
    again = cursor(variables, clock, window=600.0)
    assert asyncio.run(again.open()) == 1
    assert [e.event_id for e in again.new([event(1), event(3)])] == ["message:m3:UNDELIVERED"]


def test_facts_older_than_the_window_are_not_reported() -> None:
    """Once forgotten, such a fact would be reported again at every poll that lists it."""
    c = cursor(Variables(), Clock(), window=600.0)
    asyncio.run(c.open())
    fresh, old = event(1, age_seconds=10), event(2, age_seconds=601)
    assert c.new([fresh, old]) == [fresh]


def test_an_unreadable_variable_starts_an_empty_cursor() -> None:
    variables, clock = Variables(), Clock()
    variables.table[NAME] = json.dumps({"something": "else"})
    assert asyncio.run(cursor(variables, clock).open()) == 0


def test_cursor_names_and_commit_delays_are_checked() -> None:
    assert cursor_variable("a-b_c.1", "twin_default", "messages", {}) == "twin_events.a-b_c.1"
    with pytest.raises(TwinInputError, match="^cursor_name"):
        cursor_variable("a/b", "twin_default", "messages", {})
    with pytest.raises(TwinInputError, match="^cursor_name"):
        cursor_variable("x" * 201, "twin_default", "messages", {})
    one = cursor_variable(None, "twin_default", "messages", {"statuses": ["UNDELIVERED"]})
    assert one == cursor_variable(None, "twin_default", "messages", {"statuses": ["UNDELIVERED"]})
    assert one != cursor_variable(None, "twin_default", "chat", {"statuses": ["UNDELIVERED"]})
    assert check_commit_delay(0) == 0.0
    for bad in (-1, True, "5", float("nan")):
        with pytest.raises(TwinInputError, match="^commit_delay"):
            check_commit_delay(bad)
