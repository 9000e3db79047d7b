"""The nightly CRM load, telling people over TWIN how it went: the examples of docs/notifications.md.

The snippets between the ``[START ...]``/``[END ...]`` markers are the documentation's
examples (the page includes them from this file); the integration tests run this DAG against the
emulator, failing it with ``run_conf={"fail": True}``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import DAG, DeadlineAlert, DeadlineReference, task

from airflow_provider_twin.notifications.twin import TwinNotifier, send_twin_notification

# [START howto_notifier_on_call]
# The on-call engineer: Telegram first, SMS when Telegram does not deliver.
on_call = TwinNotifier(
    recipients=["+7 999 000-00-01"],
    channels={"telegram": {}, "sms": {"from": "TwinService"}},
    text="CRM load: {{ summary }} {{ log_url }} {{ error }}",
)
# [END howto_notifier_on_call]

# [START howto_notifier_owner]
# The business owner, by e-mail, when the whole run succeeded. {{name}} is a TWIN variable:
# keep Jinja away from it with raw.
crm_owner = TwinNotifier(
    recipients=[{"email": "crm-owner@example.com", "variables": {"name": "Anna"}}],
    channels={"email": {"subject": "CRM load {{ ds }}: done", "fromName": "Data platform"}},
    text="{% raw %}Hello {{name}}{% endraw %}, the CRM load of {{ ds }} finished: {{ summary }}",
)
# [END howto_notifier_owner]

# [START howto_notifier_template]
# A stored TWIN template (an approved WhatsApp template, SMS as fallback) with variables.
retry_warning = send_twin_notification(
    recipients="{{ var.value.get('crm_on_call', '+7 999 000-00-01') }}",
    template_id="6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f",
    channels={
        "whatsapp": {"from": "TwinService", "templateName": "airflow_retry", "language": "ru"},
        "sms": {"from": "TwinService"},
    },
    variables={"task": "{{ task_id }}", "try": "{{ try_number }}", "error": "{{ error }}"},
)
# [END howto_notifier_template]


@task
def extract() -> int:
    """Export the day's contacts from the CRM."""
    return 1250


@task(on_retry_callback=retry_warning, retries=1, retry_delay=timedelta(seconds=0))
def load(rows: int, params: dict[str, Any]) -> int:
    """Load them into the warehouse (``params.fail`` makes it fail, for the tests)."""
    if params["fail"]:
        raise ValueError(f"CRM export is empty ({rows} rows expected)")
    return rows


# [START howto_notifier_dag]
with DAG(
    "test_notifier_example_crm",
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={"fail": False},
    # Every task tells the on-call engineer when it fails.
    default_args={"on_failure_callback": on_call},
    # The owner hears when the whole run succeeded.
    on_success_callback=crm_owner,
    # And the on-call engineer when the run is still not done two hours after it was queued.
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(hours=2),
        callback=TwinNotifier.deadline_callback(
            recipients=["+7 999 000-00-01"],
            channels={"telegram": {}, "sms": {"from": "TwinService"}},
            text="CRM load: {{ summary }} {{ log_url }}",
        ),
    ),
    tags=["test", "example"],
) as crm_dag:
    load(extract())
# [END howto_notifier_dag]
