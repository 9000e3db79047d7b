"""Message records as columns: what a record is, its ids and its status at a given time.

Records are columns, not objects: record ``i`` is ``segs[i]`` (its :class:`Segment`), ``envs[i]`` (the
:class:`Envelope` of the message it came from), ``chans[i]``, ``dests[i]``, ``outcomes[i]`` (one byte)
and ``flows[i]``. No Python object is created per record, which keeps memory low and keeps the garbage
collector from rescanning millions of objects.

Statuses are computed lazily from the clock; nothing runs in the background. An attempt with the
scheduled start ``start`` reads ``DELAYED`` (waiting for ``sendAt`` or a send window) or ``PENDING``
before ``start``, ``PENDING`` until ``start + delivery_seconds`` and its final outcome afterwards.

Record and flow ids encode a counter (see :mod:`.ids`), so an id lookup is a list index.
"""

from __future__ import annotations

from array import array
from typing import Any

from .clock import iso
from .ids import IdGenerator
from .statuses import CANCELLED, DELAYED, DELIVERED, FINAL_OUTCOMES, PENDING
from .time_windows import Window
from .validation import BatchPlan, ChannelPlan, MessagePlan

#: Outcome names by their one-byte code in the outcome column.
OUTCOME_NAMES: tuple[str, ...] = FINAL_OUTCOMES
OUTCOME_CODES: dict[str, int] = {name: code for code, name in enumerate(OUTCOME_NAMES)}
DELIVERED_CODE = OUTCOME_CODES[DELIVERED]


class Envelope:
    """Fields shared by every record created from one element of ``messages[]``."""

    __slots__ = (
        "bulk_id",
        "callback_data",
        "callback_url",
        "company_id",
        "group_id",
        "send_at_iso",
        "task_id",
        "template_channels",
        "template_id",
        "windows",
    )

    def __init__(self, bulk_id: str, group_id: str, plan: BatchPlan, message: MessagePlan) -> None:
        self.bulk_id = bulk_id
        self.group_id = group_id
        self.task_id = plan.task_id
        self.company_id = plan.company_id
        self.template_id = message.template_id
        self.template_channels = message.template_channels
        self.send_at_iso = message.send_at_iso
        self.windows: list[Window] | None = message.windows
        self.callback_url = message.callback_url
        self.callback_data = message.callback_data


class Segment:
    """Records of one request and one ``groupId`` on one channel at one chain position, sharing
    their timing.

    ``visible_at`` is their ``createdAt``, ``start_at`` the scheduled send (``sentAt``), ``final_at``
    when the outcome is reached. ``touched`` counts records that were cancelled or dropped; while it
    is 0 every record of the segment has the same status before ``final_at``. ``uniform`` is the
    outcome code shared by all records, or -1 when they may differ.
    """

    __slots__ = (
        "_created_iso",
        "_final_iso",
        "_sent_iso",
        "bulk_id",
        "delayed",
        "final_at",
        "final_counts",
        "group_id",
        "indexes",
        "key",
        "level",
        "seq",
        "start_at",
        "task_id",
        "touched",
        "uniform",
        "upper",
        "visible_at",
    )

    def __init__(
        self,
        seq: int,
        key: str,
        *,
        bulk_id: str,
        task_id: str | None,
        group_id: str,
        level: int,
        visible_at: float,
        start_at: float,
        delivery_seconds: float,
        uniform: int,
    ) -> None:
        self.seq = seq
        self.bulk_id = bulk_id
        self.task_id = task_id
        self.group_id = group_id
        self.key = key
        self.upper = key.upper()
        self.level = level
        self.visible_at = visible_at
        self.start_at = start_at
        self.final_at = start_at + delivery_seconds
        self.delayed = start_at > visible_at
        self.indexes: array[int] = array("q")
        self.touched = 0
        self.uniform = uniform
        self.final_counts: dict[str, int] | None = None
        self._created_iso: str | None = None
        self._sent_iso: str | None = None
        self._final_iso: str | None = None

    @property
    def created_iso(self) -> str:
        if self._created_iso is None:
            self._created_iso = iso(self.visible_at)
        return self._created_iso

    @property
    def sent_iso(self) -> str:
        if self._sent_iso is None:
            self._sent_iso = iso(self.start_at)
        return self._sent_iso

    @property
    def final_iso(self) -> str:
        if self._final_iso is None:
            self._final_iso = iso(self.final_at)
        return self._final_iso

    def moving_status(self, now: float) -> str:
        """Status of an untouched record of this segment before ``final_at``."""
        return PENDING if (now >= self.start_at or not self.delayed) else DELAYED


class RecordTable:
    """Every message record, column by column, with its record and flow ids.

    Records are addressed by their index ``i`` (0-based since the last reset). Not thread-safe;
    callers hold the state lock.
    """

    def __init__(self) -> None:
        self.record_ids = IdGenerator()
        self.flow_ids = IdGenerator()
        self.record_base = 1
        self.flow_base = 1
        self._new_columns()

    def reset(self) -> None:
        """Forget every record. Id counters keep running so ids are never reused."""
        self.record_base += len(self.segs)
        self.flow_base += len(self.flow_first)
        self._new_columns()

    def _new_columns(self) -> None:
        self.segs: list[Segment] = []
        self.envs: list[Envelope] = []
        self.chans: list[ChannelPlan] = []
        self.dests: list[dict[str, Any]] = []
        self.outcomes = bytearray()
        self.flows: array[int] = array("q")
        #: Index of the first record of every flow, by flow index.
        self.flow_first: array[int] = array("q")
        self.cancelled: dict[int, float] = {}
        #: Fallback attempts that will never be made because an earlier attempt was cancelled.
        self.dropped: set[int] = set()

    # -- ids -----------------------------------------------------------------------------------------
    def record_id(self, index: int) -> str:
        return self.record_ids.format(self.record_base + index)

    def flow_id(self, index: int) -> str:
        return self.flow_ids.format(self.flow_base + self.flows[index])

    def find_record(self, record_id: str) -> int | None:
        """Index of the record with id ``record_id``, or None."""
        seq = self.record_ids.parse(record_id.lower())
        if seq is None:
            return None
        index = seq - self.record_base
        return index if 0 <= index < len(self.segs) else None

    def flow_records(self, flow_id: str) -> range:
        """Indexes of the records of flow ``flow_id`` (empty when unknown)."""
        seq = self.flow_ids.parse(flow_id.lower())
        if seq is None:
            return range(0)
        return self.flow_range(seq - self.flow_base)

    def flow_range(self, flow_index: int) -> range:
        """Indexes of the records of the flow with index ``flow_index``."""
        first = self.flow_first
        if not 0 <= flow_index < len(first):
            return range(0)
        end = first[flow_index + 1] if flow_index + 1 < len(first) else len(self.segs)
        return range(first[flow_index], end)

    # -- status --------------------------------------------------------------------------------------
    def status_at(self, index: int, now: float) -> str | None:
        """Status of record ``index`` at ``now``, or None while it is not visible (or never will be)."""
        seg = self.segs[index]
        if seg.visible_at > now:
            return None
        if seg.touched:
            if index in self.dropped:
                return None
            if index in self.cancelled:
                return CANCELLED
        if now >= seg.final_at:
            return OUTCOME_NAMES[self.outcomes[index]]
        return seg.moving_status(now)

    def phase_status(self, index: int, now: float) -> str:
        """Status of record ``index`` at ``now`` ignoring whether it is visible yet."""
        if index in self.cancelled:
            return CANCELLED
        seg = self.segs[index]
        if now >= seg.final_at:
            return OUTCOME_NAMES[self.outcomes[index]]
        return seg.moving_status(now)

    # -- cancel --------------------------------------------------------------------------------------
    def cancel(self, index: int, now: float) -> None:
        """Cancel record ``index`` and drop the fallback attempts of its flow that would follow it."""
        seg = self.segs[index]
        self.cancelled[index] = now
        seg.touched += 1
        for later in self.flow_range(self.flows[index]):
            later_seg = self.segs[later]
            if (
                later_seg.level > seg.level
                and not self.chans[later].required
                and later_seg.visible_at > now
                and later not in self.dropped
            ):
                self.dropped.add(later)
                later_seg.touched += 1
