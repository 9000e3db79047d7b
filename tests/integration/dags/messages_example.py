"""Example DAG for the send and cancel operators (included in docs/operators-messages.md).

A shop reminds customers that their order is ready: from a CRM query (recipients), from a
nightly export file (recipients_file), and with raw TWIN message objects. The delayed
reminder is then cancelled, as a DAG would do when the order was collected meanwhile.
The parts between ``[START ...]`` and ``[END ...]`` markers are the documentation examples,
which the page includes from this file.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_twin.operators.messages import TwinCancelMessagesOperator, TwinSendMessagesOperator

with DAG(
    "test_messages_example",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={"recipients_file": ""},
    tags=["example", "twin"],
) as dag:
    # [START howto_send_recipients]
    @task
    def customers_with_ready_orders() -> list[dict[str, Any]]:
        """In a real DAG: a CRM or database query."""
        return [
            {
                "phone": "+7 (999) 000-00-01",
                "email": "ann@example.com",
                "var_name": "Ann",
                "var_order": "A-1001",
            },
            {"phone": "+7 (999) 000-00-02", "var_name": "Bob", "var_order": "A-1002"},
        ]

    reminder = TwinSendMessagesOperator(
        task_id="send_reminder",
        recipients=customers_with_ready_orders(),
        # Fallback order: Viber first, SMS for whoever Viber does not reach.
        channels={
            "viber": {"from": "MyShop", "buttonText": "Track", "buttonUrl": "https://example.com/track"},
            "sms": {"from": "MyShop"},
        },
        # {{name}} and {{order}} are TWIN variables: keep Jinja away from them with raw.
        text="{% raw %}Hello {{name}}, order {{order}} is ready for pickup.{% endraw %}",
        send_at="{{ data_interval_end.add(hours=2).isoformat() }}",
        allowed_time_ranges=[["09:00:00", "21:00:00"]],
        validity_period=120,
        callback_url="https://hooks.example.com/twin/status",
        callback_data={"campaign": "pickup-reminder", "run": "{{ run_id }}"},
    )
    # [END howto_send_recipients]

    # [START howto_cancel]
    cancel_reminder = TwinCancelMessagesOperator(
        task_id="cancel_reminder",
        bulk_ids=reminder.output["bulk_ids"],
    )
    # [END howto_cancel]

    # [START howto_send_file]
    nightly = TwinSendMessagesOperator(
        task_id="send_from_file",
        # A local path, or e.g. "s3://exports/ready-{{ ds }}.csv" with recipients_file_conn_id="aws_default".
        recipients_file="{{ params.recipients_file }}",
        template_id="6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f",
        channels={
            "whatsapp": {"from": "MyShop", "templateName": "order_ready", "language": "ru"},
            "sms": {"from": "MyShop"},
        },
        batch_size=1000,
        max_in_flight=4,
        max_requests_per_second=20,
        fail_on_rejected=0.05,
    )
    # [END howto_send_file]

    # [START howto_send_raw]
    raw = TwinSendMessagesOperator(
        task_id="send_raw_messages",
        messages=[
            {
                "destinations": [{"messengerUserId": "tg-4242", "phone": "79990000003"}],
                "channels": {
                    "telegram": {"from": "MyShopBot", "text": "Your order A-1003 is ready"},
                    "sms": {"from": "MyShop", "text": "Order A-1003 is ready", "required": True},
                },
                "callbackData": "order-A-1003",
            }
        ],
    )
    # [END howto_send_raw]

    reminder >> cancel_reminder >> nightly >> raw
