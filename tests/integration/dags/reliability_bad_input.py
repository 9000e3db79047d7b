"""Operators and sensors fed wrong types through XCom (``tests/reliability/test_bad_input.py``).

``bad_values`` returns what a buggy upstream task might hand over; each TWIN task receives one
of those values through XCom. Every TWIN task must fail on its first try although
``retries=2`` (the input will not fix itself), and TWIN must not see a single request.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_twin.operators.messages import TwinCancelMessagesOperator, TwinSendMessagesOperator
from airflow_provider_twin.sensors.messages import TwinMessageStatusSensor

with DAG(
    "test_reliability_bad_input",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    default_args={"retries": 2},
    tags=["test"],
) as dag:

    @task(multiple_outputs=True, retries=0)
    def bad_values() -> dict[str, Any]:
        return {
            "recipients_object": {"phone": "79990000001"},
            "recipients_number": 42,
            "text_number": 5,
            "send_at_naive": "2026-02-01T10:00:00",
            "targets_number": 7,
            "ids_object": {"bulk": "x"},
        }

    values = bad_values()
    sms = {"sms": {"from": "Shop"}}
    TwinSendMessagesOperator(
        task_id="send_recipients_object", recipients=values["recipients_object"], channels=sms, text="Hi"
    )
    TwinSendMessagesOperator(
        task_id="send_recipients_number", recipients=values["recipients_number"], channels=sms, text="Hi"
    )
    TwinSendMessagesOperator(
        task_id="send_text_number",
        recipients=[{"phone": "79990000001"}],
        channels=sms,
        text=values["text_number"],
    )
    TwinSendMessagesOperator(
        task_id="send_send_at_naive",
        recipients=[{"phone": "79990000001"}],
        channels=sms,
        text="Hi",
        send_at=values["send_at_naive"],
    )
    TwinMessageStatusSensor(
        task_id="wait_targets_number",
        targets=values["targets_number"],
        deferrable=False,
        poke_interval=1,
        timeout=30,
    )
    TwinCancelMessagesOperator(task_id="cancel_ids_object", bulk_ids=values["ids_object"])
