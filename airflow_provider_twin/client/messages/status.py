"""Delivery status of a set of TWIN messages: which counts to ask for and what they mean.

This module holds the one implementation of the rules behind
:class:`~airflow_provider_twin.sensors.messages.TwinMessageStatusSensor` (sync client) and
:class:`~airflow_provider_twin.triggers.messages.TwinMessageStatusTrigger` (async client). It does
no I/O: it builds :class:`~airflow_provider_twin.client.calls.ApiCall` values, the caller sends
them with whichever client it has, and the answers come back here to be judged.

Cost
----
A check never lists messages. It asks TWIN three counts with ``withoutItems``
(twin-api.md §1.2, §3.3): all messages of the targets, those in a success status and those in
a failure status (statuses of one group comma-joined into one ``status`` filter). A check of
a million messages therefore costs the same three requests as a check of ten. The ids travel
in the query string, so they go :data:`IDS_PER_REQUEST` per request (a request line stays
under 4 KB, below the 8 KB many proxies allow): a send of more than 100 chunks (100,000
destinations at the default batch size) costs three requests per 100 of its bulk ids.

Statuses
--------
ASSUMPTION (twin-api.md §3.9, §7.1): TWIN documents only ``PENDING`` and ``DELIVERED``; the
failure spellings below are those known or expected. A status in neither group (``PENDING``,
``DELAYED``, ``PAUSED``, anything new) counts as still in progress.

Fallback channels
-----------------
With several channels (twin-api.md §3.2.5, §7.8) one destination is one *flow* (``flowId``)
whose channel attempts are separate message records: a failed SMS record may be followed by
a delivered Viber record. The outcome of a destination is the one of its latest attempt, and
listing every flow to find it would cost one request per 1,000 messages. Instead:

ASSUMPTION (twin-api.md §7.8; the emulator behaves so): a fallback attempt is listed from the
moment the previous attempt of its flow failed, and an attempt is only superseded after it
failed. Then, when the number of destinations ``D`` is known, ``records - D`` records are
superseded failures, so ``failed destinations = failure records - (records - D)`` and
``succeeded destinations = success records``, exactly, from the same three counts. ``D`` is
known when the targets are flow ids, when message ids are given (one record each), or when
the caller passes ``expected_total`` (the ``accepted`` count of the send summary). Without it
every record counts as one destination (``counted_by = "record"``): exact for single-channel
sends, pessimistic with fallback channels. Channels marked ``required`` run in parallel
(twin-api.md §7.7); their extra records are read the same way and a destination counts as
succeeded when any of its attempts succeeded (clamped so the totals never exceed ``D``).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from airflow_provider_twin.client.core.calls import ApiCall, comma_list
from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.messages import api as notify
from airflow_provider_twin.client.messages.models import MessageItem, MessagePage

#: Statuses that mean the message reached the recipient (twin-api.md §3.9).
SUCCESS_STATUSES: tuple[str, ...] = ("DELIVERED",)

#: Statuses after which nothing more happens to a message, without it reaching the recipient.
#: ASSUMPTION (twin-api.md §7.1): CANCELED, REJECTED and FAILED are accepted spellings too.
FAILURE_STATUSES: tuple[str, ...] = (
    "UNDELIVERED",
    "ERROR",
    "EXPIRED",
    "CANCELLED",
    "CANCELED",
    "REJECTED",
    "FAILED",
)

#: The ways to name the messages to watch, and the ``GET /messages`` filter each one uses.
TARGET_KINDS: dict[str, str] = {
    "bulk_ids": "bulk_ids",
    "group_ids": "group_ids",
    "message_ids": "ids",
    "flow_ids": "flow_ids",
}

#: Ids of one kind sent in one request: keeps the query string well under common URL limits.
IDS_PER_REQUEST = 100

#: Keys of the per-check counts.
TOTAL, SUCCESS, FAILURE = "total", "success", "failure"

State = Literal["pending", "success", "failure"]
CountedBy = Literal["destination", "record"]


def _id_list(name: str, value: Any) -> list[str]:
    """Ids from a list, a single id, a comma-separated string or a rendered list (``"['a', 'b']"``).

    The last form is what a Jinja template produces from a list unless the DAG renders native
    objects, so it is accepted rather than turned into one odd id.
    """
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") or text.endswith("]"):  # a rendered list, whole or cut short
            try:
                parsed = json.loads(text)
            except ValueError:
                try:
                    parsed = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    raise TwinInputError(f"{name}: cannot read a list of ids from {value!r}") from None
            return _id_list(name, parsed)
        return comma_list(text)
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        ids: list[str] = []
        for item in value:
            if not isinstance(item, (str, int)) or isinstance(item, bool):
                raise TwinInputError(f"{name}: ids must be strings, got {item!r}")
            ids.extend(comma_list(str(item)))
        return ids
    raise TwinInputError(f"{name}: expected a list of ids, got {type(value).__name__}")


def _count(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TwinInputError(f"{name}: expected a number of messages, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise TwinInputError(f"{name}: expected a number of messages, got {value!r}") from None
    if number < 0 or number != float(value):
        raise TwinInputError(f"{name}: expected a whole number >= 0, got {value!r}")
    return number


@dataclass(frozen=True)
class Targets:
    """The messages to watch: exactly one kind of id, and optionally how many destinations.

    :param kind: one of :data:`TARGET_KINDS`.
    :param ids: the ids, in order, without duplicates.
    :param expected_total: how many destinations (flows) the targets hold once TWIN lists them
        all. The status is not "done" before TWIN lists that many, and with it fallback
        attempts are counted per destination (see the module documentation).
    """

    kind: str
    ids: tuple[str, ...]
    expected_total: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise TwinInputError(f"unknown target kind {self.kind!r}; use one of {', '.join(TARGET_KINDS)}")
        if not self.ids:
            raise TwinInputError(f"{self.kind}: no ids to watch")
        if self.expected_total is not None and self.expected_total < 0:
            raise TwinInputError("expected_total must not be negative")

    @classmethod
    def of(
        cls,
        *,
        bulk_ids: Any = None,
        group_ids: Any = None,
        message_ids: Any = None,
        flow_ids: Any = None,
        expected_total: Any = None,
    ) -> Targets:
        """Targets from operator-style arguments; exactly one kind of id must be given."""
        given = {
            kind: _id_list(kind, value)
            for kind, value in (
                ("bulk_ids", bulk_ids),
                ("group_ids", group_ids),
                ("message_ids", message_ids),
                ("flow_ids", flow_ids),
            )
        }
        present = {kind: ids for kind, ids in given.items() if ids}
        if len(present) != 1:
            what = ", ".join(present) if present else "none was given (or the lists are empty)"
            raise TwinInputError(
                f"give exactly one of bulk_ids, group_ids, message_ids or flow_ids to watch; got {what}"
            )
        ((kind, ids),) = present.items()
        return cls(kind, tuple(dict.fromkeys(ids)), _count("expected_total", expected_total))

    @classmethod
    def from_summary(cls, summary: Any, *, expected_total: Any = None) -> Targets:
        """Targets from the send operator's XCom summary.

        ``{"bulk_ids": [...], "group_id": ..., "accepted": n, ...}``: the bulk ids are watched
        (else the group id(s), message ids or flow ids found in it). More bulk ids than fit one
        request give way to the group id when the summary says the group is the send's own.
        ``expected_total`` is, in order: the argument, the summary's ``expected_total``, its
        ``accepted`` unless the send skipped chunks an earlier try had sent (``skipped`` > 0:
        ``accepted`` then undercounts the bulks), else unknown.

        ASSUMPTION: ``accepted`` counts destinations TWIN took, i.e. flows (twin-api.md §7.8
        answers one batch item per destination).
        """
        if isinstance(summary, str):
            try:
                summary = json.loads(summary)
            except ValueError:
                try:
                    summary = ast.literal_eval(summary)
                except (ValueError, SyntaxError):
                    raise TwinInputError("targets: cannot read a send summary from a string") from None
        if not isinstance(summary, Mapping):
            raise TwinInputError(
                f"targets: expected the send summary (a mapping), got {type(summary).__name__}"
            )
        expected = expected_total
        if expected is None:
            expected = summary.get("expected_total")
        if expected is None and not _count("targets['skipped']", summary.get("skipped")):
            # A retried send skips chunks an earlier try sent; ``accepted`` then leaves out
            # their destinations, so it no longer tells how many the bulks hold.
            expected = summary.get("accepted")
        own_group = summary.get("group_id") if summary.get("own_group") is True else None
        for kind, keys in (
            ("bulk_ids", ("bulk_ids", "bulk_id")),
            ("group_ids", ("group_ids", "group_id")),
            ("message_ids", ("message_ids",)),
            ("flow_ids", ("flow_ids",)),
        ):
            ids = [i for key in keys for i in _id_list(f"targets[{key!r}]", summary.get(key))]
            if kind == "bulk_ids" and len(ids) > IDS_PER_REQUEST and own_group:
                # The group holds exactly the send's messages: one id instead of one per chunk
                # keeps a check at three requests however many chunks the send had.
                group = _id_list("targets['group_id']", own_group)
                return cls("group_ids", tuple(group), _count("expected_total", expected))
            if ids:
                return cls(kind, tuple(dict.fromkeys(ids)), _count("expected_total", expected))
        raise TwinInputError(
            "targets: the summary names no bulk_ids, group_id, message_ids or flow_ids to watch"
        )

    @property
    def destinations(self) -> int | None:
        """How many destinations the targets hold, when it is known."""
        if self.expected_total is not None:
            return self.expected_total
        if self.kind in ("message_ids", "flow_ids"):
            return len(self.ids)
        return None

    def filters(self) -> list[dict[str, Any]]:
        """``GET /messages`` filter sets that together cover the targets (ids split per request)."""
        name = TARGET_KINDS[self.kind]
        ids = list(self.ids)
        return [{name: ids[i : i + IDS_PER_REQUEST]} for i in range(0, len(ids), IDS_PER_REQUEST)]

    def describe(self) -> str:
        """Short description for logs: ``bulk 7f3e… (+2 more)``."""
        noun = {"bulk_ids": "bulk", "group_ids": "group", "message_ids": "message", "flow_ids": "flow"}
        more = f" (+{len(self.ids) - 1} more)" if len(self.ids) > 1 else ""
        return f"{noun[self.kind]} {self.ids[0]}{more}"

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form (for trigger serialization and the XCom result)."""
        return {self.kind: list(self.ids), "expected_total": self.expected_total}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Targets:
        """Inverse of :meth:`to_json`."""
        kinds = [kind for kind in TARGET_KINDS if data.get(kind)]
        if len(kinds) != 1:
            raise TwinInputError(f"serialized targets must name exactly one kind of id, got {dict(data)!r}")
        return cls(kinds[0], tuple(data[kinds[0]]), _count("expected_total", data.get("expected_total")))


def _statuses(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = comma_list(value)
    statuses = tuple(dict.fromkeys(str(s).strip().upper() for s in value if str(s).strip()))
    if not statuses:
        raise TwinInputError(f"{name}: give at least one status")
    return statuses


def _ratio(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise TwinInputError(f"{name} must be a number between 0 and 1, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Criteria:
    """When the wait is over.

    :param success_statuses: statuses that count as reached the recipient.
    :param failure_statuses: final statuses that count as not reached it.
    :param min_success_ratio: finish early, successfully, once this share of destinations
        succeeded (statuses still pending are not waited for).
    :param max_failure_ratio: fail as soon as more than this share of destinations failed,
        instead of waiting for the rest or for the timeout.
    """

    success_statuses: tuple[str, ...] = SUCCESS_STATUSES
    failure_statuses: tuple[str, ...] = FAILURE_STATUSES
    min_success_ratio: float | None = None
    max_failure_ratio: float | None = None

    def __post_init__(self) -> None:
        success = _statuses("success_statuses", self.success_statuses)
        failure = _statuses("failure_statuses", self.failure_statuses)
        both = sorted(set(success) & set(failure))
        if both:
            raise TwinInputError(f"statuses {', '.join(both)} are both success and failure statuses")
        object.__setattr__(self, "success_statuses", success)
        object.__setattr__(self, "failure_statuses", failure)
        object.__setattr__(self, "min_success_ratio", _ratio("min_success_ratio", self.min_success_ratio))
        object.__setattr__(self, "max_failure_ratio", _ratio("max_failure_ratio", self.max_failure_ratio))

    def classify(self, status: str | None) -> State:
        """``success``, ``failure`` or ``pending`` for one message status."""
        name = (status or "").upper()
        if name in self.success_statuses:
            return "success"
        if name in self.failure_statuses:
            return "failure"
        return "pending"

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form (for trigger serialization)."""
        return {
            "success_statuses": list(self.success_statuses),
            "failure_statuses": list(self.failure_statuses),
            "min_success_ratio": self.min_success_ratio,
            "max_failure_ratio": self.max_failure_ratio,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Criteria:
        """Inverse of :meth:`to_json`."""
        return cls(
            success_statuses=tuple(data.get("success_statuses") or SUCCESS_STATUSES),
            failure_statuses=tuple(data.get("failure_statuses") or FAILURE_STATUSES),
            min_success_ratio=data.get("min_success_ratio"),
            max_failure_ratio=data.get("max_failure_ratio"),
        )


@dataclass(frozen=True)
class CountRequest:
    """One count to ask TWIN: its answer is added to ``counts[key]``."""

    key: str
    call: ApiCall[int]


def check_requests(targets: Targets, criteria: Criteria) -> list[CountRequest]:
    """The counts one check needs: total, success group, failure group (per id chunk)."""
    requests: list[CountRequest] = []
    for filters in targets.filters():
        requests.append(CountRequest(TOTAL, notify.count_messages(**filters)))
        requests.append(
            CountRequest(SUCCESS, notify.count_messages(status=list(criteria.success_statuses), **filters))
        )
        requests.append(
            CountRequest(FAILURE, notify.count_messages(status=list(criteria.failure_statuses), **filters))
        )
    return requests


def breakdown_requests(targets: Targets, criteria: Criteria) -> list[CountRequest]:
    """One count per configured status, asked once at the end for the result's ``by_status``."""
    return [
        CountRequest(status, notify.count_messages(status=status, **filters))
        for status in (*criteria.success_statuses, *criteria.failure_statuses)
        for filters in targets.filters()
    ]


def tally(requests: Sequence[CountRequest], answers: Sequence[int]) -> dict[str, int]:
    """Sum the answers of ``requests`` (in the same order) per key."""
    counts: dict[str, int] = {}
    for request, answer in zip(requests, answers, strict=True):
        counts[request.key] = counts.get(request.key, 0) + int(answer)
    return counts


def _utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _ratio_of(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


@dataclass(frozen=True)
class Progress:
    """The judged result of one check.

    ``total``, ``succeeded``, ``failed`` and ``pending`` count destinations (or records, see
    ``counted_by``); ``records`` holds TWIN's raw record counts.
    """

    state: State
    reason: str
    message: str
    total: int
    succeeded: int
    failed: int
    pending: int
    counted_by: CountedBy
    records: dict[str, int]
    targets: dict[str, Any]
    checked_at: str = field(default_factory=_utc_now_iso)

    @property
    def success_ratio(self) -> float:
        """Share of destinations that succeeded (0.0 when there are none)."""
        return _ratio_of(self.succeeded, self.total)

    @property
    def failure_ratio(self) -> float:
        """Share of destinations that failed (0.0 when there are none)."""
        return _ratio_of(self.failed, self.total)

    @property
    def done(self) -> bool:
        """True once the verdict is final (success or failure)."""
        return self.state != "pending"

    def to_result(self) -> dict[str, Any]:
        """The JSON-safe result handed to the next task (XCom) and carried by trigger events."""
        return {
            "state": self.state,
            "reason": self.reason,
            "message": self.message,
            "targets": self.targets,
            "total": self.total,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "pending": self.pending,
            "success_ratio": self.success_ratio,
            "failure_ratio": self.failure_ratio,
            "counted_by": self.counted_by,
            "records": dict(self.records),
            "checked_at": self.checked_at,
        }


def evaluate(targets: Targets, criteria: Criteria, counts: Mapping[str, int]) -> Progress:
    """Judge one check's counts (keys ``total``, ``success``, ``failure``).

    Order of the rules: more failures than ``max_failure_ratio`` allows fails at once (even if
    ``min_success_ratio`` is met at the same moment); then nothing pending means done; then
    ``min_success_ratio`` reached means done early. Until TWIN lists the expected number of
    destinations (or, without one, any message at all), nothing is "done".
    """
    records = max(0, int(counts.get(TOTAL, 0)))
    success_records = max(0, int(counts.get(SUCCESS, 0)))
    failure_records = max(0, int(counts.get(FAILURE, 0)))
    pending_records = max(0, records - success_records - failure_records)
    known = targets.destinations
    counted_by: CountedBy = "destination" if known is not None else "record"
    total = known if known is not None else records
    superseded = max(0, records - total)
    succeeded = min(success_records, total)
    failed = min(max(0, failure_records - superseded), total - succeeded)
    pending = max(0, total - succeeded - failed)
    listed = records >= total if known is not None else records > 0
    raw = {
        "total": records,
        "success": success_records,
        "failure": failure_records,
        "pending": pending_records,
    }

    unit = "destination(s)" if counted_by == "destination" else "message(s)"
    summary = (
        f"{targets.describe()}: {succeeded} of {total} {unit} succeeded, {failed} failed, {pending} pending"
    )
    if known is not None and records < known:
        summary += f" (TWIN lists {records} of {known} expected)"
    state: State = "pending"
    reason = "waiting"
    failure_ratio = _ratio_of(failed, total)
    if criteria.max_failure_ratio is not None and total and failure_ratio > criteria.max_failure_ratio:
        state, reason = "failure", "max_failure_ratio"
        summary += (
            f"; failure ratio {failure_ratio:.2%} exceeds max_failure_ratio {criteria.max_failure_ratio:.2%}"
        )
    elif listed and pending == 0 and pending_records == 0:
        state, reason = "success", "all_final"
        summary += "; every message reached a final status"
    elif (
        listed
        and criteria.min_success_ratio is not None
        and _ratio_of(succeeded, total) >= criteria.min_success_ratio
    ):
        state, reason = "success", "min_success_ratio"
        summary += f"; success ratio reached min_success_ratio {criteria.min_success_ratio:.2%}"
    elif not listed and known is None:
        summary = f"{targets.describe()}: TWIN lists no message yet"
    return Progress(
        state=state,
        reason=reason,
        message=summary,
        total=total,
        succeeded=succeeded,
        failed=failed,
        pending=pending,
        counted_by=counted_by,
        records=raw,
        targets=targets.to_json(),
    )


def with_breakdown(
    result: Mapping[str, Any], criteria: Criteria, by_status: Mapping[str, int]
) -> dict[str, Any]:
    """``result`` plus ``by_status``: message records per configured status (zeros included)."""
    statuses = (*criteria.success_statuses, *criteria.failure_statuses)
    return {**result, "by_status": {status: int(by_status.get(status, 0)) for status in statuses}}


# -- failed destinations ----------------------------------------------------------------------------

#: Page size when listing failed messages (TWIN's assumed maximum, twin-api.md §7.11).
PAGE_SIZE = notify.MAX_PAGE_SIZE


def failed_records_calls(targets: Targets, criteria: Criteria) -> list[ApiCall[MessagePage]]:
    """List calls (first pages) of the records in a failure status; page them with the client."""
    return [
        notify.list_messages(limit=PAGE_SIZE, status=list(criteria.failure_statuses), **filters)
        for filters in targets.filters()
    ]


def needs_flow_check(result: Mapping[str, Any]) -> bool:
    """Whether failed records may belong to flows that another attempt rescued.

    ``result`` is a :meth:`Progress.to_result` value. The check is not needed when every
    record is its own destination (no fallback or required-channel records were counted).
    """
    records = result.get("records") or {}
    return result.get("counted_by") != "destination" or int(records.get("total", 0)) > int(
        result.get("total", 0)
    )


def flow_records_calls(flow_ids: Sequence[str]) -> list[ApiCall[MessagePage]]:
    """List calls (first pages) of every record of ``flow_ids``, to see each flow's latest attempt."""
    ids = list(dict.fromkeys(flow_ids))
    return [
        notify.list_messages(limit=PAGE_SIZE, flow_ids=ids[i : i + IDS_PER_REQUEST])
        for i in range(0, len(ids), IDS_PER_REQUEST)
    ]


def _flow_key(record: Mapping[str, Any]) -> str:
    return str(record.get("flowId") or f"message:{record.get('id')}")


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


def _record_key(record: Mapping[str, Any]) -> str:
    return str(record.get("id") or id(record))


def _created(record: Mapping[str, Any]) -> tuple[str, str]:
    return (str(record.get("createdAt") or ""), str(record.get("id") or ""))
