"""Counting message records by status, per segment and per index bucket.

Indexes (all records, per ``bulkId``, ``groupId`` and ``taskId``) are :class:`Bucket` objects holding
segments; a bucket folds the status counts of segments that reached their final time into a running
total, so counting messages by status in a bulk of 100k costs about the number of segments still
moving, not 100k. Segments never mix ``groupId`` values, so groups are buckets too.
"""

from __future__ import annotations

import heapq

from .message_records import OUTCOME_NAMES, RecordTable, Segment


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


def matching(counts: dict[str, int], statuses: frozenset[str] | None) -> int:
    """How many of ``counts`` have a status in ``statuses`` (None = any)."""
    if statuses is None:
        return sum(counts.values())
    return sum(n for status, n in counts.items() if status in statuses)


def segment_counts(records: RecordTable, seg: Segment, now: float) -> dict[str, int]:
    """Visible records of ``seg`` per status at ``now``."""
    if seg.visible_at > now:
        return {}
    if now >= seg.final_at:
        return settled_counts(records, seg)
    if seg.touched == 0:
        return {seg.moving_status(now): len(seg.indexes)}
    return _tally(records, seg, now)


def settled_counts(records: RecordTable, seg: Segment) -> dict[str, int]:
    """Final status counts of ``seg``; valid once ``final_at`` has passed (cached, never change)."""
    if seg.final_counts is None:
        if seg.touched == 0 and seg.uniform >= 0:
            seg.final_counts = {OUTCOME_NAMES[seg.uniform]: len(seg.indexes)}
        else:
            seg.final_counts = _tally(records, seg, seg.final_at)
    return seg.final_counts


def bucket_count(records: RecordTable, bucket: Bucket, statuses: frozenset[str] | None, now: float) -> int:
    """Visible records of ``bucket`` whose status at ``now`` is in ``statuses`` (None = any)."""
    heap, settled = bucket.heap, bucket.settled
    while heap and heap[0][0] <= now:
        seg = heapq.heappop(heap)[2]
        for status, n in settled_counts(records, seg).items():
            settled[status] = settled.get(status, 0) + n
    total = matching(settled, statuses)
    for _, _, seg in heap:
        total += matching(segment_counts(records, seg, now), statuses)
    return total


def _tally(records: RecordTable, seg: Segment, now: float) -> dict[str, int]:
    """Visible records of ``seg`` per status at ``now``, record by record."""
    status_at = records.status_at
    result: dict[str, int] = {}
    for index in seg.indexes:
        status = status_at(index, now)
        if status is not None:
            result[status] = result.get(status, 0) + 1
    return result
