"""The notify service's messages: create, list, cancel and the admin dump, with their counters.

Model
-----
A ``POST /messages`` request holds messages; each message has destinations and an ordered map of
channels. For every destination the emulator creates a *flow* (``flowId``) and, inside it, one
*record* per channel attempt (``id``); :mod:`.message_intake` lays out the fallback chain.

Statuses are computed lazily from the clock; nothing runs in the background (:mod:`.message_records`).
The status changes of messages with a ``callbackUrl`` are scheduled at creation
(:mod:`.webhook_schedule`) for the webhook sender to find.

Speed and memory
----------------
Records are columns, not objects (:mod:`.message_records`). Records of one request that share
``groupId``, channel, chain position and timing form a segment; a plain batch of any size is one
segment. Indexes per ``bulkId``, ``groupId`` and ``taskId`` hold segments (:mod:`.message_query`)
and keep running status totals of the segments that reached their final time
(:mod:`.status_counts`), so counting a bulk of 100k costs about the number of segments still moving.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .message_intake import MessageIntake
from .message_query import MessageIndexes, MessageQuery
from .message_records import RecordTable, Segment
from .message_rendering import cancel_item, render_internal
from .outcomes import OutcomePicker
from .statuses import CANCELLED, DELAYED, PENDING
from .validation import BatchPlan
from .webhook_schedule import WebhookSchedule


@dataclass
class CreateResult:
    """What one accepted ``POST /messages`` produced."""

    body: str
    bulk_id: str
    messages: int
    destinations: int
    records: int


class MessageStore:
    """All message records plus indexes and counters. Not thread-safe; callers hold the state lock."""

    def __init__(self) -> None:
        self.records = RecordTable()
        self.intake = MessageIntake(self.records)
        self.indexes = MessageIndexes(self.records)
        self.webhooks = WebhookSchedule(self.records)
        #: Told of every stored segment of the ``chat`` channel (they open chat sessions when sent).
        self.on_chat_segments: Callable[[list[Segment]], None] | None = None
        self._clear_counters()

    def reset(self) -> None:
        """Forget every record. Id counters keep running so ids are never reused."""
        self.records.reset()
        self.intake.reset()
        self.indexes.reset()
        self.webhooks.clear()
        self._clear_counters()

    def _clear_counters(self) -> None:
        self.messages_created = 0
        self.destinations_created = 0
        self.records_created = 0
        self.duplicate_pairs = 0
        self.duplicate_destinations = 0

    @property
    def total_records(self) -> int:
        return len(self.records.segs)

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
        batch = self.intake.store(plan, now, delivery_seconds, picker, window_offset_seconds)
        segments = batch.ordered_segments()
        self.indexes.add(batch.bulk_id, batch.task_id, segments)
        if any(message.callback_url for message in plan.messages):
            self.webhooks.add_segments(segments)
        if self.on_chat_segments is not None:
            chat = [seg for seg in segments if seg.key == "chat"]
            if chat:
                self.on_chat_segments(chat)
        self.messages_created += len(plan.messages)
        self.destinations_created += plan.destination_count
        self.records_created += batch.records
        self.duplicate_pairs += batch.duplicate_pairs
        self.duplicate_destinations += batch.duplicate_destinations
        return CreateResult(
            body=batch.body,
            bulk_id=batch.bulk_id,
            messages=len(plan.messages),
            destinations=plan.destination_count,
            records=batch.records,
        )

    def query(self, q: MessageQuery, now: float) -> tuple[int | None, list[dict[str, Any]] | None]:
        """Run a ``GET /messages`` query; returns ``(count or None, items or None)``."""
        return self.indexes.query(q, now)

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
        records = self.records
        q = MessageQuery(ids=ids, bulk_ids=bulk_ids, group_ids=group_ids, flow_ids=flow_ids)
        result: list[dict[str, Any]] = []
        for index in list(self.indexes.candidates(q)):
            status = records.status_at(index, now)
            if status is None:
                continue
            if status in (DELAYED, PENDING) and now < records.segs[index].start_at:
                records.cancel(index, now)
                self.webhooks.add_cancel(index, status, now)
                status = CANCELLED
            result.append(cancel_item(records, index, status))
        return result

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
        records = self.records
        q = MessageQuery(bulk_ids=bulk_ids, group_ids=group_ids, flow_ids=flow_ids, channels=channels)
        count = 0
        items: list[dict[str, Any]] = []
        for index in self.indexes.candidates(q):
            if statuses is not None and records.phase_status(index, now) not in statuses:
                continue
            if offset <= count < offset + limit:
                items.append(render_internal(records, index, now))
            count += 1
        return count, items
