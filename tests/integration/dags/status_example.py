"""A campaign step with a delivery check: Viber first, then SMS for whoever Viber missed.

``send_viber`` sends one Viber message per phone and returns a summary shaped like the send
operator's (``bulk_ids``, ``accepted``...). ``wait_for_delivery`` waits in the triggerer until
the Viber messages reach final statuses and hands over the destinations that failed;
``resend_by_sms`` tries them again by SMS. It runs against TWIN or the emulator alike.
"""

from __future__ import annotations

import uuid
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_twin.client import notify
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.sensors.messages import TwinMessageStatusSensor


def _send(channel: str, destinations: list[dict[str, Any]], text: str, bulk_id: str) -> dict[str, Any]:
    """Send ``text`` to ``destinations`` over one channel; a summary like the send operator's."""
    message = {"destinations": destinations, "channels": {channel: {"from": "TwinService", "text": text}}}
    hook = TwinHook()
    try:
        items = hook.get_client().send(notify.create_messages([message], bulk_id=bulk_id))
    finally:
        hook.close()
    accepted = sum(1 for item in items if not item.get("error"))
    return {"bulk_ids": [bulk_id], "total": len(destinations), "accepted": accepted}


with DAG(
    dag_id="test_status_example",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "twin"],
    params={
        "phones": [f"799900000{i:02d}" for i in range(10)],
        "text": "Your order is ready for pick-up.",
    },
) as dag:

    @task
    def send_viber(params: dict[str, Any], run_id: str) -> dict[str, Any]:
        destinations = [{"phone": phone} for phone in params["phones"]]
        bulk_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"twin-status-example/viber/{run_id}"))
        return _send("viber", destinations, params["text"], bulk_id)

    # [START howto_twin_status_sensor]
    sent = send_viber()

    delivery = TwinMessageStatusSensor(
        task_id="wait_for_delivery",
        targets=sent,  # the send summary: its bulk ids, and "accepted" as the expected total
        min_success_ratio=0.95,  # good enough: stop waiting once 95 % are delivered
        max_failure_ratio=0.5,  # something is badly wrong: fail now, not at the timeout
        return_failed_destinations=True,  # hand the misses to the next step
        deferrable=True,  # wait in the triggerer, not in a worker slot
        poke_interval=60,  # one check (nine count requests) a minute
        timeout=6 * 60 * 60,
    )

    @task
    def resend_by_sms(outcome: dict[str, Any], params: dict[str, Any], run_id: str) -> dict[str, Any]:
        """Try the destinations Viber did not reach once more, by SMS."""
        destinations = [item["destination"] for item in outcome["failed_destinations"]]
        if not destinations:
            return {"resent": 0, "viber_success_ratio": outcome["success_ratio"]}
        bulk_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"twin-status-example/sms/{run_id}"))
        summary = _send("sms", destinations, params["text"], bulk_id)
        return {"resent": summary["accepted"], "viber_success_ratio": outcome["success_ratio"]}

    resend_by_sms(delivery.output)
    # [END howto_twin_status_sensor]
