"""DAGs exercising TwinSendMessagesOperator and TwinCancelMessagesOperator against the emulator.

The integration tests run them with ``dag.test()`` and check the task states, the XCom
summaries and the emulator's own records and counters. Sizes and timings come from
``params`` so each test can pick them with ``run_conf``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_twin.operators.messages import TwinCancelMessagesOperator, TwinSendMessagesOperator

#: A TWIN template id (the emulator accepts any UUID).
TEMPLATE_ID = "6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"
FALLBACK = {"viber": {"from": "Shop", "provider": "INFOBIP"}, "sms": {"from": "Shop", "validityPeriod": 60}}
COMMON: dict[str, Any] = {
    "schedule": None,
    "start_date": datetime(2026, 1, 1, tzinfo=timezone.utc),
    "catchup": False,
}


@task
def make_recipients(params: dict[str, Any]) -> list[dict[str, Any]]:
    """``params.n`` recipients with a phone and a template variable."""
    return [{"phone": f"+7 999 {i:07d}", "var_name": f"Client {i}"} for i in range(int(params["n"]))]


with DAG("test_messages_send_10k", params={"n": 10_000}, tags=["test"], **COMMON) as send_10k_dag:
    # A template and two channels: Viber first, SMS when Viber does not deliver.
    TwinSendMessagesOperator(
        task_id="send",
        recipients=make_recipients(),
        template_id=TEMPLATE_ID,
        channels=FALLBACK,
        variables={"shop": "Example Shop"},
        max_in_flight=4,
    )


@task
def send_time(params: dict[str, Any]) -> str:
    """An aware ISO-8601 time ``params.delay_seconds`` from now."""
    return (datetime.now(timezone.utc) + timedelta(seconds=int(params["delay_seconds"]))).isoformat()


with DAG(
    "test_messages_delayed_cancel", params={"n": 50, "delay_seconds": 60}, tags=["test"], **COMMON
) as delayed_cancel_dag:
    delayed = TwinSendMessagesOperator(
        task_id="send",
        recipients=make_recipients(),
        channels=["sms"],
        text="Your appointment is tomorrow at 10:00",
        send_at=send_time(),
        batch_size=20,
    )
    TwinCancelMessagesOperator(
        task_id="cancel",
        bulk_ids=delayed.output["bulk_ids"],
        fail_if_nothing_cancelled=True,
    )


with DAG("test_messages_lost_answer", params={"n": 3000}, tags=["test"], **COMMON) as lost_answer_dag:
    # The default connection retries: a lost answer is checked and recovered inside the task.
    TwinSendMessagesOperator(
        task_id="send",
        recipients=make_recipients(),
        channels={"sms": {"from": "Shop"}},
        text="Hello",
        max_in_flight=1,
        settle_seconds=0.2,
    )


with DAG("test_messages_retry_task", params={"n": 3000}, tags=["test"], **COMMON) as retry_task_dag:
    # ``twin_noretry`` has max_retries=0: the first lost answer fails the try, Airflow retries.
    TwinSendMessagesOperator(
        task_id="send",
        recipients=make_recipients(),
        channels={"sms": {"from": "Shop"}},
        text="Hello",
        max_in_flight=1,
        twin_conn_id="twin_noretry",
        retries=1,
        retry_delay=timedelta(0),
    )


with DAG("test_messages_bursts", params={"n": 5000}, tags=["test"], **COMMON) as bursts_dag:
    TwinSendMessagesOperator(
        task_id="send",
        recipients=make_recipients(),
        channels={"sms": {"from": "Shop"}},
        text="Hello",
        batch_size=500,
        max_in_flight=4,
        settle_seconds=0.1,
        check_existing=True,
    )


with DAG("test_messages_file", params={"path": ""}, tags=["test"], **COMMON) as file_dag:
    TwinSendMessagesOperator(
        task_id="send",
        recipients_file="{{ params.path }}",
        channels={"whatsapp": {"from": "Shop", "templateName": "order_ready"}, "sms": {"from": "Shop"}},
        text="Your order {{ '{{order}}' }} is ready",
        batch_size=400,
    )


@task
def bad_recipients() -> list[Any]:
    """25 broken recipients around two good ones."""
    broken: list[Any] = [
        {"phone": "12-34"},
        {"email": "not-an-address"},
        {"phone": "79990000001", "nmae": "x"},
    ]
    broken += [{"phone": f"+7 999 abc {i}"} for i in range(22)]
    return [{"phone": "79990000000"}, *broken, {"email": "ok@example.com"}]


with DAG("test_messages_bad_input", tags=["test"], **COMMON) as bad_input_dag:
    TwinSendMessagesOperator(
        task_id="send",
        recipients=bad_recipients(),
        channels=["sms"],
        text="Hello",
        retries=2,
        retry_delay=timedelta(0),
    )
