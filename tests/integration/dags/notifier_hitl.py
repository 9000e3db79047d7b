"""A human-in-the-loop approval whose request reaches the approver over TWIN.

``TwinNotifier`` in the ``notifiers`` of Airflow's ``ApprovalOperator``: when the task starts
waiting, the approver gets the question, the numbered options and the link to the task's
Required Actions page. The integration tests run it with ``dag.test()`` and answer through
Airflow's HITL API; docs/notifications.md includes the example from here.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG

from airflow_provider_twin.notifications.twin import TwinNotifier

APPROVER_PHONE = "+7 999 000-00-03"

with DAG(
    "test_notifier_hitl",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["test"],
) as hitl_dag:
    # [START howto_notifier_hitl]
    ask_the_owner = TwinNotifier(
        recipients=[APPROVER_PHONE],
        channels={"telegram": {}, "sms": {"from": "TwinService"}},
    )

    ApprovalOperator(
        task_id="approve_load",
        subject="Load the CRM export of {{ ds }} into production?",
        body="{{ var.value.get('crm_export_note', 'The export is ready.') }}",
        response_timeout=timedelta(hours=4),
        defaults="Reject",
        notifiers=[ask_the_owner],
    )
    # [END howto_notifier_hitl]
