"""The shared delivery-status rules: targets, criteria, count plans and the verdict."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.core.errors import (
    TwinAuthError,
    TwinProtocolError,
    TwinRateLimited,
    TwinServerError,
    TwinTransportError,
    TwinValidationError,
    is_transient,
)
from airflow_provider_twin.client.messages.status import (
    FAILURE_STATUSES,
    IDS_PER_REQUEST,
    Criteria,
    Targets,
    breakdown_requests,
    check_requests,
    evaluate,
    failed_destinations,
    failed_records_calls,
    flow_records_calls,
    needs_flow_check,
    tally,
    with_breakdown,
)

BULK = Targets.of(bulk_ids=["b1"])


def counts(total: int, success: int, failure: int) -> dict[str, int]:
    return {"total": total, "success": success, "failure": failure}


# -- targets --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "b"], ("a", "b")),
        ("a", ("a",)),
        ("a, b,,c", ("a", "b", "c")),
        ('["a", "b"]', ("a", "b")),
        ("['a', 'b']", ("a", "b")),
        (("a", "a", "b"), ("a", "b")),
    ],
)
def test_targets_accept_lists_strings_and_rendered_lists(value: object, expected: tuple[str, ...]) -> None:
    assert Targets.of(bulk_ids=value).ids == expected


def test_targets_need_exactly_one_kind() -> None:
    with pytest.raises(TwinInputError, match="exactly one"):
        Targets.of()
    with pytest.raises(TwinInputError, match="exactly one"):
        Targets.of(bulk_ids=["b"], group_ids=["g"])
    with pytest.raises(TwinInputError, match="exactly one"):
        Targets.of(bulk_ids=[])
    with pytest.raises(TwinInputError, match="ids must be strings"):
        Targets.of(bulk_ids=[{"x": 1}])
    with pytest.raises(TwinInputError, match="expected_total"):
        Targets.of(bulk_ids="b", expected_total=-1)
    with pytest.raises(TwinInputError, match="expected_total"):
        Targets.of(bulk_ids="b", expected_total="many")


def test_targets_from_send_summary() -> None:
    summary = {"bulk_ids": ["b1", "b2"], "group_id": "g", "total": 12, "accepted": 10, "rejected": 2}
    targets = Targets.from_summary(summary)
    assert (targets.kind, targets.ids, targets.expected_total) == ("bulk_ids", ("b1", "b2"), 10)
    assert Targets.from_summary(summary, expected_total=7).expected_total == 7
    by_group = Targets.from_summary({"bulk_ids": [], "group_id": "g", "accepted": 3})
    assert (by_group.kind, by_group.ids, by_group.expected_total) == ("group_ids", ("g",), 3)
    assert Targets.from_summary('{"bulk_ids": ["b"], "accepted": "4"}').expected_total == 4
    with pytest.raises(TwinInputError, match="names no"):
        Targets.from_summary({"accepted": 3})
    with pytest.raises(TwinInputError, match="mapping"):
        Targets.from_summary(["b1"])


def test_a_summary_of_many_chunks_is_watched_by_its_own_group() -> None:
    many = [f"b{i}" for i in range(IDS_PER_REQUEST + 1)]
    summary = {"bulk_ids": many, "group_id": "g", "own_group": True, "accepted": 100_500, "skipped": 0}
    targets = Targets.from_summary(summary)
    assert (targets.kind, targets.ids, targets.expected_total) == ("group_ids", ("g",), 100_500)
    assert len(check_requests(targets, Criteria())) == 3

    given_group = Targets.from_summary({**summary, "own_group": False})
    assert (given_group.kind, len(given_group.ids)) == ("bulk_ids", IDS_PER_REQUEST + 1)
    assert len(check_requests(given_group, Criteria())) == 6, "bulk ids split, 100 per request"
    few = Targets.from_summary({**summary, "bulk_ids": many[:IDS_PER_REQUEST]})
    assert few.kind == "bulk_ids", "bulk ids that fit one request are watched as they are"


def test_targets_round_trip_and_destinations() -> None:
    targets = Targets.of(flow_ids=["f1", "f2"])
    assert Targets.from_json(targets.to_json()) == targets
    assert targets.destinations == 2
    assert Targets.of(message_ids="m1,m2,m3").destinations == 3
    assert Targets.of(bulk_ids="b").destinations is None
    assert Targets.of(bulk_ids="b", expected_total=5).destinations == 5
    with pytest.raises(TwinInputError):
        Targets.from_json({"bulk_ids": ["b"], "group_ids": ["g"]})


def test_id_targets_are_split_per_request() -> None:
    ids = [f"m{i}" for i in range(IDS_PER_REQUEST * 2 + 1)]
    filters = Targets.of(message_ids=ids).filters()
    assert [len(f["ids"]) for f in filters] == [IDS_PER_REQUEST, IDS_PER_REQUEST, 1]
    for kind in ("bulk_ids", "group_ids", "flow_ids"):
        split = Targets.of(**{kind: ids}).filters()
        assert [len(next(iter(f.values()))) for f in split] == [IDS_PER_REQUEST, IDS_PER_REQUEST, 1], kind
    assert Targets.of(bulk_ids=ids[:IDS_PER_REQUEST]).filters() == [{"bulk_ids": ids[:IDS_PER_REQUEST]}]


def test_a_check_of_a_thousand_bulk_ids_keeps_every_request_line_short() -> None:
    from urllib.parse import urlencode

    bulk_ids = [str(uuid.uuid4()) for _ in range(1000)]
    requests = check_requests(Targets.of(bulk_ids=bulk_ids), Criteria())
    assert len(requests) == 3 * 10
    longest = max(len(urlencode(request.call.params)) for request in requests)
    assert longest < 4096, longest


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


# -- count plans ----------------------------------------------------------------------------------
def test_a_check_is_three_count_requests_whatever_the_size() -> None:
    requests = check_requests(Targets.of(bulk_ids=["b1", "b2"]), Criteria())
    assert [r.key for r in requests] == ["total", "success", "failure"]
    params = [dict(r.call.params) for r in requests]
    assert all(p["withoutItems"] == "1" and p["bulkId"] == "b1,b2" for p in params)
    assert "status" not in params[0]
    assert params[1]["status"] == "DELIVERED"
    assert params[2]["status"] == ",".join(FAILURE_STATUSES)


def test_id_targets_multiply_requests_by_chunks_and_tally_sums_them() -> None:
    ids = [f"m{i}" for i in range(IDS_PER_REQUEST + 1)]
    requests = check_requests(Targets.of(message_ids=ids), Criteria())
    assert len(requests) == 6
    assert tally(requests, [100, 60, 40, 1, 1, 0]) == {"total": 101, "success": 61, "failure": 40}
    with pytest.raises(ValueError, match="zip"):
        tally(requests, [1])


def test_breakdown_asks_once_per_configured_status() -> None:
    criteria = Criteria(failure_statuses=("UNDELIVERED", "ERROR"))
    requests = breakdown_requests(BULK, criteria)
    assert [r.key for r in requests] == ["DELIVERED", "UNDELIVERED", "ERROR"]
    assert [r.call.params["status"] for r in requests] == ["DELIVERED", "UNDELIVERED", "ERROR"]
    result = with_breakdown({"state": "success"}, criteria, {"DELIVERED": 4})
    assert result["by_status"] == {"DELIVERED": 4, "UNDELIVERED": 0, "ERROR": 0}


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


# -- failed destinations --------------------------------------------------------------------------
def _record(i: int, flow: str, status: str, channel: str = "SMS", second: int = 0) -> dict[str, object]:
    return {
        "id": f"m{i}",
        "flowId": flow,
        "bulkId": "b1",
        "groupId": "g1",
        "status": status,
        "channel": channel,
        "destination": {"phone": f"7999000000{flow[-1]}"},
        "createdAt": f"2026-01-01T00:00:{second:02d}+00:00",
    }


def test_failed_destinations_without_fallback() -> None:
    failed = [_record(1, "f1", "UNDELIVERED"), _record(2, "f2", "EXPIRED")]
    result = failed_destinations(failed, Criteria())  # type: ignore[arg-type]
    assert [(d["flow_id"], d["status"], d["channels_tried"]) for d in result] == [
        ("f1", "UNDELIVERED", ["SMS"]),
        ("f2", "EXPIRED", ["SMS"]),
    ]
    assert result[0]["destination"] == {"phone": "79990000001"}


def test_failed_destinations_skip_flows_rescued_by_a_fallback() -> None:
    failed = [
        _record(1, "f1", "UNDELIVERED", "SMS", 1),
        _record(2, "f2", "UNDELIVERED", "SMS", 1),
        _record(3, "f3", "UNDELIVERED", "SMS", 1),
        _record(5, "f2", "ERROR", "VIBER", 5),
    ]
    flow_records = [
        *failed,
        _record(4, "f1", "DELIVERED", "VIBER", 4),  # rescued
        _record(6, "f3", "PENDING", "VIBER", 6),  # may still be rescued
    ]
    result = failed_destinations(failed, Criteria(), flow_records)  # type: ignore[arg-type]
    assert [(d["flow_id"], d["status"], d["channel"], d["channels_tried"]) for d in result] == [
        ("f2", "ERROR", "VIBER", ["SMS", "VIBER"])
    ]


def test_failed_destination_plans() -> None:
    calls = failed_records_calls(BULK, Criteria())
    assert len(calls) == 1
    assert calls[0].params["status"] == ",".join(FAILURE_STATUSES)
    assert calls[0].params["limit"] == "1000"
    assert "withoutItems" not in calls[0].params
    flows = [f"f{i}" for i in range(IDS_PER_REQUEST + 5)]
    assert [c.params["flowId"].count(",") + 1 for c in flow_records_calls(flows)] == [IDS_PER_REQUEST, 5]
    done = evaluate(Targets.of(bulk_ids="b", expected_total=4), Criteria(), counts(4, 3, 1)).to_result()
    assert not needs_flow_check(done)
    fallback = evaluate(Targets.of(bulk_ids="b", expected_total=4), Criteria(), counts(5, 3, 2)).to_result()
    assert needs_flow_check(fallback)
    assert needs_flow_check(evaluate(BULK, Criteria(), counts(4, 3, 1)).to_result())


def test_a_summary_of_a_retried_send_gives_no_expected_total() -> None:
    summary = {"bulk_ids": ["b1", "b2"], "accepted": 500, "skipped": 1000}
    assert Targets.from_summary(summary).expected_total is None
    assert Targets.from_summary(summary, expected_total=1500).expected_total == 1500
    assert Targets.from_summary({**summary, "skipped": 0}).expected_total == 500
    assert Targets.from_summary({**summary, "expected_total": 1400}).expected_total == 1400
