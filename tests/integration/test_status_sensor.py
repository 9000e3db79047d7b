"""TwinMessageStatusSensor and its trigger against the emulator, in real DAG runs (``dag.test()``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from airflow_provider_twin.client import notify
from airflow_provider_twin.client.messages import Criteria, Targets
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.sensors.messages import TwinMessageStatusSensor
from airflow_provider_twin.triggers.messages import TwinMessageStatusTrigger

pytestmark = pytest.mark.integration

MESSAGES = "GET /notify/api/v1/messages"


def run(
    dag: Any, report_task: str = "report", **conf: Any
) -> tuple[Any, dict[str, str], dict[str, Any] | None]:
    """Run ``dag`` with ``dag.test()``: the run, its task states, and what ``report`` returned."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = dag.test(run_conf=conf or None)
    with create_session() as session:
        states = {ti.task_id: ti.state for ti in dag_run.get_task_instances(session=session)}
        row = session.scalars(
            XComModel.get_many(
                run_id=dag_run.run_id, dag_ids=dag.dag_id, task_ids=report_task, key="return_value"
            )
        ).first()
        report = XComModel.deserialize_value(row) if row is not None else None
    return dag_run, states, report


def message_requests(emulator: Any) -> int:
    return int(emulator.admin.counters()["requests"].get(MESSAGES, 0))


@contextlib.contextmanager
def deliver_after_first_check(emulator: Any, timeout: float = 120.0) -> Iterator[None]:
    """Fast-forward the emulator's clock once the sensor's first check (3 counts) has been made."""
    done = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while not done.is_set() and time.monotonic() < deadline:
            if message_requests(emulator) >= 3:
                emulator.admin.advance_clock(3600)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join(timeout=5)


# -- the three modes ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "module_attr",
    ["poke_dag", "reschedule_dag", "deferrable_dag"],
)
def test_each_mode_runs_to_success(airflow_twin: Any, module_attr: str) -> None:
    from tests.integration.dags import status_sensor_dags

    # Messages stay pending until the sensor has checked once, however slow the machine is;
    # then the emulator's clock jumps ahead and they are delivered.
    airflow_twin.admin.update_settings(delivery_seconds=3600)
    dag = getattr(status_sensor_dags, module_attr)
    with deliver_after_first_check(airflow_twin):
        dag_run, states, report = run(dag)
    assert dag_run.state == "success", states
    # The first check found the messages pending, so each mode really waited its own way.
    assert message_requests(airflow_twin) >= 2 * 3 + 8
    if module_attr == "reschedule_dag":
        assert _reschedules(dag_run, "wait") >= 1
    assert set(states.values()) == {"success"}
    assert report is not None
    outcome = report["outcome"]
    assert (outcome["state"], outcome["reason"]) == ("success", "all_final")
    assert (outcome["total"], outcome["succeeded"], outcome["failed"], outcome["pending"]) == (10, 10, 0, 0)
    assert outcome["by_status"]["DELIVERED"] == 10
    assert outcome["counted_by"] == "destination"
    if module_attr == "deferrable_dag":
        assert outcome["failed_destinations"] == []


@pytest.mark.parametrize(
    "strict",
    [
        pytest.param(False, marks=pytest.mark.twin_strict(False)),
        pytest.param(True, marks=pytest.mark.twin_strict),
    ],
)
def test_fallback_channels_count_per_destination(airflow_twin: Any, strict: bool) -> None:
    from tests.integration.dags import status_sensor_dags

    # Strict TWIN takes one status per filter (several match nothing): the counts are the same.
    assert airflow_twin.admin.settings()["strict"] is strict

    # Every SMS fails; Viber rescues all but the destinations whose phone ends in 3.
    airflow_twin.admin.update_settings(
        delivery_seconds=0.5,
        outcome_rules=[
            {"status": "UNDELIVERED", "channel": "sms"},
            {"status": "ERROR", "channel": "viber", "phone_suffix": "3"},
        ],
    )
    dag_run, states, report = run(status_sensor_dags.deferrable_dag, n=10, channels=["sms", "viber"])
    assert dag_run.state == "success", states
    outcome = report["outcome"]  # type: ignore[index]
    assert (outcome["total"], outcome["succeeded"], outcome["failed"]) == (10, 9, 1)
    assert outcome["records"] == {"total": 20, "success": 9, "failure": 11, "pending": 0}
    assert outcome["by_status"]["UNDELIVERED"] == 10
    [failed] = outcome["failed_destinations"]
    assert failed["destination"] == {"phone": "79990000003"}
    assert (failed["status"], failed["channels_tried"]) == ("ERROR", ["SMS", "VIBER"])


# -- failing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("module_attr", ["fast_fail_dag", "fast_fail_deferrable_dag"])
def test_failure_ratio_fails_fast_without_retries(airflow_twin: Any, module_attr: str) -> None:
    from tests.integration.dags import status_sensor_dags

    # 3 of 10 fail, 4 are delivered, 3 wait for a send time an hour ahead: 30 % failed
    # already exceeds max_failure_ratio=0.2, so the sensor must not wait for the 3.
    airflow_twin.admin.update_settings(
        delivery_seconds=0.5,
        outcome_rules=[{"status": "UNDELIVERED", "phone_suffix": s} for s in "123"],
    )
    started = time.monotonic()
    dag_run, states, report = run(getattr(status_sensor_dags, module_attr), delayed=3)
    assert time.monotonic() - started < 45
    assert states == {"send": "success", "wait": "failed", "report": "success"}
    outcome = report["outcome"]  # type: ignore[index]
    assert (outcome["state"], outcome["reason"]) == ("failure", "max_failure_ratio")
    assert (outcome["succeeded"], outcome["failed"], outcome["pending"]) == (4, 3, 3)
    assert sorted(d["destination"]["phone"][-1] for d in outcome["failed_destinations"]) == ["1", "2", "3"]
    with_tries = _try_numbers(dag_run)
    assert with_tries["wait"] == 1  # AirflowFailException: no retry although retries=2


def _reschedules(dag_run: Any, task_id: str) -> int:
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        ti = dag_run.get_task_instance(task_id, session=session)
        query = select(func.count()).select_from(TaskReschedule).where(TaskReschedule.ti_id == ti.id)
        return int(session.scalar(query) or 0)


def _try_numbers(dag_run: Any) -> dict[str, int]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: ti.try_number for ti in dag_run.get_task_instances(session=session)}


@pytest.mark.parametrize("module_attr", ["timeout_dag", "timeout_deferrable_dag"])
def test_timeout(airflow_twin: Any, module_attr: str) -> None:
    from tests.integration.dags import status_sensor_dags

    airflow_twin.admin.update_settings(delivery_seconds=600)
    started = time.monotonic()
    _, states, report = run(getattr(status_sensor_dags, module_attr))
    assert time.monotonic() - started < 40
    assert states == {"send": "success", "wait": "failed", "report": "success"}
    assert report == {"outcome": None}  # a timeout pushes nothing


# -- the trigger on its own -----------------------------------------------------------------------
def _send(n: int, bulk_id: str) -> None:
    hook = TwinHook()
    try:
        client = hook.get_client()
        for start in range(0, n, 1000):
            destinations = [{"phone": f"7999{i:07d}"} for i in range(start, min(n, start + 1000))]
            message = {
                "destinations": destinations,
                "channels": {"sms": {"from": "TwinService", "text": "Hi"}},
            }
            client.send(notify.create_messages([message], bulk_id=f"{bulk_id}-{start // 1000}"))
    finally:
        hook.close()


def _bulks(n: int, bulk_id: str) -> list[str]:
    return [f"{bulk_id}-{i}" for i in range((n + 999) // 1000)]


def _trigger(bulk_ids: list[str], **overrides: Any) -> TwinMessageStatusTrigger:
    kwargs: dict[str, Any] = {
        "targets": Targets.of(bulk_ids=bulk_ids).to_json(),
        "criteria": Criteria().to_json(),
        "deadline": time.time() + 30,
        "poll_interval": 0.2,
    }
    kwargs.update(overrides)
    return TwinMessageStatusTrigger(**kwargs)


def _first_event(trigger: TwinMessageStatusTrigger) -> dict[str, Any]:
    async def first() -> dict[str, Any]:
        payload: dict[str, Any] = (await anext(trigger.run())).payload
        return payload

    return asyncio.run(first())


def test_trigger_survives_injected_server_errors(airflow_twin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # One retry per call, so 8 errors in a row outlast the client and fail whole checks.
    connection = json.loads(os.environ["AIRFLOW_CONN_TWIN_DEFAULT"])
    connection["extra"]["max_retries"] = 1
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(connection))
    airflow_twin.admin.update_settings(delivery_seconds=0.5)
    _send(5, "faults")
    airflow_twin.admin.add_fault(
        method="GET", path="/notify/api/v1/messages", kind="status", status=500, times=8
    )
    airflow_twin.admin.add_fault(method="GET", path="/notify/api/v1/messages", kind="drop", times=2)
    event = _first_event(_trigger(_bulks(5, "faults")))
    assert event["status"] == "success", event
    assert event["result"]["succeeded"] == 5
    statuses = [e["status"] for e in airflow_twin.admin.requests(path="/notify/api/v1/messages")]
    assert statuses.count(500) == 8


def test_trigger_resumes_from_serialized_state(airflow_twin: Any) -> None:
    airflow_twin.admin.update_settings(delivery_seconds=0.5)
    _send(3, "restart")
    first = _trigger(_bulks(3, "restart"), deadline=time.time() + 30)
    classpath, kwargs = first.serialize()
    # A "restarted triggerer": the class re-created from its path and JSON kwargs alone.
    module, _, name = classpath.rpartition(".")
    import importlib

    again = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    assert again.serialize() == (classpath, kwargs)
    assert _first_event(again)["status"] == "success"


def _check_costs(emulator: Any) -> dict[str, int]:
    """Requests to ``GET /messages`` of one sensor check of the 10 and of the 10,000 messages."""
    costs = {}
    context = {"ti": mock.MagicMock()}
    for name, n in (("small", 10), ("large", 10_000)):
        sensor = TwinMessageStatusSensor(
            task_id=f"wait_{name}", bulk_ids=_bulks(n, name), expected_total=n, deferrable=False
        )
        before = message_requests(emulator)
        sensor.poke(context)
        costs[name] = message_requests(emulator) - before
    return costs


def test_requests_per_check_do_not_grow_with_the_number_of_messages(airflow_twin: Any) -> None:
    # Still pending: a check is one count of all records and one per configured status (1 + 8),
    # plus one page of the held (DELAYED) messages, for 10 messages as for 10,000.
    airflow_twin.admin.update_settings(delivery_seconds=600)
    _send(10_000, "large")
    _send(10, "small")
    assert _check_costs(airflow_twin) == {"small": 10, "large": 10}
    # Final: the same counts; the result's by_status reuses them.
    airflow_twin.admin.reset()
    airflow_twin.admin.update_settings(delivery_seconds=0.2)
    _send(10_000, "large")
    _send(10, "small")
    time.sleep(0.5)
    assert _check_costs(airflow_twin) == {"small": 9, "large": 9}


# -- the documented example -----------------------------------------------------------------------
def test_documented_example(airflow_twin: Any) -> None:
    from tests.integration.dags import status_example

    # Viber misses the phones ending in 3; everything else is delivered.
    airflow_twin.admin.update_settings(
        delivery_seconds=0.5,
        outcome_rules=[{"status": "UNDELIVERED", "channel": "viber", "phone_suffix": "3"}],
    )
    wait = status_example.dag.get_task("wait_for_delivery")
    with mock.patch.object(wait, "poke_interval", 0.5):
        dag_run, states, resent = run(status_example.dag, report_task="resend_by_sms")
    assert dag_run.state == "success", states
    assert resent == {"resent": 1, "viber_success_ratio": 0.9}
    sms = airflow_twin.admin.messages(channel="SMS")
    assert [item["destination"]["phone"] for item in sms["items"]] == ["79990000003"]
