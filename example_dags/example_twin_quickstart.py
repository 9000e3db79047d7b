"""The README's DAG: Viber first, then SMS for whoever Viber did not reach.

``send`` sends one Viber message per phone, ``wait`` waits in the triggerer until they all
have a final status and lists the phones Viber missed, ``resend_by_sms`` tries those again
by SMS (skipped when Viber reached everyone). It runs against TWIN or the local emulator
alike: only the ``twin_default`` connection differs. Under ``make airflow`` the emulator has
no Viber for numbers ending in 13, so the third phone gets the SMS.
"""

# Airflow's TaskFlow typing does not model an XComArg standing in for a value.
# mypy: disable-error-code="arg-type"

# [START howto_twin_quickstart]
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_twin.operators.messages import TwinSendMessagesOperator
from airflow_provider_twin.sensors.messages import TwinMessageStatusSensor

with DAG(
    "example_twin_quickstart",
    description="Viber to three phones, then SMS to whoever Viber did not reach",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    tags=["example", "twin"],
    doc_md=__doc__,
) as dag:
    send = TwinSendMessagesOperator(
        task_id="send",
        recipients=["+7 999 000-00-01", "+7 999 000-00-02", "+7 999 000-00-13"],
        channels={"viber": {"from": "MyShop"}},
        text="Your order is ready for pickup.",
    )
    wait = TwinMessageStatusSensor(
        task_id="wait", targets=send.output, return_failed_destinations=True, deferrable=True
    )

    @task.short_circuit  # nobody to resend to: skip the resend
    def missed_by_viber(outcome: dict[str, Any]) -> list[dict[str, Any]]:
        return [item["destination"] for item in outcome["failed_destinations"]]

    TwinSendMessagesOperator(
        task_id="resend_by_sms",
        recipients=missed_by_viber(wait.output),
        channels={"sms": {"from": "MyShop"}},
        text="MyShop: your order is ready.",
    )
# [END howto_twin_quickstart]
