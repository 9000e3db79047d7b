"""``GET /messages`` queries: their filters, the segment indexes that answer them, counting and paging.

The indexes hold segments rather than records, so a count or a page costs about the number of
segments involved, not the number of records.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .message_records import RecordTable, Segment
from .message_rendering import render_item
from .status_counts import Bucket, bucket_count, matching, segment_counts


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


SegmentFilter = Callable[[Segment], bool]


class MessageIndexes:
    """Segments of every record, per ``bulkId``, ``groupId`` and ``taskId``, and the queries over them.

    Not thread-safe; callers hold the state lock.
    """

    def __init__(self, records: RecordTable) -> None:
        self.records = records
        self.reset()

    def reset(self) -> None:
        """Forget every segment."""
        self._all = Bucket()
        self._by_bulk: dict[str, Bucket] = {}
        self._by_task: dict[str, Bucket] = {}
        self._by_group: dict[str, Bucket] = {}

    def add(self, bulk_id: str, task_id: str | None, segments: Iterable[Segment]) -> None:
        """Index the segments one request created."""
        bulk = _bucket(self._by_bulk, bulk_id)
        task = None if task_id is None else _bucket(self._by_task, task_id)
        by_group = self._by_group
        for seg in segments:
            self._all.add(seg)
            bulk.add(seg)
            _bucket(by_group, seg.group_id).add(seg)
            if task is not None:
                task.add(seg)

    # -- GET /messages -------------------------------------------------------------------------------
    def query(self, q: MessageQuery, now: float) -> tuple[int | None, list[dict[str, Any]] | None]:
        """Run a ``GET /messages`` query; returns ``(count or None, items or None)``."""
        if q.explicit:
            return self._query_explicit(q, now)
        records = self.records
        sources, seg_filter = self._plan_scan(q)
        count: int | None = None
        if not q.without_count:
            count = 0
            for bucket in sources:
                if seg_filter is None:
                    count += bucket_count(records, bucket, q.statuses, now)
                else:
                    count += sum(
                        matching(segment_counts(records, seg, now), q.statuses)
                        for seg in bucket.segments
                        if seg_filter(seg)
                    )
        items = None if q.without_items else self._page(sources, seg_filter, q, now)
        return count, items

    def candidates(self, q: MessageQuery) -> Iterable[int]:
        """Record indexes matching every criterion of ``q`` except status and paging."""
        if q.explicit:
            return self._explicit_records(q)
        sources, seg_filter = self._plan_scan(q)
        return (
            index
            for seg in _segments(sources)
            if seg_filter is None or seg_filter(seg)
            for index in seg.indexes
        )

    def _page(
        self, sources: list[Bucket], seg_filter: SegmentFilter | None, q: MessageQuery, now: float
    ) -> list[dict[str, Any]]:
        """One page of items; whole segments are skipped by their counts while paging forward."""
        records = self.records
        status_at = records.status_at
        items: list[dict[str, Any]] = []
        skip = q.offset
        statuses = q.statuses
        for seg in _segments(sources):
            if seg_filter is not None and not seg_filter(seg):
                continue
            count = matching(segment_counts(records, seg, now), statuses)
            if count <= skip:
                skip -= count
                continue
            for index in seg.indexes:
                status = status_at(index, now)
                if status is None or (statuses is not None and status not in statuses):
                    continue
                if skip:
                    skip -= 1
                    continue
                items.append(render_item(records, index, now, status))
                if len(items) >= q.limit:
                    return items
        return items

    def _query_explicit(self, q: MessageQuery, now: float) -> tuple[int | None, list[dict[str, Any]] | None]:
        """Queries naming ``id`` or ``flowId`` values: walk those records directly."""
        records = self.records
        statuses = q.statuses
        matched: list[tuple[int, str]] = []
        for index in self._explicit_records(q):
            status = records.status_at(index, now)
            if status is not None and (statuses is None or status in statuses):
                matched.append((index, status))
        count = None if q.without_count else len(matched)
        if q.without_items:
            return count, None
        page = matched[q.offset : q.offset + q.limit]
        return count, [render_item(records, index, now, status) for index, status in page]

    def _explicit_records(self, q: MessageQuery) -> list[int]:
        """Records named by ids or flows (the first of these given), filtered by the rest of ``q``."""
        records = self.records
        source: Iterable[int]
        if q.ids is not None:
            source = (index for index in map(records.find_record, q.ids) if index is not None)
        else:
            source = (index for flow_id in q.flow_ids or () for index in records.flow_records(flow_id))
        seg_filter = _segment_predicate(q)
        flows = None if q.flow_ids is None else {flow_id.lower() for flow_id in q.flow_ids}
        found: list[int] = []
        seen: set[int] = set()
        for index in source:
            if index in seen:
                continue
            seen.add(index)
            if not seg_filter(records.segs[index]):
                continue
            if flows is not None and records.flow_id(index) not in flows:
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


def _bucket(index: dict[str, Bucket], key: str) -> Bucket:
    bucket = index.get(key)
    if bucket is None:
        bucket = index[key] = Bucket()
    return bucket


def _segments(sources: list[Bucket]) -> Iterator[Segment]:
    if len(sources) == 1:
        return iter(sources[0].segments)
    return heapq.merge(*(bucket.segments for bucket in sources), key=lambda seg: seg.seq)


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
