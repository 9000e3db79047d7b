"""When status webhooks fall due: the status changes of messages that carry a ``callbackUrl``.

Statuses are computed lazily from the clock (:mod:`.message_records`), so no code runs when a
message moves on. This schedule is the one place that knows *when* those moves happen: at creation
it records, for every segment holding a record with a ``callbackUrl``, the moments its records
change status, and :meth:`WebhookSchedule.due` hands out the changes whose moment has come, one
:class:`StatusChange` per record and change. The webhook sender (:mod:`.webhook_delivery`) sweeps
it periodically, so webhooks go out although nobody reads the messages.

The changes of a record, each one webhook (twin-api.md §3.2.7):

* ``DELAYED`` → ``PENDING`` at its scheduled start, when it waited for ``sendAt`` or a window;
* ``PENDING`` → its outcome (``DELIVERED``, ``UNDELIVERED``, ``ERROR``, ``EXPIRED``) at its final time;
* ``DELAYED``/``PENDING`` → ``CANCELLED`` when ``DELETE /messages`` cancels it.

Being accepted is not a change: a record starts ``PENDING`` (or ``DELAYED``) without a webhook. A
fallback attempt that a cancel dropped never exists and sends nothing. Not thread-safe; callers
hold the state lock.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

from .message_records import OUTCOME_NAMES, RecordTable, Segment
from .statuses import CANCELLED, DELAYED, PENDING, STATUS_CODES


class StatusChange:
    """One webhook to send: where, its JSON body, and what it reports."""

    __slots__ = ("body", "changed_at", "message_id", "new_status", "old_status", "url")

    def __init__(self, url: str, body: dict[str, Any], changed_at: float) -> None:
        self.url = url
        self.body = body
        self.changed_at = changed_at
        self.message_id: str = body["id"]
        self.old_status: str = body["oldStatus"]
        self.new_status: str = body["newStatus"]


def change_body(records: RecordTable, index: int, old: str, new: str) -> dict[str, Any]:
    """The webhook body of record ``index`` moving from ``old`` to ``new``, keys as twin-api.md §3.2.7.

    ``callbackData`` is the string the request gave, or ``null`` when it gave none (ASSUMPTION:
    TWIN's answer for a message without ``callbackData`` is not documented).
    """
    env = records.envs[index]
    return {
        "id": records.record_id(index),
        "bulkId": env.bulk_id,
        "groupId": env.group_id,
        "flowId": records.flow_id(index),
        "oldStatus": old,
        "newStatus": new,
        "oldStatusCode": STATUS_CODES[old],
        "newStatusCode": STATUS_CODES[new],
        "price": 0,
        "partCount": records.chans[index].part_count,
        "callbackData": env.callback_data,
    }


class _SegmentChange:
    """The records of one segment changing status at one moment; ``new`` None = each its outcome."""

    __slots__ = ("new", "old", "position", "seg")

    def __init__(self, seg: Segment, old: str, new: str | None) -> None:
        self.seg = seg
        self.old = old
        self.new = new
        self.position = 0

    def take(self, records: RecordTable, at: float, limit: int, out: list[StatusChange]) -> bool:
        """Append up to ``limit`` changes to ``out``; True once every record was handled."""
        seg, indexes, envs = self.seg, self.seg.indexes, records.envs
        taken = 0
        while self.position < len(indexes) and taken < limit:
            index = indexes[self.position]
            self.position += 1
            url = envs[index].callback_url
            if not url:
                continue
            if seg.touched and (index in records.cancelled or index in records.dropped):
                continue
            new = OUTCOME_NAMES[records.outcomes[index]] if self.new is None else self.new
            out.append(StatusChange(url, change_body(records, index, self.old, new), at))
            taken += 1
        return self.position >= len(indexes)


class _RecordChange:
    """One record changing status now (a cancel)."""

    __slots__ = ("index", "new", "old")

    def __init__(self, index: int, old: str, new: str) -> None:
        self.index = index
        self.old = old
        self.new = new

    def take(self, records: RecordTable, at: float, limit: int, out: list[StatusChange]) -> bool:
        url = records.envs[self.index].callback_url
        if url:
            out.append(StatusChange(url, change_body(records, self.index, self.old, self.new), at))
        return True


_Entry = _SegmentChange | _RecordChange


class WebhookSchedule:
    """Status changes of records with a ``callbackUrl``, in the order they fall due."""

    def __init__(self, records: RecordTable) -> None:
        self.records = records
        self._order = itertools.count()
        self._heap: list[tuple[float, int, _Entry]] = []
        #: Called after changes were added (the sender wakes up or starts).
        self.on_add: Callable[[], None] | None = None

    def __len__(self) -> int:
        """Entries waiting (a segment change counts once, whatever its number of records)."""
        return len(self._heap)

    def clear(self) -> None:
        self._heap = []

    def next_due(self) -> float | None:
        """When the earliest waiting change falls due, or None when nothing waits."""
        return self._heap[0][0] if self._heap else None

    def add_segments(self, segments: list[Segment]) -> None:
        """Schedule the changes of newly stored segments that hold a record with a ``callbackUrl``."""
        envs = self.records.envs
        added = False
        for seg in segments:
            if not any(envs[index].callback_url for index in seg.indexes):
                continue
            if seg.delayed:
                self._push(seg.start_at, _SegmentChange(seg, DELAYED, PENDING))
            self._push(seg.final_at, _SegmentChange(seg, PENDING, None))
            added = True
        if added:
            self._added()

    def add_cancel(self, index: int, old: str, at: float) -> None:
        """Schedule the webhook of record ``index`` cancelled at ``at`` (from ``old``)."""
        if self.records.envs[index].callback_url:
            self._push(at, _RecordChange(index, old, CANCELLED))
            self._added()

    def due(self, now: float, limit: int) -> list[StatusChange]:
        """Up to ``limit`` changes due by ``now``, oldest first; the rest stay for the next call."""
        out: list[StatusChange] = []
        heap = self._heap
        while heap and heap[0][0] <= now and len(out) < limit:
            at, _order, entry = heap[0]
            if entry.take(self.records, at, limit - len(out), out):
                heapq.heappop(heap)
        return out

    def _push(self, at: float, entry: _Entry) -> None:
        heapq.heappush(self._heap, (at, next(self._order), entry))

    def _added(self) -> None:
        if self.on_add is not None:
            self.on_add()


__all__ = ["StatusChange", "WebhookSchedule", "change_body"]
