"""The destinations a step did not reach: which flows failed, and the scan that finds them."""

from __future__ import annotations

import pytest

from airflow_provider_twin.client import TwinError
from airflow_provider_twin.client.messages import (
    FAILURE_STATUSES,
    Criteria,
    Targets,
    scan_failed_destinations,
    with_failed_destinations,
)
from airflow_provider_twin.client.messages.failed_destinations import (
    failed_destinations,
    failed_records_calls,
    flow_records_calls,
    needs_flow_check,
)
from airflow_provider_twin.client.messages.targets import IDS_PER_REQUEST
from airflow_provider_twin.client.messages.verdict import evaluate
from airflow_provider_twin.hooks.twin import TwinHook
from tests.unit.messages.status.campaigns import Campaigns

BULK = Targets.of(bulk_ids=["b1"])


def counts(total: int, success: int, failure: int) -> dict[str, int]:
    return {"total": total, "success": success, "failure": failure}


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
    # one status per listing: TWIN's ``status`` filter takes one value (twin-api.md §3.3)
    assert [c.params["status"] for c in calls] == list(FAILURE_STATUSES)
    assert all(c.params["limit"] == "1000" and "withoutItems" not in c.params for c in calls)
    counted = {"UNDELIVERED": 0, "ERROR": 3}  # statuses the check counted none of are not listed
    assert [c.params["status"] for c in failed_records_calls(BULK, Criteria(), counted)] == [
        "ERROR",
        *FAILURE_STATUSES[2:],
    ]
    flows = [f"f{i}" for i in range(IDS_PER_REQUEST + 5)]
    assert [c.params["flowId"].count(",") + 1 for c in flow_records_calls(flows)] == [IDS_PER_REQUEST, 5]
    done = evaluate(Targets.of(bulk_ids="b", expected_total=4), Criteria(), counts(4, 3, 1)).to_result()
    assert not needs_flow_check(done)
    fallback = evaluate(Targets.of(bulk_ids="b", expected_total=4), Criteria(), counts(5, 3, 2)).to_result()
    assert needs_flow_check(fallback)
    assert needs_flow_check(evaluate(BULK, Criteria(), counts(4, 3, 1)).to_result())


# -- the scan -------------------------------------------------------------------------------------
def test_the_scan_pages_failed_records_and_stops_at_the_limit(twin: Campaigns) -> None:
    twin.send(2500, "ERROR")
    targets, criteria = Targets.of(bulk_ids="bulk-1", expected_total=2500), Criteria()
    by_status = {status: 2500 if status == "ERROR" else 0 for status in criteria.statuses}
    done = evaluate(targets, criteria, counts(2500, 0, 2500)).to_result() | {"by_status": by_status}
    hook = TwinHook()
    try:
        client = hook.get_client()
        twin.forget_requests()
        scan = client.run(scan_failed_destinations(done, criteria, 1200))
        found, truncated = scan["failed_destinations"], scan["failed_destinations_truncated"]
        assert (len(found), truncated, twin.list_requests) == (1200, True, 2)
        twin.forget_requests()
        scan = client.run(scan_failed_destinations(done, criteria, 5000))
        found, truncated = scan["failed_destinations"], scan["failed_destinations_truncated"]
        assert (len(found), truncated, twin.list_requests) == (2500, False, 3)
        empty = client.run(scan_failed_destinations(done, criteria, 0))
        assert empty == {"failed_destinations": [], "failed_destinations_truncated": False}
    finally:
        hook.close()


async def test_the_scan_skips_rescued_flows_with_either_client(twin: Campaigns) -> None:
    sms = twin.send(3, "UNDELIVERED")
    twin.send(2, {"sms": "UNDELIVERED", "viber": "DELIVERED"}, channels=("sms", "viber"))
    targets, criteria = Targets.of(bulk_ids="bulk-1", expected_total=5), Criteria()
    done = evaluate(targets, criteria, counts(7, 2, 5)).to_result()
    assert needs_flow_check(done)
    hook = TwinHook()
    try:
        by_sync = hook.get_client().run(scan_failed_destinations(done, criteria, 10))
        by_async = await (await hook.get_async_client()).run(scan_failed_destinations(done, criteria, 10))
    finally:
        await hook.aclose()
    assert by_sync == by_async
    assert [d["flow_id"] for d in by_sync["failed_destinations"]] == [r["flowId"] for r in sms]
    assert all(d["channels_tried"] == ["SMS"] for d in by_sync["failed_destinations"])


@pytest.mark.twin_strict
def test_the_scan_lists_each_failure_status_on_its_own(twin: Campaigns) -> None:
    # Strict TWIN compares ``status`` as one string: a comma-joined list matches no message.
    undelivered = twin.send(2, "UNDELIVERED")
    expired = twin.send(1, "EXPIRED")
    twin.send(1, "DELIVERED")
    targets, criteria = Targets.of(bulk_ids="bulk-1", expected_total=4), Criteria()
    done = evaluate(targets, criteria, counts(4, 1, 3)).to_result()
    hook = TwinHook()
    try:
        scan = hook.get_client().run(scan_failed_destinations(done, criteria, 10))
    finally:
        hook.close()
    found = sorted(d["flow_id"] for d in scan["failed_destinations"])
    assert found == sorted(r["flowId"] for r in undelivered + expired)


def test_a_result_gets_its_failed_destinations_and_the_warning_to_log(twin: Campaigns) -> None:
    twin.send(3, "ERROR")
    targets, criteria = Targets.of(bulk_ids="bulk-1", expected_total=3), Criteria()
    done = evaluate(targets, criteria, counts(3, 0, 3)).to_result()
    hook = TwinHook()
    try:
        client = hook.get_client()
        complete, warning = client.run(with_failed_destinations(done, criteria, 10))
        assert (len(complete["failed_destinations"]), warning) == (3, None)
        assert "failed_destinations" not in done, "the given result is left as it was"
        cut, warning = client.run(with_failed_destinations(done, criteria, 2))
        assert (len(cut["failed_destinations"]), cut["failed_destinations_truncated"]) == (2, True)
        assert warning == "more than 2 failed destinations; only the first 2 are returned"
    finally:
        hook.close()


def test_best_effort_keeps_the_result_when_twin_fails_the_listing(twin: Campaigns) -> None:
    twin.send(2, "ERROR")
    targets, criteria = Targets.of(bulk_ids="bulk-1", expected_total=2), Criteria()
    done = evaluate(targets, criteria, counts(2, 0, 2)).to_result()
    hook = TwinHook()
    try:
        client = hook.get_client()
        twin.fail_next(20, status=400)
        with pytest.raises(TwinError):
            client.run(with_failed_destinations(done, criteria, 10))
        twin.fail_next(20, status=400)
        kept, warning = client.run(with_failed_destinations(done, criteria, 10, best_effort=True))
    finally:
        hook.close()
    assert kept == done
    assert warning is not None
    assert warning.startswith("could not list the failed destinations: ")
