"""The cursor of an event watcher, kept in an Airflow Variable so that it survives the triggerer.

A watcher (an ``AssetWatcher``'s trigger) reports each TWIN fact once: it remembers the ids of
the events it has handed to Airflow (:class:`~airflow_provider_twin.client.SeenEvents`) in the
Variable ``twin_events.<cursor_name>``, where ``cursor_name`` is the user's or a digest of the
connection id and the filter (:func:`cursor_variable`). Variables work in the triggerer on every
supported Airflow (3.2.0 and later): the trigger's request goes to the triggerer's supervisor
process, which writes the metadata database.

**The commit rule: nothing lost.** When the trigger yields an event, the triggerer only queues
it; its supervisor writes the asset event about a second later (the trigger runner hands over
its queue every second, the supervisor writes what it received at once). An id written to the
Variable at once could outlive an asset event lost in that queue by a hard kill, so an event
enters the *stored* cursor only ``commit_delay`` seconds (default 5) after it was yielded. In
memory it counts as seen at once, so a running watcher never repeats it. The price: after a
restart, events yielded in the last ``commit_delay`` seconds before the stop may be reported
once more, with the same ``event_id`` (consumers dedupe on it). A shorter ``commit_delay``
narrows that window; one shorter than the triggerer's hand-over (about 2 s) risks a loss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from airflow_provider_twin.client import SeenEvents, TwinEvent, TwinInputError

#: The prefix of every cursor Variable: ``twin_events.<cursor_name or digest>``.
VARIABLE_PREFIX = "twin_events."
#: Default seconds between yielding an event and storing its id (see the module doc).
DEFAULT_COMMIT_DELAY = 5.0
#: Fewest seconds between two writes of a cursor (a burst of events is stored in one write).
MIN_WRITE_INTERVAL = 1.0
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")

log = logging.getLogger(__name__)


def cursor_variable(cursor_name: str | None, twin_conn_id: str, source: str, flt: Mapping[str, Any]) -> str:
    """The Variable holding a watcher's cursor: ``twin_events.<cursor_name>``, or a digest.

    The digest (16 hex digits of SHA-256) covers the connection id, the source (``messages``,
    ``chat``) and the filter's JSON, so the same watcher finds its cursor after a restart or a
    DAG edit that leaves its filter alone, and a changed filter starts afresh.

    :raises TwinInputError: a ``cursor_name`` that is empty, too long or not made of letters,
        digits, ``_``, ``.`` and ``-``.
    """
    if cursor_name is not None:
        if not isinstance(cursor_name, str) or not _NAME.match(cursor_name):
            raise TwinInputError(
                f"cursor_name: expected 1-200 letters, digits, '_', '.' or '-', got {cursor_name!r}"
            )
        return VARIABLE_PREFIX + cursor_name
    identity = json.dumps([twin_conn_id, source, flt], sort_keys=True, separators=(",", ":"))
    return VARIABLE_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:16]


def check_commit_delay(commit_delay: Any) -> float:
    """``commit_delay`` as seconds, refusing a negative or non-numeric value (naming the field)."""
    if isinstance(commit_delay, bool) or not isinstance(commit_delay, (int, float)) or not commit_delay >= 0:
        raise TwinInputError(f"commit_delay: expected seconds >= 0, got {commit_delay!r}")
    return float(commit_delay)


class CursorStore(Protocol):
    """Where a cursor's JSON survives a restart."""

    name: str

    async def load(self) -> Mapping[str, Any] | None:
        """The stored JSON, or None when there is none yet."""

    async def save(self, data: Mapping[str, Any]) -> None:
        """Replace the stored JSON."""


class VariableCursorStore:
    """A cursor in the Airflow Variable ``name`` (compact JSON), read and written from a trigger.

    The Task SDK's ``Variable`` is synchronous; in the triggerer it talks to the supervisor,
    so it runs through ``asgiref``'s ``sync_to_async`` (one worker thread, the event loop free).
    """

    def __init__(self, name: str) -> None:
        self.name = name

    async def load(self) -> Mapping[str, Any] | None:
        from airflow.sdk import Variable  # noqa: PLC0415 - the triggerer's Task SDK
        from asgiref.sync import sync_to_async  # noqa: PLC0415

        text = await sync_to_async(Variable.get)(self.name, default=None)
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            log.warning("Variable %s does not hold a TWIN event cursor; starting afresh", self.name)
            return None
        return data if isinstance(data, Mapping) else None

    async def save(self, data: Mapping[str, Any]) -> None:
        from airflow.sdk import Variable  # noqa: PLC0415 - the triggerer's Task SDK
        from asgiref.sync import sync_to_async  # noqa: PLC0415

        text = json.dumps(data, separators=(",", ":"))
        description = "Cursor of a TWIN event watcher: ids of the events already reported (JSON)."
        await sync_to_async(Variable.set)(self.name, text, description)


class EventCursor:
    """A watcher's cursor: seen in memory at once, stored ``commit_delay`` seconds after yielding.

    :param store: where the cursor survives (a :class:`VariableCursorStore` in a triggerer).
    :param window_seconds: how long an id is remembered (see :class:`SeenEvents`).
    :param commit_delay: seconds between yielding an event and storing its id.
    :param clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        store: CursorStore,
        window_seconds: float,
        commit_delay: float = DEFAULT_COMMIT_DELAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.window_seconds = float(window_seconds)
        self.commit_delay = float(commit_delay)
        self._clock = clock
        self.seen = SeenEvents(self.window_seconds)
        self.stored = SeenEvents(self.window_seconds)
        self._pending: deque[tuple[float, TwinEvent]] = deque()
        self._last_write = float("-inf")
        self.writes = 0

    async def open(self) -> int:
        """Read the stored cursor; how many ids it holds.

        :raises Exception: whatever the store raises (the caller retries: starting without the
            stored cursor would report its events again).
        """
        data = await self.store.load()
        self.stored = SeenEvents.load(data, self.window_seconds)
        self.stored.prune()
        self.seen = SeenEvents.load(self.stored.dump(), self.window_seconds)
        return len(self.stored)

    def new(self, events: Iterable[TwinEvent]) -> list[TwinEvent]:
        """The events not reported yet (each id once), but none older than the window.

        A fact older than the window is not reported: once forgotten it would be reported again
        at every poll that lists it.
        """
        horizon = time.time() - self.window_seconds
        return [event for event in self.seen.new(events) if event.epoch >= horizon]

    def emitted(self, event: TwinEvent) -> None:
        """``event`` was yielded: seen now, stored once ``commit_delay`` has passed."""
        self.seen.mark([event])
        self._pending.append((self._clock() + self.commit_delay, event))

    @property
    def pending(self) -> int:
        """Events yielded but not stored yet."""
        return len(self._pending)

    def next_commit_in(self) -> float | None:
        """Seconds until the next :meth:`commit` has something to store (None: nothing pending)."""
        if not self._pending:
            return None
        due = max(self._pending[0][0], self._last_write + MIN_WRITE_INTERVAL)
        return max(0.0, due - self._clock())

    async def commit(self) -> int:
        """Store the ids whose delay has passed (one write); how many. A failed write is retried later."""
        now = self._clock()
        if not self._pending or self._pending[0][0] > now or now - self._last_write < MIN_WRITE_INTERVAL:
            return 0
        ripe: list[TwinEvent] = []
        while self._pending and self._pending[0][0] <= now:
            ripe.append(self._pending.popleft()[1])
        self.stored.mark(ripe)
        self.stored.prune()
        self._last_write = now
        try:
            await self.store.save(self.stored.dump())
        except Exception as exc:  # noqa: BLE001 - the ids stay pending; the next commit retries
            log.warning("Cannot store the TWIN event cursor %s (%s); retrying", self.store.name, exc)
            self._pending.extendleft((now, event) for event in reversed(ripe))
            return 0
        self.writes += 1
        return len(ripe)

    def prune(self) -> None:
        """Forget ids older than the window in memory (the stored cursor prunes on each write)."""
        self.seen.prune()


__all__ = [
    "DEFAULT_COMMIT_DELAY",
    "VARIABLE_PREFIX",
    "CursorStore",
    "EventCursor",
    "VariableCursorStore",
    "check_commit_delay",
    "cursor_variable",
]
