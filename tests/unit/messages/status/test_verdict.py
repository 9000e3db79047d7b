"""The verdict on a check's three counts: statuses, ratios and fallback channels."""

from __future__ import annotations

import pytest

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.messages import Criteria, Targets
from airflow_provider_twin.client.messages.verdict import evaluate

BULK = Targets.of(bulk_ids=["b1"])


def counts(total: int, success: int, failure: int) -> dict[str, int]:
    return {"total": total, "success": success, "failure": failure}


# -- criteria -------------------------------------------------------------------------------------
def test_criteria_defaults_and_classification() -> None:
    criteria = Criteria()
    assert criteria.success_statuses == ("DELIVERED",)
    assert {"UNDELIVERED", "ERROR", "EXPIRED", "CANCELLED", "CANCELED", "REJECTED", "FAILED"} == set(
        criteria.failure_statuses
    )
    assert criteria.classify("delivered") == "success"
    assert criteria.classify("EXPIRED") == "failure"
    assert criteria.classify("PENDING") == "pending"
    assert criteria.classify("SOMETHING_NEW") == "pending"
    assert criteria.classify(None) == "pending"


def test_criteria_validation() -> None:
    assert Criteria(success_statuses=("delivered", "READ")).success_statuses == ("DELIVERED", "READ")
    with pytest.raises(TwinInputError, match="both success and failure"):
        Criteria(success_statuses=("DELIVERED", "ERROR"))
    with pytest.raises(TwinInputError, match="at least one"):
        Criteria(failure_statuses=())
    with pytest.raises(TwinInputError, match="between 0 and 1"):
        Criteria(min_success_ratio=1.5)
    with pytest.raises(TwinInputError, match="between 0 and 1"):
        Criteria(max_failure_ratio=True)  # type: ignore[arg-type]
    criteria = Criteria(min_success_ratio=0.9, max_failure_ratio=0.2)
    assert Criteria.from_json(criteria.to_json()) == criteria


def test_criteria_of_reads_comma_separated_statuses() -> None:
    criteria = Criteria.of("delivered,read", "error", 0.5, None)
    assert criteria.success_statuses == ("DELIVERED", "READ")
    assert criteria.failure_statuses == ("ERROR",)
    assert criteria.statuses == ("DELIVERED", "READ", "ERROR")
    assert criteria.min_success_ratio == 0.5
    with pytest.raises(TwinInputError, match="success_statuses: give at least one status"):
        Criteria.of("")


# -- the verdict ----------------------------------------------------------------------------------
def test_pending_while_any_message_is_pending() -> None:
    progress = evaluate(BULK, Criteria(), counts(10, 6, 1))
    assert (progress.state, progress.succeeded, progress.failed, progress.pending) == ("pending", 6, 1, 3)
    assert progress.counted_by == "record"
    assert "6 of 10" in progress.message


def test_done_when_nothing_is_pending() -> None:
    progress = evaluate(BULK, Criteria(), counts(10, 8, 2))
    assert (progress.state, progress.reason) == ("success", "all_final")
    assert (progress.success_ratio, progress.failure_ratio) == (0.8, 0.2)
    result = progress.to_result()
    assert result["state"] == "success"
    assert result["records"] == {"total": 10, "success": 8, "failure": 2, "pending": 0}
    assert result["targets"] == {"bulk_ids": ["b1"], "expected_total": None}


def test_nothing_listed_yet_is_not_done() -> None:
    progress = evaluate(BULK, Criteria(), counts(0, 0, 0))
    assert progress.state == "pending"
    assert "no message yet" in progress.message


def test_expected_total_waits_for_twin_to_list_every_destination() -> None:
    targets = Targets.of(bulk_ids="b1", expected_total=10)
    progress = evaluate(targets, Criteria(), counts(6, 6, 0))
    assert (progress.state, progress.pending) == ("pending", 4)
    assert "lists 6 of 10" in progress.message
    assert evaluate(targets, Criteria(), counts(10, 10, 0)).state == "success"


def test_expected_zero_is_done_at_once() -> None:
    progress = evaluate(Targets.of(bulk_ids="b1", expected_total=0), Criteria(), counts(0, 0, 0))
    assert (progress.state, progress.success_ratio) == ("success", 0.0)


def test_min_success_ratio_finishes_early() -> None:
    criteria = Criteria(min_success_ratio=0.7)
    assert evaluate(BULK, criteria, counts(10, 6, 0)).state == "pending"
    progress = evaluate(BULK, criteria, counts(10, 7, 0))
    assert (progress.state, progress.reason, progress.pending) == ("success", "min_success_ratio", 3)


def test_max_failure_ratio_fails_fast_and_wins_over_min_success() -> None:
    criteria = Criteria(max_failure_ratio=0.2, min_success_ratio=0.5)
    assert evaluate(BULK, criteria, counts(10, 0, 2)).state == "pending"
    progress = evaluate(BULK, criteria, counts(10, 6, 3))
    assert (progress.state, progress.reason) == ("failure", "max_failure_ratio")
    assert "exceeds max_failure_ratio" in progress.message


def test_fallback_attempts_count_per_destination_with_expected_total() -> None:
    # 4 destinations; 2 SMS attempts failed and fell back to Viber: one delivered, one pending.
    targets = Targets.of(bulk_ids="b1", expected_total=4)
    progress = evaluate(targets, Criteria(max_failure_ratio=0.1), counts(6, 3, 2))
    assert (progress.state, progress.succeeded, progress.failed, progress.pending) == ("pending", 3, 0, 1)
    # The Viber attempt failed too: one destination failed for good.
    progress = evaluate(targets, Criteria(), counts(6, 3, 3))
    assert (progress.state, progress.succeeded, progress.failed, progress.pending) == ("success", 3, 1, 0)
    assert progress.success_ratio == 0.75
    # Without expected_total each record counts: pessimistic, as documented.
    progress = evaluate(BULK, Criteria(), counts(6, 3, 3))
    assert (progress.counted_by, progress.total, progress.failed) == ("record", 6, 3)


def test_required_channel_records_never_push_totals_over_destinations() -> None:
    # 2 destinations, each sent on SMS and on a required Viber in parallel; both delivered twice.
    targets = Targets.of(flow_ids=["f1", "f2"])
    progress = evaluate(targets, Criteria(), counts(4, 4, 0))
    assert (progress.succeeded, progress.failed, progress.pending, progress.success_ratio) == (2, 0, 0, 1.0)
    # One destination delivered on SMS, its required Viber still pending: not final yet.
    progress = evaluate(targets, Criteria(), counts(4, 3, 0))
    assert (progress.state, progress.records["pending"]) == ("pending", 1)
