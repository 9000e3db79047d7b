"""When a delivery wait is over: which statuses count how, and the verdict on their counts.

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
``succeeded destinations = success records``, exactly, from the same counts. ``D`` is
known when the targets are flow ids, when message ids are given (one record each), or when
the caller passes ``expected_total`` (the ``accepted`` count of the send summary). Without it
every record counts as one destination (``counted_by = "record"``): exact for single-channel
sends, pessimistic with fallback channels. Channels marked ``required`` run in parallel
(twin-api.md §7.7); their extra records are read the same way and a destination counts as
succeeded when any of its attempts succeeded (clamped so the totals never exceed ``D``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any, Literal

from airflow_provider_twin.client.core.calls import comma_list
from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.messages.held import HeldMessages, held_text
from airflow_provider_twin.client.messages.targets import Targets

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

#: Keys of the per-check counts.
TOTAL, SUCCESS, FAILURE = "total", "success", "failure"

State = Literal["pending", "success", "failure"]
CountedBy = Literal["destination", "record"]


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

    @classmethod
    def of(
        cls,
        success_statuses: Iterable[str] | str = SUCCESS_STATUSES,
        failure_statuses: Iterable[str] | str = FAILURE_STATUSES,
        min_success_ratio: float | None = None,
        max_failure_ratio: float | None = None,
    ) -> Criteria:
        """Criteria from operator-style arguments: a status list may be a comma-separated string."""
        return cls(
            _statuses("success_statuses", success_statuses),
            _statuses("failure_statuses", failure_statuses),
            min_success_ratio,
            max_failure_ratio,
        )

    @property
    def statuses(self) -> tuple[str, ...]:
        """Every configured status: success statuses first, then failure statuses."""
        return (*self.success_statuses, *self.failure_statuses)

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


def _utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _ratio_of(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


@dataclass(frozen=True)
class DeliveryProgress:
    """The judged result of one delivery check.

    ``total``, ``succeeded``, ``failed`` and ``pending`` count destinations (or records, see
    ``counted_by``); ``records`` holds TWIN's raw record counts. ``message`` is the progress
    line: it holds every count (and, while messages are held, how many and the next send time)
    and nothing that changes by itself, so two equal lines mean nothing changed.
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
    #: Records per configured status, when the check counted them (it does, one by one).
    by_status: dict[str, int] = field(default_factory=dict)
    #: Records TWIN holds until their send time (``DELAYED``), when the check asked (see held.py).
    held: int = 0
    #: The earliest ``sendAt`` of the held records listed, ISO-8601 with the offset TWIN gave.
    next_send_at: str | None = None

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


def evaluate(
    targets: Targets,
    criteria: Criteria,
    counts: Mapping[str, int],
    *,
    by_status: Mapping[str, int] | None = None,
    held: HeldMessages | None = None,
    zone: tzinfo | None = None,
) -> DeliveryProgress:
    """Judge one check's counts (keys ``total``, ``success``, ``failure``).

    ``by_status`` (records per configured status) is kept with the progress for the final result.
    ``held`` (the check's held records, if it asked) is told in the line, the next send time with
    its own offset and in UTC (and in ``zone`` when that differs from both).

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
    held = held or HeldMessages()
    if held.count > 0:
        summary += f"; {held_text(held, pending_records, zone)}"
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
    return DeliveryProgress(
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
        by_status=dict(by_status or {}),
        held=held.count,
        next_send_at=held.next_send_at_iso,
    )
