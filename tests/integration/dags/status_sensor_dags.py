"""DAGs that send a batch through TwinHook and wait for it with TwinMessageStatusSensor.

Each DAG is ``send -> wait -> report``. ``send`` returns a summary shaped like the send
operator's XCom; ``report`` (``trigger_rule="all_done"``) checks what ``wait`` handed over and
returns it. The tests set the emulator's delivery behaviour, run ``dag.test()`` and read the
task states and the report.
"""

from __future__ import annotations

import uuid
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_twin.client import notify
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.sensors.messages import FAILURE_XCOM_KEY, TwinMessageStatusSensor

PARAMS: dict[str, Any] = {"n": 10, "channels": ["sms"], "delayed": 0}


@task
def send(params: dict[str, Any], run_id: str, dag: Any = None) -> dict[str, Any]:
    """Send ``n`` destinations over ``channels`` (in fallback order) in one bulk.

    The last ``delayed`` destinations are scheduled an hour ahead, so they stay pending.
    """
    n, delayed = int(params["n"]), int(params["delayed"])
    bulk_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-status/{dag.dag_id}/{run_id}"))
    channels = {name: {"from": "TwinService", "text": "Hello"} for name in params["channels"]}
    phones = [f"7999{i:07d}" for i in range(n)]
    messages: list[Any] = [
        {"destinations": [{"phone": p} for p in phones[: n - delayed]], "channels": channels}
    ]
    if delayed:
        later = pendulum.now("UTC").add(hours=1).isoformat()
        messages.append(
            {
                "destinations": [{"phone": p} for p in phones[n - delayed :]],
                "channels": channels,
                "sendAt": later,
            }
        )
    hook = TwinHook()
    try:
        items = hook.get_client().send(notify.create_messages(messages, bulk_id=bulk_id))
    finally:
        hook.close()
    accepted = sum(1 for item in items if not item.get("error"))
    return {
        "bulk_ids": [bulk_id],
        "group_id": None,
        "total": n,
        "accepted": accepted,
        "rejected": n - accepted,
    }


@task(trigger_rule="all_done")
def report(outcome: dict[str, Any] | None = None, ti: Any = None) -> dict[str, Any]:
    """The sensor's result, or on a failed wait the outcome it pushed under ``delivery``."""
    if outcome is None:
        outcome = ti.xcom_pull(task_ids="wait", key=FAILURE_XCOM_KEY)
    return {"outcome": outcome}


def status_dag(dag_id: str, **sensor_kwargs: Any) -> DAG:
    """``send -> wait -> report`` with the given sensor arguments."""
    targets_from = sensor_kwargs.pop("targets_from", "summary")
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        params=dict(PARAMS),
        tags=["test", "twin"],
    ) as dag:
        sent = send()
        if targets_from == "summary":
            targets: dict[str, Any] = {"targets": sent}
        else:
            targets = {"bulk_ids": sent["bulk_ids"], "expected_total": sent["accepted"]}
        sensor_kwargs.setdefault("poke_interval", 0.5)
        sensor_kwargs.setdefault("timeout", 60)
        wait = TwinMessageStatusSensor(task_id="wait", **targets, **sensor_kwargs)
        report(wait.output)
    return dag


poke_dag = status_dag("test_status_poke", mode="poke", deferrable=False)
reschedule_dag = status_dag(
    "test_status_reschedule", mode="reschedule", deferrable=False, targets_from="bulk_ids"
)
deferrable_dag = status_dag("test_status_deferrable", deferrable=True, return_failed_destinations=True)
fast_fail_dag = status_dag(
    "test_status_fast_fail",
    mode="poke",
    deferrable=False,
    max_failure_ratio=0.2,
    return_failed_destinations=True,
    retries=2,
)
fast_fail_deferrable_dag = status_dag(
    "test_status_fast_fail_deferrable",
    deferrable=True,
    max_failure_ratio=0.2,
    return_failed_destinations=True,
    retries=2,
)
timeout_dag = status_dag("test_status_timeout", mode="poke", deferrable=False, timeout=2)
timeout_deferrable_dag = status_dag("test_status_timeout_deferrable", deferrable=True, timeout=2)
