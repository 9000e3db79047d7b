"""A delivery check and its final breakdown, written once for the sync and the async client.

Each is a :data:`~airflow_provider_twin.client.core.flows.Procedure`: the status sensor runs it
with ``TwinClient.run`` in a worker, the status trigger with ``await AsyncTwinClient.run`` in
the triggerer, so both agree on every request and every verdict.

Cost
----
A check never lists messages. It asks TWIN three counts with ``withoutItems``
(twin-api.md §1.2, §3.3): all messages of the targets, those in a success status and those in
a failure status (statuses of one group comma-joined into one ``status`` filter). A check of
a million messages therefore costs the same three requests as a check of ten. The ids travel
in the query string, so they go :data:`~.targets.IDS_PER_REQUEST` per request: a send of more
than 100 chunks (100,000 destinations at the default batch size) costs three requests per 100
of its bulk ids. The counts of one check are gathered, so the async client asks them at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.core.flows import Gather, Procedure
from airflow_provider_twin.client.messages import api as notify
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


def check_delivery(targets: Targets, criteria: Criteria) -> Procedure[DeliveryProgress]:
    """One check: the three counts of the targets, judged by ``criteria``."""
    counts = yield from count(check_requests(targets, criteria))
    return evaluate(targets, criteria, counts)


def delivery_breakdown(
    targets: Targets, criteria: Criteria, progress: DeliveryProgress
) -> Procedure[dict[str, Any]]:
    """The final result of a finished wait: ``progress`` plus its records per configured status."""
    by_status = yield from count(breakdown_requests(targets, criteria))
    return with_breakdown(progress.to_result(), criteria, by_status)


def with_breakdown(
    result: Mapping[str, Any], criteria: Criteria, by_status: Mapping[str, int]
) -> dict[str, Any]:
    """``result`` plus ``by_status``: message records per configured status (zeros included)."""
    return {**result, "by_status": {status: int(by_status.get(status, 0)) for status in criteria.statuses}}
