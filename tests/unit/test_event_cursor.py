"""The event watchers' cursor: seen at once, stored after the commit delay, in shards by time."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_twin.client import TwinEvent, TwinInputError
from airflow_provider_twin.triggers import TwinMessageEventTrigger, cursor_variables
from airflow_provider_twin.triggers import events as event_triggers
from airflow_provider_twin.triggers.cursor_settings import check_commit_delay, cursor_variable
from airflow_provider_twin.triggers.cursor_shards import bucket_seconds, id_key
from airflow_provider_twin.triggers.event_cursor import EventCursor
from tests.unit.event_watchers import Variables, memory_variables

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


def ids(*numbers: int) -> set[str]:
    """The stored keys of events ``numbers``."""
    return {id_key(f"message:m{n}:UNDELIVERED") for n in numbers}


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
    assert variables.table == {}
    assert c.next_commit_in() == 5.0
    clock.now += 5.0
    assert asyncio.run(c.commit()) == 2
    assert variables.ids(NAME) == ids(1, 2)
    assert c.next_commit_in() is None


def test_writes_are_batched_at_most_one_a_second() -> None:
    variables, clock = Variables(), Clock()
    c = cursor(variables, clock, delay=0.0)
    asyncio.run(c.open())
    c.emitted(event(1))
    assert asyncio.run(c.commit()) == 1
    assert variables.writes == 2  # the bucket, then the index that lists it
    c.emitted(event(2))
    c.emitted(event(3))
    assert asyncio.run(c.commit()) == 0
    assert c.next_commit_in() == pytest.approx(1.0)
    clock.now += 1.0
    assert asyncio.run(c.commit()) == 2
    assert variables.writes == 3  # the same bucket again; the index is unchanged


def test_a_write_stores_only_the_bucket_that_changed() -> None:
    """Old facts sit in buckets of their own; a new fact rewrites its bucket, not the window."""
    variables, clock = Variables(), Clock()
    c = cursor(variables, clock, delay=0.0, window=3600.0)
    asyncio.run(c.open())
    for n in range(50):
        c.emitted(event(n, age_seconds=600 + n))
    asyncio.run(c.commit())
    old = dict(variables.table)
    clock.now += 1.0
    c.emitted(event(99))
    asyncio.run(c.commit())
    changed = {k for k, v in variables.table.items() if old.get(k) != v}
    assert len(changed) == 2  # the new bucket and the index listing it
    new_bucket = next(k for k in changed if k != NAME)
    assert json.loads(variables.table[new_bucket])["seen"] == [id_key("message:m99:UNDELIVERED")]
    assert bucket_seconds(3600.0) == 10
    assert len(variables.shards(NAME)) >= 5


def test_a_failed_write_keeps_the_ids_pending_for_the_next_commit() -> None:
    variables, clock = Variables(), Clock()
    variables.failures["save"] = 1
    c = cursor(variables, clock, delay=0.0)
    asyncio.run(c.open())
    c.emitted(event(1))
    assert asyncio.run(c.commit()) == 0
    assert c.pending == 1
    assert c.new([event(1)]) == []  # still seen
    clock.now += 1.0
    assert asyncio.run(c.commit()) == 1
    assert variables.ids(NAME) == ids(1)


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


def test_buckets_that_leave_the_window_are_deleted_and_unlisted() -> None:
    variables, clock = Variables(), Clock()
    wall = [time.time()]
    c = EventCursor(variables.store(NAME), 600.0, 0.0, clock=clock, wall=lambda: wall[0])
    asyncio.run(c.open())
    c.emitted(event(1, age_seconds=500))
    c.emitted(event(2))
    asyncio.run(c.commit())
    assert len(variables.table) == 3  # two buckets and the index
    wall[0] += 200.0  # event 1's bucket is now older than the window
    c.prune()
    clock.now += 1.0
    asyncio.run(c.commit())
    assert len(variables.table) == 2
    assert variables.ids(NAME) == ids(2)


def test_a_failed_read_is_an_error_not_an_empty_cursor() -> None:
    """Only "not found" means no cursor: a read error must not start afresh (the window would repeat)."""
    variables, clock = Variables(), Clock()
    c = cursor(variables, clock, delay=0.0)
    asyncio.run(c.open())
    c.emitted(event(1))
    asyncio.run(c.commit())
    variables.failures["get"] = 1
    with pytest.raises(RuntimeError, match="API_SERVER_ERROR"):
        asyncio.run(cursor(variables, clock).open())
    assert asyncio.run(cursor(variables, clock).open()) == 1


def test_two_copies_of_a_watcher_add_up_instead_of_overwriting_each_other() -> None:
    variables, clock = Variables(), Clock()
    one, two = cursor(variables, clock, delay=0.0), cursor(variables, clock, delay=0.0)
    asyncio.run(one.open())
    asyncio.run(two.open())
    one.emitted(event(1))
    two.emitted(event(2))
    two.emitted(event(3, age_seconds=300))
    asyncio.run(one.commit())
    asyncio.run(two.commit())
    assert variables.ids(NAME) == ids(1, 2, 3)
    clock.now += 1.0
    one.emitted(event(4))
    asyncio.run(one.commit())
    assert variables.ids(NAME) == ids(1, 2, 3, 4)


def test_a_single_document_cursor_is_read_and_stored_again_as_shards() -> None:
    variables, clock = Variables(), Clock()
    now = time.time()
    variables.table[NAME] = json.dumps(
        {"version": 1, "window_seconds": 3600, "seen": {"message:m1:UNDELIVERED": now}}
    )
    c = cursor(variables, clock, delay=0.0)
    assert asyncio.run(c.open()) == 1
    assert c.new([event(1)]) == []
    asyncio.run(c.commit())
    assert variables.ids(NAME) == ids(1)


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


def test_ids_are_kept_as_short_digests() -> None:
    key = id_key("message:0b8f6a52-4c1e-4d3a-9f57-2e6d1c0a9b34:UNDELIVERED")
    assert len(key) == 16
    assert key == id_key("message:0b8f6a52-4c1e-4d3a-9f57-2e6d1c0a9b34:UNDELIVERED")
    assert key != id_key("message:0b8f6a52-4c1e-4d3a-9f57-2e6d1c0a9b34:DELIVERED")


def test_a_missing_cursor_is_confirmed_by_the_key_listing_before_starting_empty() -> None:
    """Airflow 3.3: "not found" for a cursor whose Variables are listed is a failed read."""
    variables, clock = Variables(), Clock()
    first = cursor(variables, clock, delay=0.0)
    asyncio.run(first.open())
    first.emitted(event(1))
    assert asyncio.run(first.commit()) == 1
    index = variables.table.pop(NAME)
    variables.failures["keys"] = 1
    with pytest.raises(RuntimeError):  # cannot list: not opened empty
        asyncio.run(cursor(variables, clock).open())
    # the index is gone but its bucket is stored (a first write cut short): its ids are read
    again = cursor(variables, clock, delay=0.0)
    assert asyncio.run(again.open()) == 1
    assert again.new([event(1)]) == []
    clock.now += 1.0
    asyncio.run(again.commit())
    assert json.loads(variables.table[NAME])["shards"] == json.loads(index)["shards"]  # listed again


def test_a_cursor_that_exists_but_reads_as_missing_is_not_opened() -> None:
    variables, clock = Variables(), Clock()
    variables.table[NAME] = '{"version":2,"bucket_seconds":10,"shards":[]}'
    store = variables.store(NAME)

    async def not_found(key: str) -> str | None:
        return None  # what Airflow's Variable.get answers for a failed read

    store.get = not_found  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="exists but was read as missing"):
        asyncio.run(EventCursor(store, 3600.0, clock=clock).open())


def test_without_a_key_listing_missing_takes_two_answers_seconds_apart() -> None:
    """Airflow 3.2: a cursor read as missing is opened empty only at a second "not found" >= 3 s later."""
    variables, clock = Variables(), Clock()
    variables.failures["unlisted"] = 1
    c = cursor(variables, clock)
    with pytest.raises(RuntimeError, match="asking again"):
        asyncio.run(c.open())
    clock.now += 1.0
    with pytest.raises(RuntimeError, match="asking again"):
        asyncio.run(c.open())
    clock.now += 2.0
    assert asyncio.run(c.open()) == 0


def test_a_listed_bucket_read_as_missing_is_not_overwritten_with_the_ids_in_memory() -> None:
    variables, clock = Variables(), Clock()
    first = cursor(variables, clock, delay=0.0)
    asyncio.run(first.open())
    first.emitted(event(1))
    asyncio.run(first.commit())
    (bucket,) = [k for k in variables.table if k != NAME]
    variables.failures["unlisted"] = 1
    reader = cursor(variables, clock, delay=0.0)
    asyncio.run(reader.open())
    stored = variables.table[bucket]
    original = reader.store.get

    async def flaky(key: str) -> str | None:
        return None if key == bucket else await original(key)

    reader.store.get = flaky  # type: ignore[method-assign]
    reader.emitted(event(2))
    clock.now += 1.0
    assert asyncio.run(reader.commit()) == 0  # read as missing: retried, not overwritten
    assert variables.table[bucket] == stored
    assert reader.pending == 1
    reader.store.get = original  # type: ignore[method-assign]
    clock.now += 1.0
    assert asyncio.run(reader.commit()) == 1
    assert variables.ids(NAME) == ids(1, 2)


def test_expired_buckets_another_copy_listed_are_unlisted_and_deleted() -> None:
    variables, clock = Variables(), Clock()
    now = time.time()
    c = EventCursor(variables.store(NAME), 600.0, 0.0, clock=clock, wall=lambda: now)
    asyncio.run(c.open())
    old = int(now - 2000) // 10 * 10  # another copy's bucket, long out of the window
    variables.table[f"{NAME}.{old}"] = '{"version":2,"seen":["x"]}'
    variables.table[NAME] = json.dumps({"version": 2, "bucket_seconds": 10, "shards": [old]})
    c.emitted(event(1))
    assert asyncio.run(c.commit()) == 1
    assert old not in json.loads(variables.table[NAME])["shards"]
    assert f"{NAME}.{old}" not in variables.table  # deleted, not left behind


def test_a_failing_delete_is_retried_with_a_growing_wait_without_rewriting_the_index() -> None:
    variables, clock = Variables(), Clock()
    wall = [time.time()]
    c = EventCursor(variables.store(NAME), 600.0, 0.0, clock=clock, wall=lambda: wall[0])
    asyncio.run(c.open())
    c.emitted(event(1, age_seconds=500))
    c.emitted(event(2))
    asyncio.run(c.commit())
    wall[0] += 200.0
    c.prune()
    variables.failures["delete"] = 3
    clock.now += 1.0
    asyncio.run(c.commit())  # the index is rewritten, the delete fails: retried in 1 s
    writes, seen = variables.writes, []
    for _ in range(8):
        clock.now += 1.0
        asyncio.run(c.commit())
        seen.append((variables.failures["delete"], len(variables.table)))
    # failed again at +1 s (next in 2 s) and +3 s (next in 4 s), deleted at +7 s
    assert seen == [(1, 3), (1, 3), (0, 3), (0, 3), (0, 3), (0, 3), (0, 2), (0, 2)]
    assert variables.writes == writes  # the index is not rewritten at each attempt
    assert c.next_commit_in() is None


def test_buckets_of_a_wider_width_are_filed_by_their_end_not_their_start() -> None:
    """A narrower width must not forget an old bucket's ids before its last fact leaves the window."""
    variables, clock = Variables(), Clock()
    now = time.time()
    start = int(now - 1000) // 100 * 100
    variables.table[f"{NAME}.{start}"] = json.dumps({"version": 2, "seen": sorted(ids(1))})
    variables.table[NAME] = json.dumps({"version": 2, "bucket_seconds": 100, "shards": [start]})
    c = EventCursor(variables.store(NAME), 3600.0, 0.0, clock=clock, wall=lambda: now)
    assert c.shards.width == 10
    asyncio.run(c.open())
    assert set(c.shards.buckets) == {start + 90}  # the last 10 s bucket the 100 s bucket covers
    clock.now += 1.0
    asyncio.run(c.commit())
    assert variables.shards(NAME) == {start + 90: ids(1)}


async def test_a_watcher_confirms_a_missing_cursor_a_few_seconds_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Airflow 3.2: a watcher with no cursor yet starts after a second look, not after a retry's wait."""
    variables = memory_variables(monkeypatch)
    variables.failures["unlisted"] = 1
    monkeypatch.setattr(event_triggers, "CONFIRM_MISSING_SECONDS", 0.2)
    monkeypatch.setattr(cursor_variables, "CONFIRM_MISSING_SECONDS", 0.2)
    trigger = TwinMessageEventTrigger(statuses=["UNDELIVERED"], created_within_seconds=60, poll_interval=60)
    cursor = EventCursor(variables.store(trigger.cursor_variable), trigger.window)
    started = time.monotonic()
    await asyncio.wait_for(trigger._open(cursor), 5)
    assert 0.2 <= time.monotonic() - started < 2  # not the 10 s wait of a failed read
