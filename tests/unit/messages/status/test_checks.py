"""One delivery check and its final breakdown: the counts asked, and the procedures asking them."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest

from airflow_provider_twin.client.core.errors import (
    TwinAuthError,
    TwinProtocolError,
    TwinRateLimited,
    TwinServerError,
    TwinTransportError,
    TwinValidationError,
    is_transient,
)
from airflow_provider_twin.client.core.flows import Gather, Procedure
from airflow_provider_twin.client.messages import (
    FAILURE_STATUSES,
    Criteria,
    Targets,
    check_delivery,
    delivery_breakdown,
)
from airflow_provider_twin.client.messages.status import (
    breakdown_requests,
    check_requests,
    grouped,
    tally,
    with_breakdown,
)
from airflow_provider_twin.client.messages.targets import IDS_PER_REQUEST
from airflow_provider_twin.client.messages.verdict import evaluate
from airflow_provider_twin.hooks.twin import TwinHook
from tests.unit.messages.status.campaigns import Campaigns

T = TypeVar("T")
BULK = Targets.of(bulk_ids=["b1"])


# -- count plans ----------------------------------------------------------------------------------
def test_a_check_is_one_count_per_status_plus_one_whatever_the_size() -> None:
    requests = check_requests(Targets.of(bulk_ids=["b1", "b2"]), Criteria())
    assert [r.key for r in requests] == ["total", "DELIVERED", *FAILURE_STATUSES]
    params = [dict(r.call.params) for r in requests]
    assert all(p["withoutItems"] == "1" and p["bulkId"] == "b1,b2" for p in params)
    assert "status" not in params[0]
    # one status per request: TWIN's ``status`` filter takes one value (twin-api.md §3.3)
    assert [p["status"] for p in params[1:]] == ["DELIVERED", *FAILURE_STATUSES]


def test_id_targets_multiply_requests_by_chunks_and_tally_sums_them() -> None:
    ids = [f"m{i}" for i in range(IDS_PER_REQUEST + 1)]
    criteria = Criteria(failure_statuses=("UNDELIVERED", "ERROR"))
    requests = check_requests(Targets.of(message_ids=ids), criteria)
    assert len(requests) == 8
    counts = tally(requests, [100, 60, 30, 10, 1, 1, 0, 0])
    assert counts == {"total": 101, "DELIVERED": 61, "UNDELIVERED": 30, "ERROR": 10}
    assert grouped(criteria, counts) == {"total": 101, "success": 61, "failure": 40}
    with pytest.raises(ValueError, match="zip"):
        tally(requests, [1])


def test_breakdown_asks_once_per_configured_status() -> None:
    criteria = Criteria(failure_statuses=("UNDELIVERED", "ERROR"))
    requests = breakdown_requests(BULK, criteria)
    assert [r.key for r in requests] == ["DELIVERED", "UNDELIVERED", "ERROR"]
    assert [r.call.params["status"] for r in requests] == ["DELIVERED", "UNDELIVERED", "ERROR"]
    result = with_breakdown({"state": "success"}, criteria, {"DELIVERED": 4})
    assert result["by_status"] == {"DELIVERED": 4, "UNDELIVERED": 0, "ERROR": 0}


# -- transient errors -----------------------------------------------------------------------------
def _api(cls: type, status: int) -> Exception:
    return cls("x", status=status, error="x")  # type: ignore[no-any-return]


def test_transient_errors() -> None:
    assert is_transient(_api(TwinServerError, 503))
    assert is_transient(_api(TwinRateLimited, 429))
    assert is_transient(TwinTransportError("reset", ambiguous=True))
    assert not is_transient(_api(TwinAuthError, 401))
    assert not is_transient(_api(TwinValidationError, 422))
    assert not is_transient(TwinProtocolError("garbage"))
    assert not is_transient(ValueError("x"))


# -- the procedures -------------------------------------------------------------------------------
def finish(procedure: Procedure[T], answer: Any) -> T:
    """Send the last step's answer into ``procedure`` and return what it returns."""
    with pytest.raises(StopIteration) as stop:
        procedure.send(answer)
    return stop.value.value  # type: ignore[no-any-return]


def test_a_check_asks_its_counts_together_and_judges_them() -> None:
    criteria = Criteria(failure_statuses=("UNDELIVERED", "ERROR"))
    procedure = check_delivery(BULK, criteria)
    step = next(procedure)
    assert isinstance(step, Gather), "the async client sends the counts of one check at once"
    assert [call.params.get("status") for call in step.calls] == [None, "DELIVERED", "UNDELIVERED", "ERROR"]
    progress = finish(procedure, [10, 8, 1, 1])
    assert (progress.state, progress.succeeded, progress.failed, progress.pending) == ("success", 8, 2, 0)
    assert progress.by_status == {"DELIVERED": 8, "UNDELIVERED": 1, "ERROR": 1}
    # the final breakdown reuses the check's per-status counts: no request
    final = finish(delivery_breakdown(BULK, criteria, progress), None)
    assert final["by_status"] == {"DELIVERED": 8, "UNDELIVERED": 1, "ERROR": 1}


def test_the_breakdown_of_a_progress_without_status_counts_asks_them() -> None:
    criteria = Criteria(failure_statuses=("UNDELIVERED", "ERROR"))
    progress = evaluate(BULK, criteria, {"total": 5, "success": 4, "failure": 1})
    procedure = delivery_breakdown(BULK, criteria, progress)
    step = next(procedure)
    assert isinstance(step, Gather)
    assert [call.params["status"] for call in step.calls] == ["DELIVERED", "UNDELIVERED", "ERROR"]
    result = finish(procedure, [4, 1, 0])
    assert result == {**progress.to_result(), "by_status": {"DELIVERED": 4, "UNDELIVERED": 1, "ERROR": 0}}


async def test_the_sync_and_the_async_client_run_the_same_check(twin: Campaigns) -> None:
    twin.send(3, "DELIVERED")
    twin.send(1, "ERROR")
    twin.send(1)
    targets, criteria = Targets.of(bulk_ids="bulk-1", expected_total=5), Criteria(min_success_ratio=0.6)
    hook = TwinHook()
    try:
        by_sync = hook.get_client().run(check_delivery(targets, criteria))
        client = await hook.get_async_client()
        by_async = await client.run(check_delivery(targets, criteria))
        final_sync = hook.get_client().run(delivery_breakdown(targets, criteria, by_sync))
        final_async = await client.run(delivery_breakdown(targets, criteria, by_async))
    finally:
        await hook.aclose()
    assert by_sync.to_result() == {**by_async.to_result(), "checked_at": by_sync.checked_at}
    assert (by_sync.state, by_sync.reason, by_sync.pending) == ("success", "min_success_ratio", 1)
    assert final_sync["by_status"] == final_async["by_status"]
    assert (final_sync["by_status"]["DELIVERED"], final_sync["by_status"]["ERROR"]) == (3, 1)
    assert twin.count_requests == 2 * 9, "9 counts a check; the breakdowns reuse them"


# -- one status per filter (twin-api.md §3.3) -------------------------------------------------------
@pytest.mark.parametrize(
    "strict",
    [
        pytest.param(True, marks=pytest.mark.twin_strict),
        pytest.param(False, marks=pytest.mark.twin_strict(False)),
    ],
)
async def test_failures_are_counted_whether_twin_takes_one_status_or_a_list(
    twin: Campaigns, strict: bool
) -> None:
    # Strict TWIN compares ``status`` as one string: a comma-joined list matches no message.
    assert twin.admin.settings()["strict"] is strict
    twin.send(3, "DELIVERED")
    twin.send(2, "UNDELIVERED")
    twin.send(1, "EXPIRED")
    targets, criteria = Targets.of(bulk_ids="bulk-1"), Criteria()
    hook = TwinHook()
    try:
        by_sync = hook.get_client().run(check_delivery(targets, criteria))
        client = await hook.get_async_client()
        by_async = await client.run(check_delivery(targets, criteria))
        final = await client.run(delivery_breakdown(targets, criteria, by_async))
    finally:
        await hook.aclose()
    for progress in (by_sync, by_async):
        assert (progress.state, progress.succeeded, progress.failed, progress.pending) == ("success", 3, 3, 0)
        assert progress.records == {"total": 6, "success": 3, "failure": 3, "pending": 0}
    assert (final["by_status"]["UNDELIVERED"], final["by_status"]["EXPIRED"]) == (2, 1)
