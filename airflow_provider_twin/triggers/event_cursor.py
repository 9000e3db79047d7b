"""The cursor of an event watcher, kept in Airflow Variables so that it survives the triggerer.

A watcher (an ``AssetWatcher``'s trigger) reports each TWIN fact once: it remembers the ids of
the events it has handed to Airflow, for its window, in the Variable
``twin_events.<cursor_name>`` (an index) and ``twin_events.<cursor_name>.<bucket start>`` (the
ids of one time bucket, :mod:`.cursor_shards`), where ``cursor_name`` is the user's or a digest
of the connection id and the filter (:func:`cursor_variable`). The trigger asks the triggerer's
supervisor to read and write them (:mod:`.cursor_variables`), on every supported Airflow.

**The commit rule: nothing lost.** When the trigger yields an event, the triggerer only queues
it; its supervisor writes the asset event about a second later. An id written at once could
outlive an asset event lost in that queue by a hard kill, so an event enters the *stored*
cursor only ``commit_delay`` seconds (default 5) after it was yielded, and only once Airflow
confirmed the write (a failed write is retried, the ids stay pending). In memory it counts as
seen at once, so a running watcher never repeats it. The price: after a restart, events yielded
in the last ``commit_delay`` seconds before the stop may be reported once more, with the same
``event_id`` (consumers dedupe on it). A ``commit_delay`` shorter than the triggerer's
hand-over (about 2 s) risks a loss. A cursor that cannot be read is never taken for an empty
one: the watcher waits until it can read it, and believes a "not found" (of the cursor, or of
a bucket its index lists) only once confirmed (:class:`.cursor_variables.MissingVariables`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping

from airflow_provider_twin.client import TwinEvent
from airflow_provider_twin.triggers.cursor_settings import DEFAULT_COMMIT_DELAY
from airflow_provider_twin.triggers.cursor_shards import (
    CursorShards,
    decode_index,
    decode_shard,
    encode_index,
    id_key,
    index_width,
    merged_shard,
    shard_key,
    unlisted_starts,
)
from airflow_provider_twin.triggers.cursor_variables import CursorStore, MissingVariables, VariableCursorStore

#: Fewest seconds between two writes of a cursor (a burst of events is stored in one write).
MIN_WRITE_INTERVAL = 1.0
#: Longest wait before retrying the deletion of buckets that left the window (doubled per failure).
MAX_DELETE_WAIT = 300.0

log = logging.getLogger(__name__)


class EventCursor:
    """A watcher's cursor: seen in memory at once, stored ``commit_delay`` seconds after yielding.

    Stored as shards by the time of each fact (:mod:`.cursor_shards`): the Variable
    ``store.name`` lists the buckets, ``<store.name>.<bucket start>`` holds a bucket's ids. A write
    stores the buckets that changed, read first and merged with what is stored (so two copies of a
    watcher add up instead of overwriting each other), then the index if the buckets changed, and
    deletes the buckets that left the window. Decoding and encoding run in a worker thread.

    :param store: where the cursor survives (a :class:`VariableCursorStore` in a triggerer).
    :param window_seconds: how long an id is remembered, by the time of its fact.
    :param commit_delay: seconds between yielding an event and storing its id.
    :param clock: monotonic seconds (tests pass their own).
    :param wall: epoch seconds, for the window (tests pass their own).
    """

    def __init__(
        self,
        store: CursorStore,
        window_seconds: float,
        commit_delay: float = DEFAULT_COMMIT_DELAY,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.window_seconds = float(window_seconds)
        self.commit_delay = float(commit_delay)
        self._clock, self._wall = clock, wall
        self.shards = CursorShards(self.window_seconds)
        self._pending: deque[tuple[float, TwinEvent]] = deque()
        self._pending_ids: set[str] = set()
        self._dirty: set[int] = set()  # buckets to write again (changed on open)
        self._gone: set[int] = set()  # buckets that left the window, to delete
        self._unlisted: set[int] = set()  # buckets of _gone the stored index no longer lists
        self._delete_at, self._delete_wait = float("-inf"), MIN_WRITE_INTERVAL
        self._index_stale = False
        self._listed: set[int] = set()  # buckets known to be stored
        self._missing = MissingVariables(store, clock)
        self._last_write = float("-inf")
        self.writes = 0

    async def open(self) -> int:
        """Read the stored cursor; how many ids it holds.

        :raises Exception: whatever the store raises (the caller retries: starting without the
            stored cursor would report its events again). Only a missing index means "none".
        """
        name = self.store.name
        text = await self.store.get(name)
        if text is None:
            single: dict[str, float] = {}
            starts, orphans = unlisted_starts(name, await self._missing.confirm(name)), True
        else:
            (starts, single), orphans = decode_index(text), False
        width = index_width(text, self.shards.width)
        for start in starts:
            key = shard_key(name, start)
            stored = await self.store.get(key)
            if stored is None:
                await self._missing.confirm(key)
                continue
            self._missing.found(key)
            ids = await asyncio.to_thread(decode_shard, stored)
            ours = self.shards.start_of(start + width - 1)  # the last of ours it overlaps
            self.shards.add(ours, ids)
            self._listed.add(start)
            if ours != start:  # a different bucket width: store again in ours
                self._gone.add(start)
                self._dirty.add(ours)
        for event_id, epoch in single.items():  # a cursor of one document: store it as shards
            self.shards.add(self.shards.start_of(epoch), [id_key(event_id)])
        if single:
            self._dirty.update(self.shards.buckets)
        self._index_stale = bool(self._dirty) or (orphans and bool(self._listed))
        self.prune()
        return len(self.shards)

    def new(self, events: Iterable[TwinEvent]) -> list[TwinEvent]:
        """The events not reported yet (each id once), but none older than the window.

        A fact older than the window is not reported: once forgotten it would be reported again
        at every poll that lists it.
        """
        horizon = self._wall() - self.window_seconds
        fresh: dict[str, TwinEvent] = {}
        for event in events:
            key = id_key(event.event_id)
            if key in self.shards or key in self._pending_ids or key in fresh:
                continue
            if event.epoch >= horizon:
                fresh[key] = event
        return list(fresh.values())

    def emitted(self, event: TwinEvent) -> None:
        """``event`` was yielded: seen now, stored once ``commit_delay`` has passed."""
        self._pending_ids.add(id_key(event.event_id))
        self._pending.append((self._clock() + self.commit_delay, event))

    @property
    def pending(self) -> int:
        """Events yielded but not stored yet."""
        return len(self._pending)

    def _has_work(self) -> bool:
        deletable = bool(self._gone) and self._clock() >= self._delete_at
        return bool(self._dirty or self._index_stale or self._gone - self._unlisted or deletable)

    def next_commit_in(self) -> float | None:
        """Seconds until the next :meth:`commit` has something to store (None: nothing to do)."""
        if not self._pending and not self._has_work():
            return None
        due = self._last_write + MIN_WRITE_INTERVAL
        if self._pending and not self._has_work():
            due = max(due, self._pending[0][0])
        return max(0.0, due - self._clock())

    async def commit(self) -> int:
        """Store the ids whose delay has passed; how many. A failed write keeps them pending."""
        now = self._clock()
        if now - self._last_write < MIN_WRITE_INTERVAL:
            return 0
        ripe: list[tuple[float, TwinEvent]] = []
        while self._pending and self._pending[0][0] <= now:
            ripe.append(self._pending.popleft())
        if not ripe and not self._has_work():
            return 0
        self._last_write = now
        fresh: dict[int, list[str]] = {}
        for _, event in ripe:
            fresh.setdefault(self.shards.start_of(event.epoch), []).append(id_key(event.event_id))
        try:
            await self._write(fresh)
        except Exception as exc:  # noqa: BLE001 - the ids stay pending; the next commit retries
            log.warning("Cannot store the TWIN event cursor %s (%s); retrying", self.store.name, exc)
            self._pending.extendleft(reversed(ripe))
            return 0
        self._pending_ids.difference_update(id_key(event.event_id) for _, event in ripe)
        self.writes += 1
        return len(ripe)

    async def _write(self, fresh: Mapping[int, list[str]]) -> None:
        name = self.store.name
        for start in sorted(set(fresh) | self._dirty):
            key = shard_key(name, start)
            stored, held = await self.store.get(key), self.shards.buckets.get(start, set())
            if stored is None and start in self._listed:  # never overwrite it with our ids alone
                await self._missing.confirm(key)
            self._missing.found(key)
            ids, text = await asyncio.to_thread(merged_shard, stored, held, fresh.get(start, ()))
            await self.store.put(key, text)
            self._index_stale |= start not in self.shards.buckets
            self.shards.add(start, ids)
            self._listed.add(start)
            self._dirty.discard(start)
        if self._index_stale or self._gone - self._unlisted:
            index = await self.store.get(name)  # another copy's buckets stay listed
            theirs, width = decode_index(index)[0], index_width(index, self.shards.width)
            horizon = self._wall() - self.window_seconds
            self._gone.update(s for s in theirs if s + width < horizon)  # theirs to delete too
            self._listed.update(s for s in theirs if s not in self._gone)
            keep = {s for s in theirs if s not in self._gone}
            await self.store.put(name, encode_index(self.shards.width, keep | set(self.shards.buckets)))
            self._index_stale, self._unlisted = False, set(self._gone)
        if self._gone and self._clock() >= self._delete_at:
            await self._delete_gone()

    async def _delete_gone(self) -> None:
        """Delete the unlisted buckets; after a failure wait longer before the next attempt."""
        for start in sorted(self._gone):
            key = shard_key(self.store.name, start)
            try:
                await self.store.delete(key)
            except Exception as exc:  # noqa: BLE001 - unlisted already; deleted at a later write
                log.info("Cannot delete %s yet (%s); retrying in %.0f s", key, exc, self._delete_wait)
                self._delete_at = self._clock() + self._delete_wait
                self._delete_wait = min(self._delete_wait * 2, MAX_DELETE_WAIT)
                return
            self._gone.discard(start)
            self._unlisted.discard(start)
            self._listed.discard(start)
        self._delete_wait = MIN_WRITE_INTERVAL

    def prune(self) -> None:
        """Forget the buckets that left the window; the next write deletes their Variables."""
        for start in self.shards.expired(self._wall()):
            self._gone.add(start)
            self._dirty.discard(start)


__all__ = ["DEFAULT_COMMIT_DELAY", "CursorStore", "EventCursor", "VariableCursorStore"]
