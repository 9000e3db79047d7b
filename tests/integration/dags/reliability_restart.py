"""A deferrable delivery wait that outlives a TWIN outage (``tests/reliability/test_emulator_restart.py``).

``send`` creates ``params.n`` messages with one bulk id; ``wait`` checks once, defers, and
its trigger polls every ``poke_interval``. The test stops the emulator while the trigger waits
and starts it again on the same port; the trigger must carry on and finish.
"""

from __future__ import annotations

import uuid
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_twin.client import notify
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.sensors.messages import TwinMessageStatusSensor

with DAG(
    "test_reliability_restart",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"n": 20},
    tags=["test"],
) as dag:

    @task
    def send(params: dict[str, Any], run_id: str) -> dict[str, Any]:
        n = int(params["n"])
        bulk_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-reliability-restart/{run_id}"))
        message = {
            "destinations": [{"phone": f"7999{i:07d}"} for i in range(n)],
            "channels": {"sms": {"from": "TwinService", "text": "Hello"}},
        }
        hook = TwinHook()
        try:
            items = hook.get_client().send(notify.create_messages([message], bulk_id=bulk_id))
        finally:
            hook.close()
        return {"bulk_ids": [bulk_id], "total": n, "accepted": len(items)}

    TwinMessageStatusSensor(
        task_id="wait",
        targets=send(),
        deferrable=True,
        poke_interval=0.3,
        timeout=120,
    )
