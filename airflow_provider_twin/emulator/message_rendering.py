"""Message records as the JSON items of TWIN's notify API and of the admin dump."""

from __future__ import annotations

from typing import Any

from .clock import iso_or_none
from .message_records import OUTCOME_NAMES, RecordTable
from .statuses import DELIVERED, EXPIRED, STATUS_CODES, STATUS_DESCRIPTIONS
from .template_store import render_channel


def render_item(records: RecordTable, index: int, now: float, status: str | None = None) -> dict[str, Any]:
    """Record ``index`` as a MessageListItem (twin-api.md §3.3)."""
    if status is None:
        status = records.phase_status(index, now)
    seg = records.segs[index]
    env = records.envs[index]
    channel = records.chans[index]
    dest = records.dests[index]
    cancelled_at = records.cancelled.get(index) if seg.touched else None
    sent = now >= seg.start_at and (cancelled_at is None or cancelled_at >= seg.start_at)
    final = now >= seg.final_at and cancelled_at is None
    variables = dest.get("variables")
    message = channel.obj
    if env.template_channels is not None:
        # A message sent with a template shows the template's text, variables put in.
        message = render_channel(env.template_channels.get(channel.key), message, variables)
    item = _record_head(records, index, status)
    item.update(
        {
            "statusCode": STATUS_CODES[status],
            "statusDescription": STATUS_DESCRIPTIONS[status],
            "partCount": channel.part_count,
            "network": None,
            "channel": channel.upper,
            "templateId": env.template_id,
            "templateName": channel.template_name,
            "destination": dest,
            "message": message,
            "templateVariables": variables if isinstance(variables, dict) else None,
            "tracks": {},
            "createdAt": seg.created_iso,
            "sentAt": seg.sent_iso if sent else None,
            "deliveredAt": seg.final_iso if final and status == DELIVERED else None,
            "sendAt": env.send_at_iso,
            "expiredAt": seg.final_iso if final and status == EXPIRED else None,
        }
    )
    return item


def render_internal(records: RecordTable, index: int, now: float) -> dict[str, Any]:
    """A record with the emulator's bookkeeping (for ``GET /_emulator/messages``)."""
    item = render_item(records, index, now)
    seg, env = records.segs[index], records.envs[index]
    item.update(
        {
            "taskId": env.task_id,
            "companyId": env.company_id,
            "callbackUrl": env.callback_url,
            "callbackData": env.callback_data,
            "visible": records.status_at(index, now) is not None,
            "dropped": index in records.dropped,
            "attempt": seg.level,
            "required": records.chans[index].required,
            "scheduledAt": seg.sent_iso,
            "finalAt": seg.final_iso,
            "outcome": OUTCOME_NAMES[records.outcomes[index]],
            "cancelledAt": iso_or_none(records.cancelled.get(index)),
        }
    )
    return item


def cancel_item(records: RecordTable, index: int, status: str) -> dict[str, Any]:
    """An item of the ``DELETE /messages`` response (twin-api.md §3.4)."""
    item = _record_head(records, index, status)
    item["channel"] = records.chans[index].upper
    item["error"] = None
    return item


def _record_head(records: RecordTable, index: int, status: str) -> dict[str, Any]:
    """The fields every item about record ``index`` starts with: its ids under TWIN's names, its status."""
    env = records.envs[index]
    return {
        "id": records.record_id(index),
        "bulkId": env.bulk_id,
        "groupId": env.group_id,
        "flowId": records.flow_id(index),
        "status": status,
    }
