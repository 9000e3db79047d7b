"""A DAG that runs on TWIN's status webhooks, and reads them as it would a watcher's events.

The asset's events come from the webhook receiver (docs/webhooks.md); each carries
``{"from_webhook": true, "payload": {...}}``. ``tests/integration/test_webhook_receiver.py``
runs it in a real Airflow; the docs site includes the marked part.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, Asset, task

# [START howto_twin_webhook_consumer]
CAMPAIGN_DELIVERY = Asset("twin.campaign_delivery")

with DAG(
    "test_twin_webhook_consumer",
    schedule=[CAMPAIGN_DELIVERY],  # a run per batch of TWIN status changes
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["test", "twin"],
):

    @task
    def status_changes(*, triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """What TWIN reported: event id, message id, new status and the sender's callbackData."""
        changes = []
        for event in triggering_asset_events[CAMPAIGN_DELIVERY]:
            payload = event.extra["payload"]  # the same key in a watcher's events
            changes.append(
                {
                    "event_id": payload["event_id"],  # message:<id>:<STATUS>: dedupe on it
                    "message": payload["id"],
                    "status": payload["status"],
                    "callbackData": payload.get("callbackData"),
                }
            )
        return changes

    status_changes()
# [END howto_twin_webhook_consumer]
