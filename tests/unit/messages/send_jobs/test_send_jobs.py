"""TWIN send jobs: validation first, then create + upload + start exactly once across retries."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.messages import job_name, plan_send_job
from tests.unit.messages.send_jobs.conftest import Twin, context, job_operator, people

IDENTITY = ("campaign", "manual__1", "send_job", -1)
SETTINGS = {"channels": {"sms": {"from": "Shop"}}, "text": "Hello {{name}}"}


def test_the_job_name_carries_a_suffix_of_the_task_instance_not_of_the_try() -> None:
    first = job_name("Spring sale", IDENTITY)
    assert first == job_name("Spring sale", IDENTITY)
    assert first.startswith("Spring sale [")
    assert first != job_name("Spring sale", ("campaign", "manual__2", "send_job", -1))
    assert first != job_name("Spring sale", ("campaign", "manual__1", "send_job", 3))


def test_every_bad_recipient_is_named_with_its_field_before_any_request() -> None:
    recipients = [*people(2), {"phone": "12"}, {"email": "not-an-address"}]
    with pytest.raises(TwinInputError) as caught:
        plan_send_job(IDENTITY, "Spring sale", SETTINGS, recipients=recipients)
    text = str(caught.value)
    assert "recipients[2]" in text
    assert "recipients[3]" in text


def test_a_bad_file_row_is_named_by_its_line(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("phone,var_name\n79990000001,Ann\nabc,Bob\n")
    with pytest.raises(TwinInputError, match="recipients_file line 3"):
        plan_send_job(IDENTITY, "Spring sale", SETTINGS, recipients_file=str(path))


def test_a_job_refuses_send_at_and_bad_windows() -> None:
    settings = {**SETTINGS, "send_at": "2030-01-01T10:00:00+00:00", "allowed_time_ranges": [["25:00", "x"]]}
    with pytest.raises(TwinInputError) as caught:
        plan_send_job(IDENTITY, "Spring sale", settings, recipients=people(1))
    assert "send_at" in str(caught.value)
    assert "allowed_time_ranges" in str(caught.value)


def test_the_operator_creates_uploads_and_starts_once(twin: Twin) -> None:
    summary = job_operator(recipients=people(5), allowed_time_ranges=[["00:00:00", "23:59:59"]]).execute(
        context()
    )
    assert (summary["created"], summary["uploaded"], summary["started"]) == (True, True, True)
    assert summary["total"] == 5
    assert summary["status"] in ("RUNNING", "COMPLETED")
    (job,) = twin.jobs()
    assert job.id == summary["job_id"]
    assert job.name == summary["name"]
    assert job.time_ranges == [["00:00:00", "23:59:59"]]


def test_a_retried_task_finds_its_job_and_does_nothing_again(twin: Twin) -> None:
    first = job_operator(recipients=people(5)).execute(context(try_number=1))
    again = job_operator(recipients=people(5)).execute(context(try_number=2))
    assert again["job_id"] == first["job_id"]
    assert (again["created"], again["uploaded"], again["started"]) == (False, False, False)
    assert len(twin.jobs()) == 1
    assert twin.requests("POST /tasks") == 1
    assert twin.requests("POST /tasks/{task_id}") == 1
    assert twin.requests("POST /startedTasks/{task_id}") == 1


@pytest.mark.twin_strict
def test_a_lost_start_answer_is_checked_not_repeated(twin: Twin) -> None:
    twin.admin.add_fault(method="POST", path="/notify/api/v1/startedTasks/*", kind="drop", times=1)
    summary = job_operator(recipients=people(3)).execute(context())
    assert summary["started"] is True
    assert twin.requests("POST /startedTasks/{task_id}") == 1
    assert twin.admin.counters()["dropped_responses"] == 1


def test_a_try_that_crashed_before_the_start_is_finished_by_the_retry(twin: Twin) -> None:
    twin.admin.add_fault(
        method="POST", path="/notify/api/v1/startedTasks/*", kind="status", status=500, times=4
    )
    with pytest.raises(AirflowException):
        job_operator(recipients=people(3)).execute(context(try_number=1))
    (job,) = twin.jobs()
    assert (job.status, len(job.rows)) == ("CREATED", 3)
    summary = job_operator(recipients=people(3)).execute(context(try_number=2))
    assert (summary["created"], summary["uploaded"], summary["started"]) == (False, False, True)
    assert len(twin.jobs()) == 1


def test_a_lost_upload_answer_does_not_upload_twice(twin: Twin) -> None:
    twin.admin.add_fault(method="POST", path="/notify/api/v1/tasks/*", kind="drop", times=1)
    summary = job_operator(recipients=people(4)).execute(context())
    (job,) = twin.jobs()
    assert len(job.rows) == 4
    assert summary["uploaded"] is True


def test_a_paused_job_is_not_resumed_by_a_retry(twin: Twin) -> None:
    twin.admin.update_settings(task_messages_per_second=0.001)
    first = job_operator(recipients=people(3)).execute(context())
    with twin.emulator.state.lock:
        twin.emulator.state.tasks.move(twin.jobs()[0], "PAUSED", twin.emulator.state.now())
    again = job_operator(recipients=people(3)).execute(context(try_number=2))
    assert again["job_id"] == first["job_id"]
    assert (again["status"], again["started"]) == ("PAUSED", False)


def test_invalid_recipients_fail_the_task_without_a_request(twin: Twin) -> None:
    with pytest.raises(AirflowFailException, match=r"recipients\[1\]"):
        job_operator(recipients=[*people(1), {"phone": "x"}]).execute(context())
    assert twin.requests("POST /tasks") == 0


def test_a_job_found_in_error_fails_the_task_for_good(twin: Twin) -> None:
    twin.admin.update_settings(task_messages_per_second=0.001)
    job_operator(recipients=people(3)).execute(context())
    with twin.emulator.state.lock:
        twin.emulator.state.tasks.move(twin.jobs()[0], "ERROR", twin.emulator.state.now())
    with pytest.raises(AirflowFailException, match="in ERROR"):
        job_operator(recipients=people(3)).execute(context(try_number=2))


def test_a_rerun_finding_its_job_completed_warns_that_nothing_is_sent_again(
    twin: Twin, capsys: pytest.CaptureFixture[str]
) -> None:
    first = job_operator(recipients=people(2)).execute(context())
    (job,) = twin.jobs()
    with twin.emulator.state.lock:
        job.status = "COMPLETED"
    again = job_operator(recipients=people(3)).execute(context(try_number=2))
    assert again["job_id"] == first["job_id"]
    assert (again["status"], again["total"]) == ("COMPLETED", 2)
    assert "found already COMPLETED: nothing is sent again" in capsys.readouterr().out
    assert twin.requests("POST /tasks/{task_id}") == 1
