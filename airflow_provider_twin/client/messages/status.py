"""A delivery check and its final breakdown, written once for the sync and the async client.

Each is a :data:`~airflow_provider_twin.client.core.flows.Procedure`: the status sensor runs it
with ``TwinClient.run`` in a worker, the status trigger with ``await AsyncTwinClient.run`` in
the triggerer, so both agree on every request and every verdict.

Cost
----
A check never lists messages. It asks TWIN counts with ``withoutItems`` (twin-api.md §1.2,
§3.3): all messages of the targets, then the messages in each configured status, one status
per request. TWIN's SDK types the ``status`` filter as one string (twin-api.md §3.3), next to
the filters it documents as comma-separated lists; a comma-joined ``PENDING,DELAYED`` may
therefore match no message at all, so the success and failure counts are sums of per-status
counts, right whichever way TWIN reads the filter. With the default statuses (one success,
seven failure) a check is 1 + 8 = 9 requests, whatever the number of messages, and the final
``by_status`` breakdown reuses the last check's counts: a finished wait asks nothing more.
The ids travel in the query string, so they go :data:`~.targets.IDS_PER_REQUEST` per request:
a send of more than 100 chunks (100,000 destinations at the default batch size) costs those
9 requests per 100 of its bulk ids. The counts of one check are gathered, so the async client
asks them at once.

A check that is not over while records are still pending asks one more request (per id chunk):
the held records (``DELAYED``), counted and listed with their ``sendAt``, so that its line says
how many wait for their send time and when the next goes out (:mod:`.held`). A finished check,
or one with nothing pending, asks nothing more.

The line of a check
-------------------
:class:`ProgressNews` decides which lines a wait logs, the same way in a poke and in the
triggerer: the first, then only a line that differs from the last one logged (a count or the
next send time changed). A wait held until tomorrow's send window thus logs its line once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.core.flows import Gather, Procedure
from airflow_provider_twin.client.messages import api as notify
from airflow_provider_twin.client.messages.held import HELD_STATUS, held_from, held_requests
from airflow_provider_twin.client.messages.targets import Targets
from airflow_provider_twin.client.messages.verdict import (
    FAILURE,
    SUCCESS,
    TOTAL,
    Criteria,
    DeliveryProgress,
    evaluate,
)


@dataclass(frozen=True)
class CountRequest:
    """One count to ask TWIN: its answer is added to ``counts[key]``."""

    key: str
    call: ApiCall[int]


def check_requests(targets: Targets, criteria: Criteria) -> list[CountRequest]:
    """The counts one check needs: all records, then each configured status (per id chunk).

    One status per request: TWIN's ``status`` filter takes one value (twin-api.md §3.3).
    """
    requests: list[CountRequest] = []
    for filters in targets.filters():
        requests.append(CountRequest(TOTAL, notify.count_messages(**filters)))
        requests.extend(
            CountRequest(status, notify.count_messages(status=status, **filters))
            for status in criteria.statuses
        )
    return requests


def grouped(criteria: Criteria, counts: Mapping[str, int]) -> dict[str, int]:
    """Per-status counts summed into the three the verdict reads: total, success, failure."""
    return {
        TOTAL: int(counts.get(TOTAL, 0)),
        SUCCESS: sum(int(counts.get(status, 0)) for status in criteria.success_statuses),
        FAILURE: sum(int(counts.get(status, 0)) for status in criteria.failure_statuses),
    }


def breakdown_requests(targets: Targets, criteria: Criteria) -> list[CountRequest]:
    """One count per configured status, for a result whose check did not count them."""
    return [
        CountRequest(status, notify.count_messages(status=status, **filters))
        for status in criteria.statuses
        for filters in targets.filters()
    ]


def tally(requests: Sequence[CountRequest], answers: Sequence[int]) -> dict[str, int]:
    """Sum the answers of ``requests`` (in the same order) per key."""
    counts: dict[str, int] = {}
    for request, answer in zip(requests, answers, strict=True):
        counts[request.key] = counts.get(request.key, 0) + int(answer)
    return counts


def count(requests: Sequence[CountRequest]) -> Procedure[dict[str, int]]:
    """Ask every count of ``requests`` (together) and sum the answers per key."""
    answers = yield Gather([request.call for request in requests])
    return tally(requests, answers)


def check_delivery(
    targets: Targets, criteria: Criteria, zone: tzinfo | None = None
) -> Procedure[DeliveryProgress]:
    """One check: the counts of the targets (see Cost above), judged by ``criteria``.

    While the wait is not over and records are pending, one more request per id chunk finds the
    held records and their next ``sendAt`` (shown as TWIN gives it and in UTC, and in ``zone``
    when that differs from both: :func:`~.held.moment_text`); it is not made
    otherwise, nor when ``DELAYED`` is one of the configured statuses.
    """
    counts = yield from count(check_requests(targets, criteria))
    by_status = {status: int(counts.get(status, 0)) for status in criteria.statuses}
    sums = grouped(criteria, counts)
    progress = evaluate(targets, criteria, sums, by_status=by_status, zone=zone)
    if progress.done or progress.records["pending"] <= 0 or HELD_STATUS in criteria.statuses:
        return progress
    pages = yield Gather(held_requests(targets))
    held = held_from(pages)
    if held.count <= 0:
        return progress
    return evaluate(targets, criteria, sums, by_status=by_status, held=held, zone=zone)


class ProgressNews:
    """Which progress lines a wait logs: the first, then each that differs from the last logged.

    A sensor keeps one for its pokes, a trigger one for its polls; a deferring sensor hands the
    last line it logged to its trigger (``last``), so the triggerer does not repeat it.
    """

    def __init__(self, last: str | None = None) -> None:
        self.last = last

    def news(self, line: str) -> bool:
        """True when ``line`` (a :attr:`DeliveryProgress.message`) is new; it is then the last."""
        if line == self.last:
            return False
        self.last = line
        return True


def delivery_breakdown(
    targets: Targets, criteria: Criteria, progress: DeliveryProgress
) -> Procedure[dict[str, Any]]:
    """The final result of a finished wait: ``progress`` plus its records per configured status.

    The check's own per-status counts serve when it has them all (no request); else they are asked.
    """
    if set(criteria.statuses) <= progress.by_status.keys():
        return with_breakdown(progress.to_result(), criteria, progress.by_status)
    by_status = yield from count(breakdown_requests(targets, criteria))
    return with_breakdown(progress.to_result(), criteria, by_status)


def with_breakdown(
    result: Mapping[str, Any], criteria: Criteria, by_status: Mapping[str, int]
) -> dict[str, Any]:
    """``result`` plus ``by_status``: message records per configured status (zeros included)."""
    return {**result, "by_status": {status: int(by_status.get(status, 0)) for status in criteria.statuses}}
