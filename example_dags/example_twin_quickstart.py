"""The smallest useful TWIN DAG: send one batch through ``TwinHook`` and report its statuses.

It runs against real TWIN or the local emulator alike: only the ``twin_default``
connection differs. ``make demo`` runs it against the emulator.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_twin.client import notify
from airflow_provider_twin.hooks.twin import TwinHook

FINAL_STATUSES = {"DELIVERED", "UNDELIVERED", "ERROR", "EXPIRED", "CANCELLED"}

with DAG(
    dag_id="example_twin_quickstart",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "twin"],
    params={
        "phones": ["79990000001", "79990000002", "79990000013"],
        "text": "Hello from Airflow! Your order is ready.",
        "wait_seconds": 60,
    },
) as dag:
    # [START howto_twin_hook_send]
    @task
    def send_batch(params: dict[str, Any], run_id: str) -> dict[str, Any]:
        """Send one message to each phone, SMS first and Viber as fallback."""
        bulk_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"twin-quickstart/{run_id}"))
        message = {
            "destinations": [{"phone": phone} for phone in params["phones"]],
            "channels": {
                "sms": {"from": "TwinService", "text": params["text"]},
                "viber": {"from": "TwinService", "text": params["text"]},
            },
        }
        hook = TwinHook()
        try:
            items = hook.get_client().send(notify.create_messages([message], bulk_id=bulk_id))
        finally:
            hook.close()
        return {"bulk_id": bulk_id, "accepted": len(items)}

    # [END howto_twin_hook_send]

    @task
    def report(sent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """Wait until every destination has a final status, then return the counts."""
        hook = TwinHook()
        deadline = time.monotonic() + float(params["wait_seconds"])
        try:
            client = hook.get_client()
            while True:
                by_flow: dict[str, str] = {}
                for item in client.paginate(notify.list_messages(bulk_ids=[sent["bulk_id"]], limit=1000)):
                    by_flow[item.get("flowId") or item["id"]] = item["status"]
                statuses = Counter(by_flow.values())
                done = sum(statuses.values()) >= sent["accepted"] and set(statuses) <= FINAL_STATUSES
                if done or time.monotonic() > deadline:
                    break
                time.sleep(1)
        finally:
            hook.close()
        return {"bulk_id": sent["bulk_id"], "statuses": dict(statuses), "complete": done}

    report(send_batch())
