"""Storing an accepted ``POST /messages`` batch: flows, fallback chains, segments and the 201 body.

For every destination of a message the emulator creates a *flow* (``flowId``) and, inside it, one
*record* per channel attempt (``id``):

* the first channel is attempted at once (or when ``sendAt``/``allowedTimeRanges`` allow);
* every channel marked ``"required": true`` is attempted in parallel with the first one
  (ASSUMPTION twin-api.md §7.7);
* when an attempt of the sequential chain does not end ``DELIVERED`` and another non-required channel
  follows, that channel is attempted from the moment the previous attempt finished (twin-api.md
  §3.2.5). Its record becomes visible in ``GET /messages`` only from that moment.

The outcome of an attempt is drawn when its record is created, which is why the whole fallback chain,
with its timing, can be laid out at creation time.
"""

from __future__ import annotations

import json
from typing import Any

from .ids import IdGenerator
from .message_records import DELIVERED_CODE, OUTCOME_CODES, Envelope, RecordTable, Segment
from .outcomes import OutcomePicker
from .statuses import PENDING
from .time_windows import next_allowed_start
from .validation import BatchPlan, ChannelPlan, MessagePlan

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


class IntakeBatch:
    """Working state and result of storing one ``POST /messages`` request."""

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
        "records",
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
        #: Response items, one JSON object text per destination.
        self.out: list[str] = []
        self.segments: dict[tuple[str, int, str, float, float], Segment] = {}
        self.records = 0
        self.duplicate_pairs = 0
        self.duplicate_destinations = 0

    @property
    def body(self) -> str:
        """The ``201`` response body (a JSON array)."""
        return "[" + ",".join(self.out) + "]"

    def ordered_segments(self) -> list[Segment]:
        """The segments this request created, oldest first."""
        return sorted(self.segments.values(), key=lambda seg: seg.seq)

    def count_pair(self, dest: dict[str, Any]) -> None:
        """Track (bulkId, destination identity) pairs created more than once."""
        key = identity_key(dest)
        seen = self.pairs.get(key, 0)
        self.pairs[key] = seen + 1
        if seen:
            self.duplicate_destinations += 1
            self.duplicate_pairs += seen == 1


class MessageIntake:
    """Turns validated batches into records of a :class:`RecordTable`. Not thread-safe."""

    def __init__(self, records: RecordTable) -> None:
        self.records = records
        #: Bulk and group ids the emulator assigns.
        self.batch_ids = IdGenerator()
        self._next_segment = 1
        self.reset()

    def reset(self) -> None:
        """Forget which destinations each bulk already had."""
        self._pairs: dict[str, dict[object, int]] = {}

    def store(
        self,
        plan: BatchPlan,
        now: float,
        delivery_seconds: float,
        picker: OutcomePicker,
        window_offset_seconds: int = 0,
    ) -> IntakeBatch:
        """Store a validated batch; one response item per destination for the first channel
        (ASSUMPTION twin-api.md §7.8)."""
        bulk_id = plan.bulk_id or self.batch_ids.new()
        batch = IntakeBatch(
            bulk_id=bulk_id,
            task_id=plan.task_id,
            pairs=self._pairs.setdefault(bulk_id, {}),
            now=now,
            delivery_seconds=delivery_seconds,
            window_offset_seconds=window_offset_seconds,
            picker=picker,
        )
        first_index = len(self.records.segs)
        self._create_messages(batch, plan)
        batch.records = len(self.records.segs) - first_index
        return batch

    def _segment(
        self, batch: IntakeBatch, key: str, level: int, visible: float, start: float, *, group_id: str
    ) -> Segment:
        """The request's segment for this group, channel, chain position and timing (created on
        first use)."""
        lookup = (group_id, level, key, visible, start)
        seg = batch.segments.get(lookup)
        if seg is None:
            fixed = batch.picker.fixed
            seg = Segment(
                self._next_segment,
                key,
                bulk_id=batch.bulk_id,
                task_id=batch.task_id,
                group_id=group_id,
                level=level,
                visible_at=visible,
                start_at=start,
                delivery_seconds=batch.delivery_seconds,
                uniform=-1 if fixed is None else OUTCOME_CODES[fixed],
            )
            self._next_segment += 1
            batch.segments[lookup] = seg
        return seg

    def _create_messages(self, batch: IntakeBatch, plan: BatchPlan) -> None:
        """Create the flows of every message of ``plan``.

        Plain messages (one channel, no ``sendAt``/windows, no drawn outcomes) take the inline hot path
        whose per-request setup is shared; the others go through :meth:`_create_general`.
        """
        now = batch.now
        fixed = batch.picker.fixed
        code = 0 if fixed is None else OUTCOME_CODES[fixed]
        records = self.records
        segs, envs, chans, dests = records.segs, records.envs, records.chans, records.dests
        outcomes, flows, flow_first = records.outcomes, records.flows, records.flow_first
        record_id, flow_id = records.record_ids.format, records.flow_ids.format
        record_base, flow_base = records.record_base, records.flow_base
        new_group, count_pair = self.batch_ids.new, batch.count_pair
        out, bulk_id = batch.out, batch.bulk_id
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
                count_pair(dest)
                index += 1
                flow += 1

    def _create_general(self, batch: IntakeBatch, env: Envelope, message: MessagePlan, *, head: str) -> None:
        """Flows with a send time, windows, required or fallback channels, or drawn outcomes."""
        records = self.records
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
            flow = len(records.flow_first)
            index = len(records.segs)
            records.flow_first.append(index)
            batch.out.append(
                f'{{"id":"{records.record_id(index)}{head}'
                f"{records.flow_ids.format(records.flow_base + flow)}{tail}"
            )
            code = self._append_record(seg0, env, first, dest, flow=flow, picker=picker)
            for channel in parallel:
                seg = self._segment(
                    batch, channel.key, 0, seg0.visible_at, seg0.start_at, group_id=env.group_id
                )
                self._append_record(seg, env, channel, dest, flow=flow, picker=picker)
            previous = seg0
            for level, channel in enumerate(chain, start=1):
                if code == DELIVERED_CODE:
                    break
                visible = previous.final_at
                start = next_allowed_start(visible, env.windows, batch.window_offset_seconds)
                previous = self._segment(batch, channel.key, level, visible, start, group_id=env.group_id)
                code = self._append_record(previous, env, channel, dest, flow=flow, picker=picker)
            batch.count_pair(dest)

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
        records = self.records
        fixed = picker.fixed
        code = OUTCOME_CODES[fixed if fixed is not None else picker.pick(channel.key, dest)]
        seg.indexes.append(len(records.segs))
        records.segs.append(seg)
        records.envs.append(env)
        records.chans.append(channel)
        records.dests.append(dest)
        records.outcomes.append(code)
        records.flows.append(flow)
        return code
