"""The destinations a campaign step did not reach, for a next step to try another way.

Only records in a failure status are listed, a page of up to 1,000 at a time, one failure
status per listing (TWIN's ``status`` filter takes one value, twin-api.md §3.3); a status the
finished check counted no record in is not listed. A failed record
may belong to a flow that a fallback or required channel rescued (see :mod:`.verdict`), so
when the check saw such extra records, the flows of each page are looked up once more and a
flow counts as failed only when none of its attempts succeeded or is still pending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_twin.client.core.calls import ApiCall, next_page
from airflow_provider_twin.client.core.errors import TwinError, error_summary
from airflow_provider_twin.client.core.flows import Procedure
from airflow_provider_twin.client.messages import api as notify
from airflow_provider_twin.client.messages.models import MessageItem, MessagePage
from airflow_provider_twin.client.messages.targets import Targets, id_chunks
from airflow_provider_twin.client.messages.verdict import Criteria

#: Page size when listing failed messages (TWIN's assumed maximum, twin-api.md §7.11).
PAGE_SIZE = notify.MAX_PAGE_SIZE


def failed_records_calls(
    targets: Targets, criteria: Criteria, by_status: Mapping[str, int] | None = None
) -> list[ApiCall[MessagePage]]:
    """List calls (first pages) of the records in a failure status: one status per call.

    :param by_status: records per status from the finished check (the result's ``by_status``):
        statuses it counted none of are not listed. Without it every failure status is.
    """
    statuses = [s for s in criteria.failure_statuses if by_status is None or by_status.get(s, 1) > 0]
    return [
        notify.list_messages(limit=PAGE_SIZE, status=status, **filters)
        for status in statuses
        for filters in targets.filters()
    ]


def needs_flow_check(result: Mapping[str, Any]) -> bool:
    """Whether failed records may belong to flows that another attempt rescued.

    ``result`` is a :meth:`~.verdict.DeliveryProgress.to_result` value. The check is not needed
    when every record is its own destination (no fallback or required-channel records were
    counted).
    """
    records = result.get("records") or {}
    return result.get("counted_by") != "destination" or int(records.get("total", 0)) > int(
        result.get("total", 0)
    )


def flow_records_calls(flow_ids: Sequence[str]) -> list[ApiCall[MessagePage]]:
    """List calls (first pages) of every record of ``flow_ids``, to see each flow's latest attempt."""
    return [
        notify.list_messages(limit=PAGE_SIZE, flow_ids=list(chunk))
        for chunk in id_chunks(list(dict.fromkeys(flow_ids)))
    ]


def _flow_key(record: Mapping[str, Any]) -> str:
    return str(record.get("flowId") or f"message:{record.get('id')}")


def _record_key(record: Mapping[str, Any]) -> str:
    return str(record.get("id") or id(record))


def _created(record: Mapping[str, Any]) -> tuple[str, str]:
    return (str(record.get("createdAt") or ""), str(record.get("id") or ""))


def failed_destinations(
    failed: Sequence[MessageItem],
    criteria: Criteria,
    flow_records: Sequence[MessageItem] | None = None,
) -> list[dict[str, Any]]:
    """Destinations whose flow ended in failure, one entry per flow, in listing order.

    :param failed: records in a failure status.
    :param flow_records: every record of the flows of ``failed`` (from :func:`flow_records_calls`),
        or None when each record is its own destination. A flow with any attempt that succeeded
        or is still pending is not failed: the fallback reached, or may still reach, the recipient.
    """
    by_flow: dict[str, dict[str, MessageItem]] = {}
    for record in failed:
        by_flow.setdefault(_flow_key(record), {})[_record_key(record)] = record
    if flow_records is not None:
        rescued = set()
        for record in flow_records:
            key = _flow_key(record)
            if key not in by_flow:
                continue
            by_flow[key].setdefault(_record_key(record), record)
            if criteria.classify(record.get("status")) != "failure":
                rescued.add(key)
        by_flow = {key: records for key, records in by_flow.items() if key not in rescued}
    result = []
    for records in by_flow.values():
        attempts = sorted(records.values(), key=_created)
        last = attempts[-1]
        result.append(
            {
                "destination": last.get("destination") or {},
                "status": last.get("status"),
                "channel": last.get("channel"),
                "message_id": last.get("id"),
                "flow_id": last.get("flowId"),
                "bulk_id": last.get("bulkId"),
                "group_id": last.get("groupId"),
                "channels_tried": [r.get("channel") for r in attempts],
            }
        )
    return result


def _every_item(calls: Sequence[ApiCall[MessagePage]]) -> Procedure[list[MessageItem]]:
    """Every item of every page of ``calls``."""
    items: list[MessageItem] = []
    for first in calls:
        call: ApiCall[MessagePage] | None = first
        while call is not None:
            page: MessagePage = yield call
            items.extend(page["items"])
            call = next_page(call, page)
    return items


def scan_failed_destinations(
    result: Mapping[str, Any], criteria: Criteria, limit: int
) -> Procedure[dict[str, Any]]:
    """The result's ``failed_destinations`` (at most ``limit``) and ``failed_destinations_truncated``.

    :param result: the finished check's result (:meth:`~.verdict.DeliveryProgress.to_result`):
        its targets, and whether rescued flows must be looked for (:func:`needs_flow_check`).
    :returns: ``{"failed_destinations": [...], "failed_destinations_truncated": bool}``, the
        flag telling whether more destinations failed than ``limit``.
    """
    if limit <= 0:
        return {"failed_destinations": [], "failed_destinations_truncated": False}
    targets = Targets.from_json(result["targets"])
    verify = needs_flow_check(result)
    found: dict[str, dict[str, Any]] = {}
    by_status = result.get("by_status")
    for first in failed_records_calls(
        targets, criteria, by_status if isinstance(by_status, Mapping) else None
    ):
        call: ApiCall[MessagePage] | None = first
        while call is not None and len(found) <= limit:
            page: MessagePage = yield call
            batch = page["items"]
            flow_records = None
            if verify:
                flows = [str(r["flowId"]) for r in batch if r.get("flowId")]
                flow_records = yield from _every_item(flow_records_calls(flows))
            for entry in failed_destinations(batch, criteria, flow_records):
                found.setdefault(str(entry.get("flow_id") or entry.get("message_id")), entry)
            call = next_page(call, page)
        if len(found) > limit:
            break
    entries = list(found.values())
    return {"failed_destinations": entries[:limit], "failed_destinations_truncated": len(entries) > limit}


def with_failed_destinations(
    result: Mapping[str, Any], criteria: Criteria, limit: int, *, best_effort: bool = False
) -> Procedure[tuple[dict[str, Any], str | None]]:
    """``result`` with its failed destinations added (:func:`scan_failed_destinations`), and
    the warning a wait logs about them, if any.

    The warning says when more than ``limit`` failed (only the first are returned). With
    ``best_effort`` (a wait that fails anyway, whose outcome must still be handed on), a TWIN
    error while listing them does not raise: ``result`` comes back unchanged, the warning says why.
    """
    try:
        found = yield from scan_failed_destinations(result, criteria, limit)
    except TwinError as exc:
        if not best_effort:
            raise
        return dict(result), f"could not list the failed destinations: {error_summary(exc)}"
    warning = None
    if found["failed_destinations_truncated"]:
        warning = f"more than {limit} failed destinations; only the first {limit} are returned"
    return {**result, **found}, warning
