"""Message records, their indexes and their status lifecycle.

Model
-----
A ``POST /messages`` request holds messages; each message has destinations and an ordered map of
channels. For every destination the emulator creates a *flow* (``flowId``) and, inside it, one
*record* per channel attempt (``id``):

* the first channel is attempted at once (or when ``sendAt``/``allowedTimeRanges`` allow);
* every channel marked ``"required": true`` is attempted in parallel with the first one
  (ASSUMPTION twin-api.md §7.7);
* when an attempt of the sequential chain does not end ``DELIVERED`` and another non-required channel
  follows, that channel is attempted from the moment the previous attempt finished (twin-api.md
  §3.2.5). Its record becomes visible in ``GET /messages`` only from that moment.

Statuses are computed lazily from the clock; nothing runs in the background. An attempt with the
scheduled start ``start`` reads ``DELAYED`` (waiting for ``sendAt`` or a send window) or ``PENDING``
before ``start``, ``PENDING`` until ``start + delivery_seconds`` and its final outcome afterwards. The
outcome is drawn when the record is created, which is why the whole fallback chain, with its timing,
can be laid out at creation time.

Speed and memory
----------------
Records are columns, not objects: record ``i`` is ``segment[i]``, ``envelope[i]`` (the message it
came from), ``channel[i]``, ``destination[i]``, ``outcome[i]`` (one byte) and ``flow[i]``. No Python
object is created per record, which keeps memory low and keeps the garbage collector from rescanning
millions of objects.

Records of one request that share ``groupId``, channel, chain position and timing form a
:class:`Segment`; a plain batch of any size is one segment. Indexes (all, per ``bulkId``, ``groupId``
and ``taskId``) are
:class:`Bucket` objects holding segments; a bucket folds the status counts of segments that reached
their final time into a running total, so counting messages by status in a bulk of 100k costs about
the number of segments still moving, not 100k. Segments never mix ``groupId`` values, so groups are
buckets too.
Record and flow ids encode a counter (see :mod:`.ids`), so an id lookup is a list index.
"""

from __future__ import annotations

import heapq
import json
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .clock import iso, iso_or_none
from .ids import IdGenerator
from .outcomes import OutcomePicker
from .statuses import (
    CANCELLED,
    DELAYED,
    DELIVERED,
    EXPIRED,
    FINAL_OUTCOMES,
    PENDING,
    STATUS_CODES,
    STATUS_DESCRIPTIONS,
)
from .time_windows import Window, next_allowed_start
from .validation import BatchPlan, ChannelPlan, MessagePlan

#: Outcome names by their one-byte code in the outcome column.
OUTCOME_NAMES: tuple[str, ...] = FINAL_OUTCOMES
OUTCOME_CODES: dict[str, int] = {name: code for code, name in enumerate(OUTCOME_NAMES)}
_DELIVERED_CODE = OUTCOME_CODES[DELIVERED]


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
        "template_id",
        "windows",
    )

    def __init__(self, bulk_id: str, group_id: str, plan: BatchPlan, message: MessagePlan) -> None:
        self.bulk_id = bulk_id
        self.group_id = group_id
        self.task_id = plan.task_id
        self.company_id = plan.company_id
        self.template_id = message.template_id
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
        batch: _Batch,
        key: str,
        *,
        group_id: str,
        level: int,
        visible_at: float,
        start_at: float,
        uniform: int,
    ) -> None:
        self.seq = seq
        self.bulk_id = batch.bulk_id
        self.task_id = batch.task_id
        self.group_id = group_id
        self.key = key
        self.upper = key.upper()
        self.level = level
        self.visible_at = visible_at
        self.start_at = start_at
        self.final_at = start_at + batch.delivery_seconds
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


_NO_OTHER_IDENTITY = (None, None, None, None, None)


def identity_key(dest: dict[str, Any]) -> object:
    """What identifies a recipient for duplicate detection (``variables`` are ignored).

    The phone string itself for phone-only destinations (the common case, and no extra memory),
    otherwise a tuple of every identity field. The two kinds of keys never compare equal.
    """
    get = dest.get
    others = (
        get("email"),
        get("clientId"),
        get("externalId"),
        get("messengerUserId"),
        get("pushRegistrationId"),
    )
    if others == _NO_OTHER_IDENTITY:
        phone: object = get("phone")
        return phone
    return (get("phone"), *others)


def _matching(counts: dict[str, int], statuses: frozenset[str] | None) -> int:
    if statuses is None:
        return sum(counts.values())
    return sum(n for status, n in counts.items() if status in statuses)


class Bucket:
    """Segments of one index key, with running totals of segments that reached their final time."""

    __slots__ = ("heap", "segments", "settled")

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.heap: list[tuple[float, int, Segment]] = []
        self.settled: dict[str, int] = {}

    def add(self, seg: Segment) -> None:
        self.segments.append(seg)
        heapq.heappush(self.heap, (seg.final_at, seg.seq, seg))


@dataclass
class MessageQuery:
    """Filters and paging of ``GET /messages`` (already parsed)."""

    ids: list[str] | None = None
    bulk_ids: list[str] | None = None
    group_ids: list[str] | None = None
    flow_ids: list[str] | None = None
    task_ids: list[str] | None = None
    statuses: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    created_from: float | None = None
    created_to: float | None = None
    limit: int = 20
    offset: int = 0
    without_items: bool = False
    without_count: bool = False

    @property
    def explicit(self) -> bool:
        """True when the query names records directly (message or flow ids)."""
        return self.ids is not None or self.flow_ids is not None


@dataclass
class CreateResult:
    """What one accepted ``POST /messages`` produced."""

    body: str
    bulk_id: str
    messages: int
    destinations: int
    records: int


SegmentFilter = Callable[[Segment], bool]


class _Batch:
    """Working state while one ``POST /messages`` request is stored."""

    __slots__ = (
        "bulk_id",
        "bulk_json",
        "delivery_seconds",
        "duplicate_destinations",
        "duplicate_pairs",
        "now",
        "out",
        "pairs",
        "picker",
        "segments",
        "task_id",
        "window_offset_seconds",
    )

    def __init__(
        self,
        *,
        bulk_id: str,
        task_id: str | None,
        pairs: dict[object, int],
        now: float,
        delivery_seconds: float,
        window_offset_seconds: int,
        picker: OutcomePicker,
    ) -> None:
        self.bulk_id = bulk_id
        self.bulk_json = json.dumps(bulk_id)
        self.task_id = task_id
        self.pairs = pairs
        self.now = now
        self.delivery_seconds = delivery_seconds
        self.window_offset_seconds = window_offset_seconds
        self.picker = picker
        self.out: list[str] = []
        self.segments: dict[tuple[str, int, str, float, float], Segment] = {}
        self.duplicate_pairs = 0
        self.duplicate_destinations = 0


class MessageStore:
    """All message records plus indexes. Not thread-safe; callers hold the state lock.

    Records are addressed by their index ``i`` (0-based since the last reset).
    """

    def __init__(self) -> None:
        self._record_ids = IdGenerator()
        self._flow_ids = IdGenerator()
        self._batch_ids = IdGenerator()
        self._next_record = 1
        self._next_flow = 1
        self._next_segment = 1
        self.reset()

    def reset(self) -> None:
        """Forget every record. Id counters keep running so ids are never reused."""
        self._record_base = self._next_record
        self._flow_base = self._next_flow
        self._segs: list[Segment] = []
        self._envs: list[Envelope] = []
        self._chans: list[ChannelPlan] = []
        self._dests: list[dict[str, Any]] = []
        self._outcomes = bytearray()
        self._flows: array[int] = array("q")
        self._flow_first: array[int] = array("q")
        self._cancelled: dict[int, float] = {}
        self._dropped: set[int] = set()
        self._all = Bucket()
        self._by_bulk: dict[str, Bucket] = {}
        self._by_task: dict[str, Bucket] = {}
        self._by_group: dict[str, Bucket] = {}
        self._pairs: dict[str, dict[object, int]] = {}
        self.messages_created = 0
        self.destinations_created = 0
        self.records_created = 0
        self.duplicate_pairs = 0
        self.duplicate_destinations = 0

    # -- record columns ------------------------------------------------------------------------------
    @property
    def total_records(self) -> int:
        return len(self._segs)

    def record_id(self, index: int) -> str:
        return self._record_ids.format(self._record_base + index)

    def flow_id(self, index: int) -> str:
        return self._flow_ids.format(self._flow_base + self._flows[index])

    def find_record(self, record_id: str) -> int | None:
        """Index of the record with id ``record_id``, or None."""
        seq = self._record_ids.parse(record_id.lower())
        if seq is None:
            return None
        index = seq - self._record_base
        return index if 0 <= index < len(self._segs) else None

    def flow_records(self, flow_id: str) -> range:
        """Indexes of the records of flow ``flow_id`` (empty when unknown)."""
        seq = self._flow_ids.parse(flow_id.lower())
        if seq is None:
            return range(0)
        return self._flow_range(seq - self._flow_base)

    def _flow_range(self, flow_index: int) -> range:
        first = self._flow_first
        if not 0 <= flow_index < len(first):
            return range(0)
        end = first[flow_index + 1] if flow_index + 1 < len(first) else len(self._segs)
        return range(first[flow_index], end)

    def status_at(self, index: int, now: float) -> str | None:
        """Status of record ``index`` at ``now``, or None while it is not visible (or never will be)."""
        seg = self._segs[index]
        if seg.visible_at > now:
            return None
        if seg.touched:
            if index in self._dropped:
                return None
            if index in self._cancelled:
                return CANCELLED
        if now >= seg.final_at:
            return OUTCOME_NAMES[self._outcomes[index]]
        if now >= seg.start_at or not seg.delayed:
            return PENDING
        return DELAYED

    def phase_status(self, index: int, now: float) -> str:
        """Status of record ``index`` at ``now`` ignoring whether it is visible yet."""
        if index in self._cancelled:
            return CANCELLED
        seg = self._segs[index]
        if now >= seg.final_at:
            return OUTCOME_NAMES[self._outcomes[index]]
        return seg.moving_status(now)

    # -- segment counts ------------------------------------------------------------------------------
    def segment_counts(self, seg: Segment, now: float) -> dict[str, int]:
        """Visible records of ``seg`` per status at ``now``."""
        if seg.visible_at > now:
            return {}
        if now >= seg.final_at:
            return self.settled_counts(seg)
        if seg.touched == 0:
            return {seg.moving_status(now): len(seg.indexes)}
        result: dict[str, int] = {}
        for index in seg.indexes:
            status = self.status_at(index, now)
            if status is not None:
                result[status] = result.get(status, 0) + 1
        return result

    def settled_counts(self, seg: Segment) -> dict[str, int]:
        """Final status counts of ``seg``; valid once ``final_at`` has passed (cached, never change)."""
        if seg.final_counts is None:
            if seg.touched == 0 and seg.uniform >= 0:
                seg.final_counts = {OUTCOME_NAMES[seg.uniform]: len(seg.indexes)}
            else:
                result: dict[str, int] = {}
                cancelled, dropped, outcomes = self._cancelled, self._dropped, self._outcomes
                for index in seg.indexes:
                    if index in dropped:
                        continue
                    status = CANCELLED if index in cancelled else OUTCOME_NAMES[outcomes[index]]
                    result[status] = result.get(status, 0) + 1
                seg.final_counts = result
        return seg.final_counts

    def bucket_count(self, bucket: Bucket, statuses: frozenset[str] | None, now: float) -> int:
        """Visible records of ``bucket`` whose status at ``now`` is in ``statuses`` (None = any)."""
        heap, settled = bucket.heap, bucket.settled
        while heap and heap[0][0] <= now:
            seg = heapq.heappop(heap)[2]
            for status, n in self.settled_counts(seg).items():
                settled[status] = settled.get(status, 0) + n
        total = _matching(settled, statuses)
        for _, _, seg in heap:
            total += _matching(self.segment_counts(seg, now), statuses)
        return total

    # -- create --------------------------------------------------------------------------------------
    def create(
        self,
        plan: BatchPlan,
        now: float,
        delivery_seconds: float,
        picker: OutcomePicker,
        window_offset_seconds: int = 0,
    ) -> CreateResult:
        """Store a validated batch and return the ``201`` response body (pre-serialised JSON array).

        One response item per destination for the first channel (ASSUMPTION twin-api.md §7.8).
        """
        bulk_id = plan.bulk_id or self._batch_ids.new()
        batch = _Batch(
            bulk_id=bulk_id,
            task_id=plan.task_id,
            pairs=self._pairs.setdefault(bulk_id, {}),
            now=now,
            delivery_seconds=delivery_seconds,
            window_offset_seconds=window_offset_seconds,
            picker=picker,
        )
        first_index = len(self._segs)
        self._create_messages(batch, plan)
        self._index_segments(batch)
        record_count = len(self._segs) - first_index
        self._next_record = self._record_base + len(self._segs)
        self._next_flow = self._flow_base + len(self._flow_first)
        self.messages_created += len(plan.messages)
        self.destinations_created += plan.destination_count
        self.records_created += record_count
        self.duplicate_pairs += batch.duplicate_pairs
        self.duplicate_destinations += batch.duplicate_destinations
        return CreateResult(
            body="[" + ",".join(batch.out) + "]",
            bulk_id=bulk_id,
            messages=len(plan.messages),
            destinations=plan.destination_count,
            records=record_count,
        )

    def _index_segments(self, batch: _Batch) -> None:
        segments = sorted(batch.segments.values(), key=lambda seg: seg.seq)
        bulk = self._bucket(self._by_bulk, batch.bulk_id)
        task = None if batch.task_id is None else self._bucket(self._by_task, batch.task_id)
        by_group = self._by_group
        for seg in segments:
            self._all.add(seg)
            bulk.add(seg)
            self._bucket(by_group, seg.group_id).add(seg)
            if task is not None:
                task.add(seg)

    @staticmethod
    def _bucket(index: dict[str, Bucket], key: str) -> Bucket:
        bucket = index.get(key)
        if bucket is None:
            bucket = index[key] = Bucket()
        return bucket

    def _segment(
        self, batch: _Batch, key: str, level: int, visible: float, start: float, *, group_id: str
    ) -> Segment:
        """The request's segment for this group, channel, chain position and timing (created on
        first use)."""
        lookup = (group_id, level, key, visible, start)
        seg = batch.segments.get(lookup)
        if seg is None:
            fixed = batch.picker.fixed
            seg = Segment(
                self._next_segment,
                batch,
                key,
                group_id=group_id,
                level=level,
                visible_at=visible,
                start_at=start,
                uniform=-1 if fixed is None else OUTCOME_CODES[fixed],
            )
            self._next_segment += 1
            batch.segments[lookup] = seg
        return seg

    def _create_messages(self, batch: _Batch, plan: BatchPlan) -> None:
        """Create the flows of every message of ``plan``.

        Plain messages (one channel, no ``sendAt``/windows, no drawn outcomes) take the inline hot path
        whose per-request setup is shared; the others go through :meth:`_create_general`.
        """
        now = batch.now
        fixed = batch.picker.fixed
        code = 0 if fixed is None else OUTCOME_CODES[fixed]
        segs, envs, chans, dests = self._segs, self._envs, self._chans, self._dests
        outcomes, flows, flow_first = self._outcomes, self._flows, self._flow_first
        record_id, flow_id, new_group = self._record_ids.format, self._flow_ids.format, self._batch_ids.new
        record_base, flow_base = self._record_base, self._flow_base
        pairs, out, bulk_id = batch.pairs, batch.out, batch.bulk_id
        head_start = f'","bulkId":{batch.bulk_json},"groupId":'
        tails: dict[str, str] = {}
        for message in plan.messages:
            group_id = message.group_id
            if group_id is None:
                group_id = new_group()
                head = f'{head_start}"{group_id}","flowId":"'
            else:
                head = f'{head_start}{json.dumps(group_id)},"flowId":"'
            env = Envelope(bulk_id, group_id, plan, message)
            channels = message.channels
            start_index = len(segs)
            if (
                fixed is None
                or len(channels) > 1
                or message.send_at is not None
                or message.windows is not None
            ):
                self._create_general(batch, env, message, head=head)
                continue
            first = channels[0]
            seg0 = self._segment(batch, first.key, 0, now, now, group_id=group_id)
            seg_indexes = seg0.indexes
            tail = tails.get(first.upper)
            if tail is None:
                tail = tails[first.upper] = f'","status":"{PENDING}","channel":"{first.upper}","error":null}}'
            index, flow = start_index, len(flow_first)
            for dest in message.destinations:
                flow_first.append(index)
                segs.append(seg0)
                envs.append(env)
                chans.append(first)
                dests.append(dest)
                outcomes.append(code)
                flows.append(flow)
                seg_indexes.append(index)
                out.append(f'{{"id":"{record_id(record_base + index)}{head}{flow_id(flow_base + flow)}{tail}')
                key = identity_key(dest)
                seen = pairs.get(key, 0)
                pairs[key] = seen + 1
                if seen:
                    batch.duplicate_destinations += 1
                    batch.duplicate_pairs += seen == 1
                index += 1
                flow += 1

    def _create_general(self, batch: _Batch, env: Envelope, message: MessagePlan, *, head: str) -> None:
        """Flows with a send time, windows, required or fallback channels, or drawn outcomes."""
        now = batch.now
        if message.send_at is None and message.windows is None:
            start = now
        else:
            earliest = now if message.send_at is None or message.send_at < now else message.send_at
            start = next_allowed_start(earliest, message.windows, batch.window_offset_seconds)
        first, *others = message.channels
        seg0 = self._segment(batch, first.key, 0, now, start, group_id=env.group_id)
        tail = f'","status":"{seg0.moving_status(now)}","channel":"{first.upper}","error":null}}'
        parallel = [channel for channel in others if channel.required]
        chain = [channel for channel in others if not channel.required]
        picker = batch.picker
        for dest in message.destinations:
            flow = len(self._flow_first)
            index = len(self._segs)
            self._flow_first.append(index)
            batch.out.append(
                f'{{"id":"{self._record_ids.format(self._record_base + index)}{head}'
                f"{self._flow_ids.format(self._flow_base + flow)}{tail}"
            )
            code = self._append_record(seg0, env, first, dest, flow=flow, picker=picker)
            for channel in parallel:
                seg = self._segment(
                    batch, channel.key, 0, seg0.visible_at, seg0.start_at, group_id=env.group_id
                )
                self._append_record(seg, env, channel, dest, flow=flow, picker=picker)
            previous = seg0
            for level, channel in enumerate(chain, start=1):
                if code == _DELIVERED_CODE:
                    break
                visible = previous.final_at
                start = next_allowed_start(visible, env.windows, batch.window_offset_seconds)
                previous = self._segment(batch, channel.key, level, visible, start, group_id=env.group_id)
                code = self._append_record(previous, env, channel, dest, flow=flow, picker=picker)
            self._count_pair(batch, dest)

    def _append_record(
        self,
        seg: Segment,
        env: Envelope,
        channel: ChannelPlan,
        dest: dict[str, Any],
        *,
        flow: int,
        picker: OutcomePicker,
    ) -> int:
        """Append one record to the columns; returns its outcome code."""
        fixed = picker.fixed
        code = OUTCOME_CODES[fixed if fixed is not None else picker.pick(channel.key, dest)]
        seg.indexes.append(len(self._segs))
        self._segs.append(seg)
        self._envs.append(env)
        self._chans.append(channel)
        self._dests.append(dest)
        self._outcomes.append(code)
        self._flows.append(flow)
        return code

    @staticmethod
    def _count_pair(batch: _Batch, dest: dict[str, Any]) -> None:
        """Track (bulkId, destination identity) pairs created more than once."""
        key = identity_key(dest)
        seen = batch.pairs.get(key, 0)
        batch.pairs[key] = seen + 1
        if seen:
            batch.duplicate_destinations += 1
            batch.duplicate_pairs += seen == 1

    # -- query ---------------------------------------------------------------------------------------
    def query(self, q: MessageQuery, now: float) -> tuple[int | None, list[dict[str, Any]] | None]:
        """Run a ``GET /messages`` query; returns ``(count or None, items or None)``."""
        if q.explicit:
            return self._query_explicit(q, now)
        sources, seg_filter = self._plan_scan(q)
        count: int | None = None
        if not q.without_count:
            count = 0
            for bucket in sources:
                if seg_filter is None:
                    count += self.bucket_count(bucket, q.statuses, now)
                else:
                    count += sum(
                        _matching(self.segment_counts(seg, now), q.statuses)
                        for seg in bucket.segments
                        if seg_filter(seg)
                    )
        items = None if q.without_items else self._page(sources, seg_filter, q, now)
        return count, items

    def _page(
        self, sources: list[Bucket], seg_filter: SegmentFilter | None, q: MessageQuery, now: float
    ) -> list[dict[str, Any]]:
        """One page of items; whole segments are skipped by their counts while paging forward."""
        items: list[dict[str, Any]] = []
        skip = q.offset
        statuses = q.statuses
        for seg in self._segments(sources):
            if seg_filter is not None and not seg_filter(seg):
                continue
            matching = _matching(self.segment_counts(seg, now), statuses)
            if matching <= skip:
                skip -= matching
                continue
            for index in seg.indexes:
                status = self.status_at(index, now)
                if status is None or (statuses is not None and status not in statuses):
                    continue
                if skip:
                    skip -= 1
                    continue
                items.append(self.render(index, now, status))
                if len(items) >= q.limit:
                    return items
        return items

    def _query_explicit(self, q: MessageQuery, now: float) -> tuple[int | None, list[dict[str, Any]] | None]:
        """Queries naming ``id`` or ``flowId`` values: walk those records directly."""
        statuses = q.statuses
        matched: list[tuple[int, str]] = []
        for index in self._explicit_records(q):
            status = self.status_at(index, now)
            if status is not None and (statuses is None or status in statuses):
                matched.append((index, status))
        count = None if q.without_count else len(matched)
        if q.without_items:
            return count, None
        page = matched[q.offset : q.offset + q.limit]
        return count, [self.render(index, now, status) for index, status in page]

    def _explicit_records(self, q: MessageQuery) -> list[int]:
        """Records named by ids or flows (the first of these given), filtered by the rest of ``q``."""
        source: Iterable[int]
        if q.ids is not None:
            source = (index for index in map(self.find_record, q.ids) if index is not None)
        else:
            source = (index for flow_id in q.flow_ids or () for index in self.flow_records(flow_id))
        seg_filter = _segment_predicate(q)
        flows = None if q.flow_ids is None else {flow_id.lower() for flow_id in q.flow_ids}
        found: list[int] = []
        seen: set[int] = set()
        for index in source:
            if index in seen:
                continue
            seen.add(index)
            if not seg_filter(self._segs[index]):
                continue
            if flows is not None and self.flow_id(index) not in flows:
                continue
            found.append(index)
        return found

    def _plan_scan(self, q: MessageQuery) -> tuple[list[Bucket], SegmentFilter | None]:
        """Buckets to scan for a query without ids/flows, and a filter for the other criteria."""
        if q.group_ids is not None:
            sources = [self._by_group[k] for k in dict.fromkeys(q.group_ids) if k in self._by_group]
            used = "group"
        elif q.bulk_ids is not None:
            sources = [self._by_bulk[k] for k in dict.fromkeys(q.bulk_ids) if k in self._by_bulk]
            used = "bulk"
        elif q.task_ids is not None:
            sources = [self._by_task[k] for k in dict.fromkeys(q.task_ids) if k in self._by_task]
            used = "task"
        else:
            sources = [self._all]
            used = "all"
        needs_filter = (
            (q.bulk_ids is not None and used != "bulk")
            or (q.task_ids is not None and used != "task")
            or q.channels is not None
            or q.created_from is not None
            or q.created_to is not None
        )
        return sources, (_segment_predicate(q, skip=used) if needs_filter else None)

    @staticmethod
    def _segments(sources: list[Bucket]) -> Iterator[Segment]:
        if len(sources) == 1:
            return iter(sources[0].segments)
        return heapq.merge(*(bucket.segments for bucket in sources), key=lambda seg: seg.seq)

    def _candidates(self, q: MessageQuery) -> Iterable[int]:
        """Record indexes matching every criterion of ``q`` except status and paging."""
        if q.explicit:
            return self._explicit_records(q)
        sources, seg_filter = self._plan_scan(q)
        return (
            index
            for seg in self._segments(sources)
            if seg_filter is None or seg_filter(seg)
            for index in seg.indexes
        )

    # -- rendering -----------------------------------------------------------------------------------
    def render(self, index: int, now: float, status: str | None = None) -> dict[str, Any]:
        """Render record ``index`` as a MessageListItem (twin-api.md §3.3)."""
        if status is None:
            status = self.phase_status(index, now)
        seg = self._segs[index]
        env = self._envs[index]
        channel = self._chans[index]
        dest = self._dests[index]
        cancelled_at = self._cancelled.get(index) if seg.touched else None
        sent = now >= seg.start_at and (cancelled_at is None or cancelled_at >= seg.start_at)
        final = now >= seg.final_at and cancelled_at is None
        variables = dest.get("variables")
        return {
            "id": self._record_ids.format(self._record_base + index),
            "bulkId": env.bulk_id,
            "groupId": env.group_id,
            "flowId": self._flow_ids.format(self._flow_base + self._flows[index]),
            "status": status,
            "statusCode": STATUS_CODES[status],
            "statusDescription": STATUS_DESCRIPTIONS[status],
            "partCount": channel.part_count,
            "network": None,
            "channel": channel.upper,
            "templateId": env.template_id,
            "templateName": channel.template_name,
            "destination": dest,
            "message": channel.obj,
            "templateVariables": variables if isinstance(variables, dict) else None,
            "tracks": {},
            "createdAt": seg.created_iso,
            "sentAt": seg.sent_iso if sent else None,
            "deliveredAt": seg.final_iso if final and status == DELIVERED else None,
            "sendAt": env.send_at_iso,
            "expiredAt": seg.final_iso if final and status == EXPIRED else None,
        }

    def render_internal(self, index: int, now: float) -> dict[str, Any]:
        """A record with the emulator's bookkeeping (for ``GET /_emulator/messages``)."""
        item = self.render(index, now)
        seg, env = self._segs[index], self._envs[index]
        item.update(
            {
                "taskId": env.task_id,
                "companyId": env.company_id,
                "callbackUrl": env.callback_url,
                "callbackData": env.callback_data,
                "visible": self.status_at(index, now) is not None,
                "dropped": index in self._dropped,
                "attempt": seg.level,
                "required": self._chans[index].required,
                "scheduledAt": seg.sent_iso,
                "finalAt": seg.final_iso,
                "outcome": OUTCOME_NAMES[self._outcomes[index]],
                "cancelledAt": iso_or_none(self._cancelled.get(index)),
            }
        )
        return item

    def cancel_item(self, index: int, status: str) -> dict[str, Any]:
        """An item of the ``DELETE /messages`` response (twin-api.md §3.4)."""
        env = self._envs[index]
        return {
            "id": self._record_ids.format(self._record_base + index),
            "bulkId": env.bulk_id,
            "groupId": env.group_id,
            "flowId": self._flow_ids.format(self._flow_base + self._flows[index]),
            "status": status,
            "channel": self._chans[index].upper,
            "error": None,
        }

    # -- cancel --------------------------------------------------------------------------------------
    def cancel(
        self,
        *,
        ids: list[str] | None,
        bulk_ids: list[str] | None,
        group_ids: list[str] | None,
        flow_ids: list[str] | None,
        now: float,
    ) -> list[dict[str, Any]]:
        """Cancel matching records that were not sent yet (ASSUMPTION twin-api.md §7.2).

        Criteria combine with AND; values inside one criterion with OR. Records already sent or final
        come back unchanged. Cancelling an attempt also stops the fallback attempts that would follow it.
        """
        q = MessageQuery(ids=ids, bulk_ids=bulk_ids, group_ids=group_ids, flow_ids=flow_ids)
        result: list[dict[str, Any]] = []
        for index in list(self._candidates(q)):
            status = self.status_at(index, now)
            if status is None:
                continue
            if status in (DELAYED, PENDING) and now < self._segs[index].start_at:
                self._cancel(index, now)
                status = CANCELLED
            result.append(self.cancel_item(index, status))
        return result

    def _cancel(self, index: int, now: float) -> None:
        seg = self._segs[index]
        self._cancelled[index] = now
        seg.touched += 1
        for later in self._flow_range(self._flows[index]):
            later_seg = self._segs[later]
            if (
                later_seg.level > seg.level
                and not self._chans[later].required
                and later_seg.visible_at > now
                and later not in self._dropped
            ):
                self._dropped.add(later)
                later_seg.touched += 1

    # -- admin dump ----------------------------------------------------------------------------------
    def dump(
        self,
        now: float,
        *,
        bulk_ids: list[str] | None = None,
        group_ids: list[str] | None = None,
        flow_ids: list[str] | None = None,
        statuses: frozenset[str] | None = None,
        channels: frozenset[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[int, list[dict[str, Any]]]:
        """Every record, including attempts not visible yet, with internal fields."""
        q = MessageQuery(bulk_ids=bulk_ids, group_ids=group_ids, flow_ids=flow_ids, channels=channels)
        count = 0
        items: list[dict[str, Any]] = []
        for index in self._candidates(q):
            if statuses is not None and self.phase_status(index, now) not in statuses:
                continue
            if offset <= count < offset + limit:
                items.append(self.render_internal(index, now))
            count += 1
        return count, items


def _segment_predicate(q: MessageQuery, skip: str | None = None) -> SegmentFilter:
    """A filter on the segment-level criteria of ``q``; ``skip`` names an index already applied."""
    bulk = set(q.bulk_ids) if q.bulk_ids is not None and skip != "bulk" else None
    group = set(q.group_ids) if q.group_ids is not None and skip != "group" else None
    task = set(q.task_ids) if q.task_ids is not None and skip != "task" else None
    channels = q.channels
    low, high = q.created_from, q.created_to

    def predicate(seg: Segment) -> bool:
        if bulk is not None and seg.bulk_id not in bulk:
            return False
        if group is not None and seg.group_id not in group:
            return False
        if task is not None and seg.task_id not in task:
            return False
        if channels is not None and seg.upper not in channels:
            return False
        if low is not None and seg.visible_at < low:
            return False
        return not (high is not None and seg.visible_at > high)

    return predicate
