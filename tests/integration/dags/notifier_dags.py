"""DAGs wiring TwinNotifier into task and DAG callbacks, run against the emulator.

The integration tests run them with ``dag.test()`` (task callbacks run in the task runner,
DAG callbacks right after the run ends) and read what the emulator received. The deadline
alert is in ``notifier_example.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_twin.notifications.twin import TwinNotifier

ON_CALL_PHONE = "+7 999 000-00-01"
OWNER_EMAIL = "crm-owner@example.com"
CHANNELS = {"telegram": {}, "sms": {"from": "TwinService"}}
FAILURE_TEXT = "{{ dag_id }}.{{ task_id }} {{ event }} (try {{ try_number }}): {{ exception }}"
COMMON: dict[str, Any] = {
    "schedule": None,
    "start_date": datetime(2026, 1, 1, tzinfo=timezone.utc),
    "catchup": False,
    "tags": ["test"],
}

on_call = TwinNotifier(recipients=[ON_CALL_PHONE], channels=CHANNELS, text=FAILURE_TEXT)


@task
def extract() -> int:
    """A step that works."""
    return 42


@task
def load(rows: int) -> None:
    """The nightly CRM load, failing."""
    raise ValueError(f"CRM export is empty ({rows} rows expected)")


with DAG("test_notifier_task_failure", **COMMON) as task_failure_dag:
    # Only the failing task notifies; the DAG itself has no callback.
    load.override(on_failure_callback=on_call)(extract())


business_owner = TwinNotifier(
    recipients=[{"email": OWNER_EMAIL, "variables": {"name": "Anna"}}],
    channels={"email": {"subject": "{{ dag_id }}: done", "fromName": "Airflow"}},
    text="Hello {{ '{{' }}name{{ '}}' }}, {{ summary }}",
)

with DAG("test_notifier_dag_success", on_success_callback=business_owner, **COMMON) as dag_success_dag:
    extract()


with DAG(
    "test_notifier_outage",
    on_success_callback=TwinNotifier(recipients=[ON_CALL_PHONE], channels=["sms"], max_attempts=1),
    **COMMON,
) as outage_dag:
    extract.override(
        on_success_callback=TwinNotifier(recipients=[ON_CALL_PHONE], channels=["sms"], max_attempts=1)
    )()


@task(retries=1, retry_delay=timedelta(seconds=0))
def flaky() -> None:
    """Fails on every try: one retry notification, then one failure notification."""
    raise RuntimeError("upstream API answered 503")


with DAG("test_notifier_retries", **COMMON) as retries_dag:
    flaky.override(on_retry_callback=on_call, on_failure_callback=on_call)()
