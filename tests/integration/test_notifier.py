"""TwinNotifier in real DAG runs (``dag.test()``) and on the triggerer's path, against the emulator."""

from __future__ import annotations

import importlib.metadata
import time
from typing import Any

import pytest

#: Airflow 3.2's ``dag.test()`` hands task failure callbacks no exception, so the rendered
#: error text is empty there; 3.3 passes it. The message is still sent exactly once.
_AIRFLOW_CORE = tuple(int(part) for part in importlib.metadata.version("apache-airflow-core").split(".")[:2])
needs_callback_exception = pytest.mark.xfail(
    _AIRFLOW_CORE < (3, 3),
    reason="Airflow 3.2's dag.test() gives failure callbacks no exception (error text empty)",
    strict=False,
)


pytestmark = pytest.mark.integration

POST_MESSAGES = "POST /notify/api/v1/messages"


def records(emulator: Any, **filters: Any) -> list[dict[str, Any]]:
    """Every message record the emulator holds (fallback attempts included)."""
    return list(emulator.admin.messages(limit=1000, **filters)["items"])


def run(dag: Any, run_conf: dict[str, Any] | None = None) -> tuple[Any, dict[str, tuple[str, int]]]:
    """Run ``dag``; return the run and ``{task_id: (state, try_number)}``."""
    from airflow.utils.session import create_session

    dag_run = dag.test(run_conf=run_conf)
    with create_session() as session:
        tasks = {ti.task_id: (ti.state, ti.try_number) for ti in dag_run.get_task_instances(session=session)}
    return dag_run, tasks


@needs_callback_exception
def test_failing_task_sends_exactly_one_message_with_the_rendered_text(airflow_twin: Any) -> None:
    from tests.integration.dags.notifier_dags import task_failure_dag

    dag_run, tasks = run(task_failure_dag)
    assert dag_run.state == "failed"
    assert tasks == {"extract": ("success", 1), "load": ("failed", 1)}

    [message] = records(airflow_twin)
    assert message["channel"] == "TELEGRAM"
    assert message["destination"] == {"phone": "79990000001"}
    assert message["message"]["text"] == (
        "test_notifier_task_failure.load failed (try 1): CRM export is empty (42 rows expected)"
    )
    assert message["bulkId"]
    counters = airflow_twin.admin.counters()
    assert counters["requests"][POST_MESSAGES] == 1
    assert counters["duplicate_pairs"] == 0


def test_fallback_channel_carries_the_same_text(airflow_twin: Any) -> None:
    from tests.integration.dags.notifier_dags import task_failure_dag

    airflow_twin.admin.update_settings(
        delivery_seconds=0.1, outcome_rules=[{"channel": "telegram", "status": "UNDELIVERED"}]
    )
    run(task_failure_dag)
    deadline = time.monotonic() + 10
    while len(attempts := records(airflow_twin)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    telegram, sms = sorted(attempts, key=lambda record: record["attempt"])
    assert (telegram["channel"], sms["channel"]) == ("TELEGRAM", "SMS")
    assert sms["flowId"] == telegram["flowId"]
    assert sms["message"] == {"from": "TwinService", "text": telegram["message"]["text"]}


def test_dag_success_callback(airflow_twin: Any) -> None:
    from tests.integration.dags.notifier_dags import OWNER_EMAIL, dag_success_dag

    dag_run, _ = run(dag_success_dag)
    assert dag_run.state == "success"
    [message] = records(airflow_twin)
    assert message["channel"] == "EMAIL"
    assert message["destination"] == {"email": OWNER_EMAIL, "variables": {"name": "Anna"}}
    assert message["message"] == {
        "subject": "test_notifier_dag_success: done",
        "fromName": "Airflow",
        "text": f"Hello {{{{name}}}}, DAG test_notifier_dag_success succeeded (run {dag_run.run_id})",
    }


@needs_callback_exception
def test_retry_and_failure_are_two_events_one_message_each(airflow_twin: Any) -> None:
    from tests.integration.dags.notifier_dags import retries_dag

    dag_run, tasks = run(retries_dag)
    assert dag_run.state == "failed"
    assert tasks == {"flaky": ("failed", 2)}
    texts = [record["message"]["text"] for record in records(airflow_twin)]
    assert texts == [
        "test_notifier_retries.flaky failed and will be retried (try 1): upstream API answered 503",
        "test_notifier_retries.flaky failed (try 2): upstream API answered 503",
    ]
    assert len({record["bulkId"] for record in records(airflow_twin)}) == 2


def test_twin_down_is_logged_and_dag_states_are_unaffected(
    airflow_twin: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.dags.notifier_dags import outage_dag, task_failure_dag

    airflow_twin.stop()
    started = time.monotonic()
    succeeded, _ = run(outage_dag)
    failed, _ = run(task_failure_dag)
    elapsed = time.monotonic() - started
    airflow_twin.start()

    assert succeeded.state == "success"
    assert failed.state == "failed"
    output = capfd.readouterr()
    errors = [line for line in (output.out + output.err).splitlines() if "TWIN notification NOT sent" in line]
    assert len(errors) == 3, errors  # the outage DAG's task and DAG callbacks, the failing task's
    assert all("could not connect" in line and "states are not affected" in line for line in errors)
    assert any("DAG test_notifier_outage succeeded" in line for line in errors)
    assert elapsed < 60
    assert records(airflow_twin) == []


# -- the triggerer's path (deadline alerts) ----------------------------------------------------------
def _deadline_trigger(dag: Any, context: dict[str, Any]) -> Any:
    """The CallbackTrigger the scheduler queues when ``dag``'s deadline is missed."""
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.triggers.callback import CallbackTrigger

    serialized = DagSerialization.serialize_dag(dag)
    [alert] = serialized["deadline"]
    callback = alert["callback"]["__data__"]
    assert callback["path"] == "airflow_provider_twin.notifications.twin.TwinNotifier"
    return CallbackTrigger(callback["path"], {**callback["kwargs"], "context": context})


def _deadline_context(run_id: str) -> dict[str, Any]:
    """What the scheduler hands a deadline callback: the DAG run as JSON and the deadline."""
    from datetime import datetime, timezone

    return {
        "dag_run": {"dag_id": "test_notifier_example_crm", "dag_run_id": run_id, "state": "running"},
        "deadline": {
            "id": "0b6d0c7e-0000-4000-8000-00000000d001",
            "deadline_time": datetime(2026, 1, 28, 4, 0, tzinfo=timezone.utc),
        },
    }


async def _events(trigger: Any) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


async def test_deadline_alert_runs_the_async_path_in_the_triggerer(airflow_twin: Any) -> None:
    from tests.integration.dags.notifier_example import crm_dag

    for _ in range(2):  # a triggerer that runs the same callback again sends nothing new
        trigger = _deadline_trigger(crm_dag, _deadline_context("scheduled__2026-01-28T02:00:00+00:00"))
        events = await _events(trigger)
        assert [event["state"] for event in events] == ["running", "success"]

    [message] = records(airflow_twin)
    assert message["channel"] == "TELEGRAM"
    assert message["message"]["text"] == (
        "CRM load: DAG test_notifier_example_crm missed its deadline "
        "(run scheduled__2026-01-28T02:00:00+00:00, deadline 2026-01-28T04:00:00+00:00) "
        "http://localhost:8080/dags/test_notifier_example_crm/runs/scheduled__2026-01-28T02%3A00%3A00%2B00%3A00"
    )
    assert airflow_twin.admin.counters()["requests"][POST_MESSAGES] == 1


async def test_deadline_alert_with_twin_down_does_not_fail_the_callback(
    airflow_twin: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.dags.notifier_example import crm_dag

    airflow_twin.admin.add_fault(path="/notify/*", kind="status", status=503)
    events = await _events(_deadline_trigger(crm_dag, _deadline_context("manual__outage")))
    assert [event["state"] for event in events] == ["running", "success"]
    output = capfd.readouterr()
    assert "TWIN notification NOT sent for DAG test_notifier_example_crm missed its deadline" in (
        output.out + output.err
    )
    assert airflow_twin.admin.counters()["requests"][POST_MESSAGES] == 2


# -- the documented example ----------------------------------------------------------------------------
def test_example_dag_success_tells_the_owner(airflow_twin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.dags.notifier_example import crm_dag

    # dag.test() cannot finish a successful run of a DAG with a deadline alert (it looks the
    # alerts up by id, which only a parsed DAG has); the alert has its own tests above.
    monkeypatch.setattr(crm_dag, "deadline", None)
    # Explicit: on Airflow 3.2 a run of the same DAG object with {"fail": True} (another test of
    # this worker) leaves its conf behind for the next dag.test() without one.
    dag_run, tasks = run(crm_dag, run_conf={"fail": False})
    assert dag_run.state == "success", tasks
    [message] = records(airflow_twin)
    assert message["channel"] == "EMAIL"
    ds = dag_run.logical_date.strftime("%Y-%m-%d")
    assert message["message"]["subject"] == f"CRM load {ds}: done"
    assert message["message"]["text"] == (
        f"Hello {{{{name}}}}, the CRM load of {ds} finished: "
        f"DAG test_notifier_example_crm succeeded (run {dag_run.run_id})"
    )


@needs_callback_exception
def test_example_dag_failure_warns_on_retry_then_alerts_on_call(airflow_twin: Any) -> None:
    from tests.integration.dags.notifier_example import crm_dag

    dag_run = crm_dag.test(run_conf={"fail": True})
    assert dag_run.state == "failed"
    retry, failure = records(airflow_twin)
    assert retry["channel"] == "WHATSAPP"
    assert retry["templateId"] == "6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"
    assert retry["destination"] == {
        "phone": "79990000001",
        "variables": {
            "task": "load",
            "try": "1",
            "error": "ValueError: CRM export is empty (1250 rows expected)",
        },
    }
    assert failure["channel"] == "TELEGRAM"
    assert failure["message"]["text"].startswith(
        f"CRM load: test_notifier_example_crm.load failed (try 2, run {dag_run.run_id}) "
        "http://localhost:8080/dags/test_notifier_example_crm/runs/"
    )
    assert failure["message"]["text"].endswith(
        "?try_number=2 ValueError: CRM export is empty (1250 rows expected)"
    )


# The notifier in a Human-in-the-loop operator's ``notifiers`` runs in a real Airflow (scheduler,
# triggerer, API server) in tests/integration/approvals (the approval example sends its Required
# Actions link with it); its text, identity and redaction are unit-tested in
# tests/unit/messages/notifier/test_hitl_request.py. ``dag.test()`` cannot stand in: it waits
# for the human in the test's own process.
