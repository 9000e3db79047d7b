"""Waiting for a TWIN send job (poke, deferrable trigger) and controlling it (pause, resume, cancel)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_twin.operators.send_jobs import TwinSendJobControlOperator
from airflow_provider_twin.sensors.send_jobs import TwinSendJobSensor
from airflow_provider_twin.triggers.send_jobs import TwinSendJobTrigger
from tests.unit.messages.send_jobs.conftest import Twin, context, job_operator, people


def sensor(job: Any, **kwargs: Any) -> TwinSendJobSensor:
    with DAG("campaign", schedule=None):
        return TwinSendJobSensor(task_id="wait", job_id=job, poke_interval=0.05, timeout=30, **kwargs)


def control(job_id: str, action: str) -> dict[str, str]:
    with DAG("campaign", schedule=None):
        op = TwinSendJobControlOperator(task_id=f"{action}_job", job_id=job_id, action=action)
    return op.execute(context())


def test_the_sensor_waits_for_completed_and_returns_the_counts(twin: Twin) -> None:
    summary = job_operator(recipients=people(4)).execute(context())
    wait = sensor(summary)
    assert wait.poke({}) is False  # handed over, not delivered yet
    twin.emulator.state.advance_clock(5)
    done = wait.poke({})
    assert done.is_done  # type: ignore[union-attr]
    result = done.xcom_value  # type: ignore[union-attr]
    assert (result["status"], result["total"], result["processed"], result["completed"]) == (
        "COMPLETED",
        4,
        4,
        4,
    )
    assert result["name"] == summary["name"]


def test_the_sensor_fails_at_once_on_error(twin: Twin) -> None:
    twin.admin.update_settings(task_messages_per_second=0.5)
    summary = job_operator(recipients=people(4)).execute(context())
    twin.admin.add_fault(method="PROCESS", path=f"/notify/api/v1/tasks/{summary['job_id']}/processing")
    with pytest.raises(AirflowFailException, match="ERROR"):
        sensor(summary["job_id"]).poke({})


def test_a_deferrable_sensor_defers_to_a_trigger_that_fires_when_completed(twin: Twin) -> None:
    summary = job_operator(recipients=people(3)).execute(context())
    wait = sensor(summary, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        wait.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, TwinSendJobTrigger)
    _path, kwargs = trigger.serialize()
    assert "token" not in str(kwargs).lower()
    again = TwinSendJobTrigger(**kwargs)
    twin.emulator.state.advance_clock(5)

    async def first_event() -> Any:
        async for event in again.run():
            return event.payload
        return None

    payload = asyncio.run(first_event())
    assert payload["status"] == "success"
    assert wait.execute_complete({}, payload)["status"] == "COMPLETED"


def test_the_trigger_times_out_with_the_last_counts(twin: Twin) -> None:
    twin.admin.update_settings(task_messages_per_second=0.001)
    summary = job_operator(recipients=people(3)).execute(context())
    trigger = TwinSendJobTrigger(
        job_id=summary["job_id"], name=summary["name"], deadline=time.time() + 0.3, poll_interval=0.1
    )

    async def first_event() -> Any:
        async for event in trigger.run():
            return event.payload
        return None

    payload = asyncio.run(first_event())
    assert payload["status"] == "timeout"
    assert payload["result"]["status"] == "RUNNING"


def test_pause_resume_and_cancel_are_safe_to_repeat(twin: Twin) -> None:
    twin.admin.update_settings(task_messages_per_second=0.001)
    job_id = job_operator(recipients=people(3)).execute(context())["job_id"]
    assert control(job_id, "pause")["status"] == "PAUSED"
    assert control(job_id, "pause")["status"] == "PAUSED"
    assert control(job_id, "resume")["status"] == "RUNNING"
    assert control(job_id, "resume")["status"] == "RUNNING"
    assert control(job_id, "cancel")["status"] == "DELETED"
    assert control(job_id, "cancel")["status"] == "DELETED"
    assert twin.jobs() == []


def test_an_unknown_action_is_refused_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match="action"):
        control("some-job", "stop")
