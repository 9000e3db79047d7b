"""TwinMessageStatusSensor against the emulator: poke, defer, resume, failed destinations."""

from __future__ import annotations

import json
import time
from typing import Any
from unittest import mock

import pytest
from airflow.sdk import PokeReturnValue
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_twin.client.messages import Criteria, Targets
from airflow_provider_twin.client.messages.verdict import evaluate
from airflow_provider_twin.sensors.messages import FAILURE_XCOM_KEY, TwinMessageStatusSensor
from airflow_provider_twin.triggers.messages import TwinMessageStatusTrigger
from tests.unit.messages.status.campaigns import LOGIN_ROUTE, Campaigns


@pytest.fixture
def context() -> dict[str, Any]:
    return {"ti": mock.MagicMock()}


def sensor(**kwargs: Any) -> TwinMessageStatusSensor:
    kwargs.setdefault("bulk_ids", ["bulk-1"])
    kwargs.setdefault("deferrable", False)
    return TwinMessageStatusSensor(task_id="wait", poke_interval=1, timeout=60, **kwargs)


# -- construction ---------------------------------------------------------------------------------
def test_arguments_are_checked_at_parse_time() -> None:
    with pytest.raises(ValueError, match="not both"):
        TwinMessageStatusSensor(task_id="w", targets={"bulk_ids": ["b"]}, bulk_ids=["b"])
    with pytest.raises(ValueError, match="give targets"):
        TwinMessageStatusSensor(task_id="w")
    with pytest.raises(ValueError, match="both success and failure"):
        TwinMessageStatusSensor(task_id="w", bulk_ids="b", success_statuses=["DELIVERED", "ERROR"])
    with pytest.raises(ValueError, match="between 0 and 1"):
        TwinMessageStatusSensor(task_id="w", bulk_ids="b", max_failure_ratio=2)
    with pytest.raises(ValueError, match="must not be negative"):
        TwinMessageStatusSensor(task_id="w", bulk_ids="b", failed_destinations_limit=-1)
    task = TwinMessageStatusSensor(task_id="w", bulk_ids="b", success_statuses="delivered,read")
    assert task.criteria.success_statuses == ("DELIVERED", "READ")


def test_target_arguments_are_templated() -> None:
    assert set(TwinMessageStatusSensor.template_fields) == {
        "targets",
        "bulk_ids",
        "group_ids",
        "message_ids",
        "flow_ids",
        "expected_total",
    }


def test_default_deferrable_comes_from_the_config() -> None:
    import inspect

    from airflow.sdk import conf

    expected = conf.getboolean("operators", "default_deferrable", fallback=False)
    default = inspect.signature(TwinMessageStatusSensor.__init__).parameters["deferrable"].default
    assert default is expected
    assert TwinMessageStatusSensor(task_id="w", bulk_ids="b").deferrable is expected


def test_bad_rendered_targets_fail_without_retry(context: dict[str, Any], twin: Campaigns) -> None:
    task = sensor(bulk_ids=[])
    with pytest.raises(AirflowFailException, match="exactly one"):
        task.poke(context)


# -- poke / reschedule ----------------------------------------------------------------------------
def test_poke_is_false_while_pending_then_returns_the_outcome(
    context: dict[str, Any], twin: Campaigns
) -> None:
    twin.send(9)  # pending, then delivered
    twin.send(1, then="EXPIRED")
    task = sensor()
    assert task.poke(context) is False
    twin.release()
    done = task.poke(context)
    assert isinstance(done, PokeReturnValue)
    assert done.is_done
    result = done.xcom_value
    assert (result["state"], result["succeeded"], result["failed"], result["success_ratio"]) == (
        "success",
        9,
        1,
        0.9,
    )
    assert result["by_status"]["EXPIRED"] == 1
    assert "failed_destinations" not in result
    json.dumps(result)


def test_send_summary_as_targets(context: dict[str, Any], twin: Campaigns) -> None:
    twin.send(3, "DELIVERED")
    task = sensor(bulk_ids=None, targets={"bulk_ids": ["bulk-1"], "group_id": "g", "accepted": 4})
    assert task.poke(context) is False  # TWIN lists 3 of the 4 accepted destinations
    twin.send(1, "DELIVERED")
    result = task.poke(context).xcom_value  # type: ignore[union-attr]
    assert (result["total"], result["counted_by"]) == (4, "destination")


def test_min_success_ratio_finishes_early(context: dict[str, Any], twin: Campaigns) -> None:
    twin.send(8, "DELIVERED")
    twin.send(2)
    result = sensor(min_success_ratio=0.8).poke(context).xcom_value  # type: ignore[union-attr]
    assert (result["reason"], result["pending"]) == ("min_success_ratio", 2)


def test_max_failure_ratio_fails_fast_and_pushes_the_outcome(
    context: dict[str, Any], twin: Campaigns
) -> None:
    twin.send(7)
    twin.send(3, "UNDELIVERED")
    task = sensor(max_failure_ratio=0.25, return_failed_destinations=True)
    with pytest.raises(AirflowFailException, match="exceeds max_failure_ratio"):
        task.poke(context)
    key, value = context["ti"].xcom_push.call_args.kwargs.values()
    assert key == FAILURE_XCOM_KEY
    assert value["state"] == "failure"
    assert len(value["failed_destinations"]) == 3


def test_fast_fail_in_poke_mode_respects_soft_fail(context: dict[str, Any], twin: Campaigns) -> None:
    twin.send(1, "ERROR")
    task = sensor(max_failure_ratio=0.0, soft_fail=True)
    with pytest.raises(AirflowSkipException):
        task.execute(context)


def test_transient_errors_mean_not_known_yet(context: dict[str, Any], twin: Campaigns) -> None:
    twin.send(1, "DELIVERED")
    twin.fail_next(2)  # both attempts of the client's first count fail
    assert sensor().poke(context) is False
    assert sensor().poke(context)


def test_non_transient_errors_raise(context: dict[str, Any], twin: Campaigns) -> None:
    twin.send(1)
    twin.fail_next(1, 422)
    with pytest.raises(Exception, match="HTTP 422|422"):
        sensor().poke(context)


def test_poke_mode_runs_to_success(context: dict[str, Any], twin: Campaigns) -> None:
    twin.send(2, "DELIVERED")
    result = sensor(mode="poke").execute(context)
    assert result["succeeded"] == 2


def test_a_check_costs_the_same_for_10_and_10000_messages(context: dict[str, Any], twin: Campaigns) -> None:
    twin.send(10, bulk_id="small")
    twin.send(10_000, bulk_id="large")
    for bulk in ("small", "large"):
        twin.forget_requests()
        assert sensor(bulk_ids=bulk).poke(context) is False
        # 9 counts, and one page of the held (DELAYED) messages while some are pending
        assert (twin.count_requests, twin.list_requests) == (9, 1)


# -- failed destinations --------------------------------------------------------------------------
def test_failed_destinations_are_returned(context: dict[str, Any], twin: Campaigns) -> None:
    twin.send(3, "DELIVERED")
    failed = twin.send(2, "UNDELIVERED")
    result = sensor(return_failed_destinations=True).poke(context).xcom_value  # type: ignore[union-attr]
    assert [d["destination"] for d in result["failed_destinations"]] == [r["destination"] for r in failed]
    assert result["failed_destinations_truncated"] is False


def test_failed_destinations_ignore_flows_rescued_by_a_fallback(
    context: dict[str, Any], twin: Campaigns
) -> None:
    # Three SMS fail; Viber rescues the first two destinations, the third has no fallback.
    twin.send(2, {"sms": "UNDELIVERED", "viber": "DELIVERED"}, channels=("sms", "viber"))
    lost = twin.send(1, "UNDELIVERED")
    task = sensor(expected_total=3, return_failed_destinations=True)
    result = task.poke(context).xcom_value  # type: ignore[union-attr]
    assert (result["succeeded"], result["failed"], result["success_ratio"]) == (2, 1, 0.666667)
    assert [d["flow_id"] for d in result["failed_destinations"]] == [lost[0]["flowId"]]
    assert result["failed_destinations"][0]["destination"] == lost[0]["destination"]


# -- deferrable -----------------------------------------------------------------------------------
def test_deferrable_checks_once_then_defers(context: dict[str, Any], twin: Campaigns) -> None:
    twin.send(4)
    task = sensor(deferrable=True, expected_total=4, min_success_ratio=0.5)
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context)
    assert twin.count_requests == 9
    trigger = deferred.value.trigger
    assert isinstance(trigger, TwinMessageStatusTrigger)
    assert deferred.value.method_name == "execute_complete"
    _, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs["targets"] == {"bulk_ids": ["bulk-1"], "expected_total": 4}
    assert kwargs["criteria"]["min_success_ratio"] == 0.5
    assert before + 60 <= kwargs["deadline"] <= time.time() + 60
    assert kwargs["poll_interval"] == 1
    assert kwargs["next_check_at"] >= before + 1


def test_deferrable_returns_at_once_when_already_done(context: dict[str, Any], twin: Campaigns) -> None:
    twin.send(2, "DELIVERED")
    assert sensor(deferrable=True).execute(context)["succeeded"] == 2


def test_deferrable_fast_fail_respects_soft_fail(context: dict[str, Any], twin: Campaigns) -> None:
    twin.send(1, "ERROR")
    with pytest.raises(AirflowFailException):
        sensor(deferrable=True, max_failure_ratio=0.0).execute(context)
    with pytest.raises(AirflowSkipException):
        sensor(deferrable=True, max_failure_ratio=0.0, soft_fail=True).execute(context)


def _event(status: str, **extra: Any) -> dict[str, Any]:
    targets, criteria = Targets.of(bulk_ids="bulk-1"), Criteria()
    result = evaluate(targets, criteria, {"total": 3, "success": 2, "failure": 1}).to_result()
    return {"status": status, "result": result, "message": f"{status} message", **extra}


def test_execute_complete_success(context: dict[str, Any], twin: Campaigns) -> None:
    assert sensor().execute_complete(context, _event("success"))["succeeded"] == 2
    twin.send(2, "DELIVERED")
    failed = twin.send(1, "UNDELIVERED")
    result = sensor(return_failed_destinations=True).execute_complete(context, _event("success"))
    assert [d["message_id"] for d in result["failed_destinations"]] == [failed[0]["id"]]


def test_execute_complete_failure_timeout_and_error(context: dict[str, Any]) -> None:
    with pytest.raises(AirflowFailException, match="failure message"):
        sensor().execute_complete(context, _event("failure"))
    assert context["ti"].xcom_push.call_args.kwargs["key"] == FAILURE_XCOM_KEY
    with pytest.raises(AirflowSensorTimeout, match="timeout message"):
        sensor().execute_complete(context, _event("timeout"))
    with pytest.raises(AirflowException, match="TwinAuthError: nope"):
        sensor().execute_complete(context, {"status": "error", "message": "TwinAuthError: nope"})
    with pytest.raises(AirflowException, match="no event"):
        sensor().execute_complete(context, None)


def test_resumed_timeout_respects_soft_fail(context: dict[str, Any]) -> None:
    task = sensor(soft_fail=True)
    with pytest.raises(AirflowSkipException):
        task.resume_execution("execute_complete", {"event": _event("timeout")}, context)  # type: ignore[arg-type]


def test_poke_mode_logs_in_once_for_the_whole_wait(context: dict[str, Any], twin: Campaigns) -> None:
    import threading

    twin.send(3)

    def release_after_the_first_check() -> None:
        deadline = time.monotonic() + 30
        while twin.count_requests < 9 and time.monotonic() < deadline:
            time.sleep(0.01)
        twin.release()

    releaser = threading.Thread(target=release_after_the_first_check, daemon=True)
    releaser.start()
    task = TwinMessageStatusSensor(
        task_id="wait", bulk_ids="bulk-1", mode="poke", poke_interval=0.05, timeout=60, deferrable=False
    )
    try:
        result = task.execute(context)
    finally:
        releaser.join(timeout=30)
    assert result["succeeded"] == 3
    assert twin.count_requests > 9  # it really poked more than once
    assert twin.served(LOGIN_ROUTE) == 1
    assert task._hook is None  # closed at the end of the task


def test_a_poke_timeout_while_twin_fails_says_since_when_and_the_last_error(
    context: dict[str, Any], twin: Campaigns
) -> None:
    twin.send(2)  # pending
    task = TwinMessageStatusSensor(
        task_id="wait", bulk_ids="bulk-1", mode="poke", poke_interval=0.05, timeout=0.4, deferrable=False
    )
    twin.admin.add_fault(method="GET", path="/notify/api/v1/messages", kind="status", status=503)
    with pytest.raises(AirflowSensorTimeout) as timeout:
        task.execute(context)
    message = str(timeout.value)
    assert "Sensor has timed out" in message
    assert "TWIN failed every check since" in message
    assert "HTTP 503" in message


def test_a_token_refused_right_after_renewal_means_not_known_yet_up_to_the_limit(
    context: dict[str, Any], twin: Campaigns
) -> None:
    twin.send(1, "DELIVERED")
    twin.refuse_tokens()
    task = sensor(auth_failure_limit=2)
    assert task.poke(context) is False
    with pytest.raises(AirflowException, match=r"at 2 checks in a row \(auth_failure_limit=2\)"):
        task.poke(context)
    twin.admin.clear_faults()
    assert sensor(auth_failure_limit=2).poke(context)
    with pytest.raises(ValueError, match="auth_failure_limit"):
        sensor(auth_failure_limit=0)


def test_in_reschedule_mode_a_refused_renewed_token_fails_the_try(
    context: dict[str, Any], twin: Campaigns
) -> None:
    # Each reschedule is a new task start: checks in a row cannot be counted across them.
    twin.send(1, "DELIVERED")
    twin.refuse_tokens()
    with pytest.raises(AirflowException, match="reschedule mode"):
        sensor(mode="reschedule").poke(context)
