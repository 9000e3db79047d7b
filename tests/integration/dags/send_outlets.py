"""A send whose task has an Asset outlet and feeds TWIN's status webhooks to another asset.

``tests/integration/test_send_outlets.py`` runs it with ``dag.test()``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG, Asset

from airflow_provider_twin.operators.messages import TwinSendMessagesOperator

CAMPAIGN_SENT = Asset("test_twin_campaign_sent")
CAMPAIGN_DELIVERED = Asset("test_twin_campaign_delivered")

with DAG(
    "test_send_outlets",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["test"],
) as send_outlets_dag:
    TwinSendMessagesOperator(
        task_id="send",
        recipients=[{"phone": f"+7 999 {i:07d}"} for i in range(5)],
        channels=["sms"],
        text="Your order has shipped",
        batch_size=2,
        webhook_asset=CAMPAIGN_DELIVERED,
        outlets=[CAMPAIGN_SENT],
    )
