"""Send and cancel operators in real DAG runs (``dag.test()``) against the TWIN emulator."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

POST_MESSAGES = "POST /notify/api/v1/messages"


def run(dag: Any, **conf: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Run ``dag``; return the run, ``{task_id: (state, try_number)}`` and ``{task_id: XCom}``."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = dag.test(run_conf=conf or None)
    with create_session() as session:
        tasks = {ti.task_id: (ti.state, ti.try_number) for ti in dag_run.get_task_instances(session=session)}
        rows = session.scalars(
            XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag.dag_id, key="return_value")
        ).all()
        xcoms = {row.task_id: XComModel.deserialize_value(row) for row in rows}
    return dag_run, tasks, xcoms


def all_records(emulator: Any, **filters: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = emulator.admin.messages(limit=1000, offset=len(items), **filters)
        items.extend(page["items"])
        if len(items) >= page["count"] or not page["items"]:
            return items


def test_10k_recipients_with_template_and_two_channel_fallback(airflow_twin: Any) -> None:
    from tests.integration.dags.messages_send_cancel import TEMPLATE_ID, send_10k_dag

    # Viber fails for phones ending in 7: those recipients fall back to SMS.
    airflow_twin.admin.update_settings(
        delivery_seconds=0.2,
        outcome_rules=[{"status": "UNDELIVERED", "channel": "viber", "phone_suffix": "7"}],
    )
    dag_run, tasks, xcoms = run(send_10k_dag)
    assert dag_run.state == "success", tasks
    summary = xcoms["send"]
    assert (summary["total"], summary["accepted"], summary["rejected"]) == (10_000, 10_000, 0)
    assert len(summary["bulk_ids"]) == summary["chunks"] == 10
    assert summary["per_channel"] == {"VIBER": 10_000}
    assert len(summary["message_ids"]) == 1000
    assert summary["message_ids_truncated"] is True
    assert summary["skipped_chunks"] == 0

    counters = airflow_twin.admin.counters()
    assert counters["requests"][POST_MESSAGES] == 10
    assert counters["destinations_created"] == 10_000
    assert counters["duplicate_pairs"] == 0

    first = airflow_twin.admin.messages(bulkId=summary["bulk_ids"][0], limit=1)["items"][0]
    assert first["templateId"] == TEMPLATE_ID
    assert first["groupId"] == summary["group_id"]
    assert first["destination"]["phone"] == "79990000000"  # normalised from "+7 999 0000000"
    assert first["destination"]["variables"] == {"shop": "Example Shop", "name": "Client 0"}

    # Viber fails for the 1,000 recipients whose phone ends in 7; SMS then delivers to them.
    deadline = time.monotonic() + 20
    while True:
        sms = airflow_twin.admin.messages(channel="SMS", status="DELIVERED", limit=1)["count"]
        if sms == 1000 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert sms == 1000
    assert airflow_twin.admin.messages(channel="VIBER", status="DELIVERED", limit=1)["count"] == 9000
    assert airflow_twin.admin.messages(channel="SMS", limit=1)["count"] == 1000


def test_delayed_send_is_cancelled_before_its_time(airflow_twin: Any) -> None:
    from tests.integration.dags.messages_send_cancel import delayed_cancel_dag

    airflow_twin.admin.update_settings(delivery_seconds=0.2)
    started = time.time()
    dag_run, tasks, xcoms = run(delayed_cancel_dag, n=50, delay_seconds=30)
    assert dag_run.state == "success", tasks
    assert time.time() - started < 30, "the cancel must happen before the send time"
    send, cancel = xcoms["send"], xcoms["cancel"]
    assert send["accepted"] == 50
    assert len(send["bulk_ids"]) == 3  # batch_size=20
    assert cancel["cancelled"] == 50
    assert cancel["not_cancellable"] == 0
    assert cancel["requested"]["bulk_ids"] == 3

    records = all_records(airflow_twin, bulkId=send["bulk_ids"])
    assert len(records) == 50
    assert {record["status"] for record in records} == {"CANCELLED"}


def test_cancel_is_idempotent_and_reports_not_cancellable(airflow_twin: Any) -> None:
    from airflow.sdk import DAG

    from airflow_provider_twin.client import notify
    from airflow_provider_twin.hooks.twin import TwinHook
    from airflow_provider_twin.operators.messages import TwinCancelMessagesOperator

    airflow_twin.admin.update_settings(delivery_seconds=0.1)
    later = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 3600))
    hook = TwinHook()
    try:
        client = hook.get_client()
        now_items = client.send(
            notify.create_messages(
                [{"destinations": [{"phone": "79990000001"}], "channels": {"sms": {"text": "now"}}}],
                bulk_id="0b6d0c7e-0000-4000-8000-000000000001",
            )
        )
        later_items = client.send(
            notify.create_messages(
                [
                    {
                        "destinations": [{"phone": "79990000002"}, {"phone": "79990000003"}],
                        "channels": {"sms": {"text": "later"}},
                        "sendAt": later,
                    }
                ],
                bulk_id="0b6d0c7e-0000-4000-8000-000000000002",
            )
        )
    finally:
        hook.close()
    time.sleep(0.5)  # the first message is delivered by now
    ids = [item["id"] for item in now_items + later_items]
    with DAG("test_messages_cancel_direct", schedule=None):
        op = TwinCancelMessagesOperator(task_id="cancel", message_ids=",".join(ids), max_ids_per_request=2)
    first = op.execute({})
    assert (first["matched"], first["cancelled"], first["not_cancellable"]) == (3, 2, 1)
    assert first["requests"] == 2
    assert first["statuses"] == {"CANCELLED": 2, "DELIVERED": 1}
    again = op.execute({})  # already cancelled is not an error
    assert (again["cancelled"], again["not_cancellable"]) == (2, 1)


def test_lost_answer_is_checked_not_resent(airflow_twin: Any) -> None:
    from tests.integration.dags.messages_send_cancel import lost_answer_dag

    airflow_twin.admin.update_settings(delivery_seconds=0.2)
    airflow_twin.admin.add_fault(method="POST", path="/notify/api/v1/messages", kind="drop", times=1)
    dag_run, tasks, xcoms = run(lost_answer_dag, n=3000)
    assert dag_run.state == "success", tasks
    assert tasks["send"][1] == 1  # recovered inside the first try
    summary = xcoms["send"]
    assert (summary["accepted"], summary["skipped"], summary["skipped_chunks"]) == (2000, 1000, 1)
    counters = airflow_twin.admin.counters()
    assert counters["dropped_responses"] == 1
    assert counters["requests"][POST_MESSAGES] == 3  # the dropped chunk was not posted again
    assert counters["destinations_created"] == 3000
    assert counters["duplicate_pairs"] == 0


def test_airflow_retry_after_accept_then_drop_creates_no_duplicates(
    airflow_twin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.dags.messages_send_cancel import retry_task_dag

    connection = airflow_twin.connection
    connection["extra"]["max_retries"] = 0
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_NORETRY", json.dumps(connection))
    airflow_twin.admin.update_settings(delivery_seconds=0.2)
    airflow_twin.admin.add_fault(method="POST", path="/notify/api/v1/messages", kind="drop", times=1)
    dag_run, tasks, xcoms = run(retry_task_dag, n=3000)
    assert dag_run.state == "success", tasks
    assert tasks["send"] == ("success", 2)  # the first try failed on the lost answer
    summary = xcoms["send"]
    assert (summary["accepted"], summary["skipped"], summary["skipped_chunks"]) == (2000, 1000, 1)
    counters = airflow_twin.admin.counters()
    assert counters["requests"][POST_MESSAGES] == 3
    assert counters["requests"]["GET /notify/api/v1/messages"] == 3  # one existence check per chunk
    assert counters["destinations_created"] == 3000
    assert counters["duplicate_pairs"] == 0
    assert counters["duplicate_destinations"] == 0


def test_429_and_500_bursts_are_absorbed(airflow_twin: Any) -> None:
    from tests.integration.dags.messages_send_cancel import bursts_dag

    admin = airflow_twin.admin
    admin.update_settings(delivery_seconds=0.2)
    admin.add_fault(
        method="POST", path="/notify/api/v1/messages", kind="status", status=429, retry_after=0.1, times=4
    )
    admin.add_fault(method="POST", path="/notify/api/v1/messages", kind="status", status=500, times=3)
    admin.add_fault(method="GET", path="/notify/api/v1/messages", kind="status", status=503, times=2)
    dag_run, tasks, xcoms = run(bursts_dag, n=5000)
    assert dag_run.state == "success", tasks
    assert tasks["send"][1] == 1
    summary = xcoms["send"]
    assert (summary["accepted"], summary["rejected"], summary["skipped_chunks"]) == (5000, 0, 0)
    counters = admin.counters()
    assert counters["faults_applied"] == 9
    assert counters["responses_by_status"]["429"] == 4
    assert counters["destinations_created"] == 5000
    assert counters["duplicate_pairs"] == 0


def test_recipients_file_is_streamed(airflow_twin: Any, tmp_path: Path) -> None:
    from tests.integration.dags.messages_send_cancel import file_dag

    airflow_twin.admin.update_settings(delivery_seconds=0.2)
    path = tmp_path / "recipients.csv"
    rows = ["phone;email;var_order"] + [f"+7 (999) {i:07d};user{i}@example.com;A-{i}" for i in range(1000)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    dag_run, tasks, xcoms = run(file_dag, path=str(path))
    assert dag_run.state == "success", tasks
    summary = xcoms["send"]
    assert (summary["total"], summary["accepted"], len(summary["bulk_ids"])) == (1000, 1000, 3)
    assert summary["per_channel"] == {"WHATSAPP": 1000}
    record = airflow_twin.admin.messages(bulkId=summary["bulk_ids"][2], limit=1)["items"][0]
    assert record["destination"]["phone"] == "79990000800"
    assert record["destination"]["email"] == "user800@example.com"
    assert record["destination"]["variables"] == {"order": "A-800"}


def test_bad_input_fails_without_a_single_request(airflow_twin: Any) -> None:
    from tests.integration.dags.messages_send_cancel import bad_input_dag

    dag_run, tasks, _ = run(bad_input_dag)
    assert dag_run.state == "failed"
    assert tasks["send"] == ("failed", 1)  # AirflowFailException: no retry although retries=2
    assert airflow_twin.admin.requests() == []
    assert airflow_twin.admin.counters()["requests"] == {}


def test_documentation_example_dag(airflow_twin: Any, tmp_path: Path) -> None:
    from tests.integration.dags.messages_example import dag

    airflow_twin.admin.update_settings(delivery_seconds=0.2)
    path = tmp_path / "ready.csv"
    path.write_text(
        "phone,var_name,var_order\n79990000010,Cy,A-1010\n79990000011,Di,A-1011\n", encoding="utf-8"
    )
    dag_run, tasks, xcoms = run(dag, recipients_file=str(path))
    assert dag_run.state == "success", tasks
    reminder = xcoms["send_reminder"]
    assert reminder["accepted"] == 2
    assert xcoms["cancel_reminder"]["cancelled"] == 2
    [record, _] = all_records(airflow_twin, bulkId=reminder["bulk_ids"])
    assert record["status"] == "CANCELLED"
    assert record["message"]["text"] == "Hello {{name}}, order {{order}} is ready for pickup."
    assert json.loads(record["callbackData"]) == {"campaign": "pickup-reminder", "run": dag_run.run_id}
    assert record["sendAt"] > record["createdAt"]
    assert xcoms["send_from_file"]["accepted"] == 2
    assert xcoms["send_raw_messages"]["per_channel"] == {"TELEGRAM": 1}
