"""Send job steps never repeat an upload or start TWIN answered (a fake TWIN drives them)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from airflow_provider_twin.client import TwinError, TwinValidationError
from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.messages.send_job_steps import SETTLE_READS, started_job, uploaded_job
from airflow_provider_twin.client.messages.send_jobs import control_send_job
from tests.unit.core.procedure_runs import run_procedure

JOB = {"id": "job-1", "name": "Sale [abc]", "status": "CREATED", "totalMessageCount": 0}


def drive(procedure: Generator[Any, Any, Any], answer: Any) -> tuple[Any, list[str]]:
    """Run ``procedure`` against ``answer(call)``; its result and the requests it sent."""
    result, calls = run_procedure(procedure, answer)
    return result, [f"{call.method} {call.path}" for call in calls]


def stuck_twin(call: ApiCall[Any]) -> Any:
    """TWIN that accepts every request but whose job never shows messages nor starts."""
    if call.method == "GET" and call.path == "/tasks":
        return {"count": 1, "items": [dict(JOB)]}
    if call.path.endswith("/statuses"):
        return "CREATED"
    return {}


def test_an_accepted_upload_the_job_never_shows_is_not_repeated_and_fails_clearly() -> None:
    sent: list[str] = []

    def twin(call: ApiCall[Any]) -> Any:
        sent.append(f"{call.method} {call.path}")
        return stuck_twin(call)

    with pytest.raises(TwinError, match=r"job-1.*totalMessageCount 0") as caught:
        drive(uploaded_job(dict(JOB), lambda: b"file", 0.0), twin)  # type: ignore[arg-type]
    assert sent.count("POST /tasks/job-1") == 1
    assert sent.count("GET /tasks") == SETTLE_READS
    assert "not uploaded again" in str(caught.value)


def test_the_upload_answers_count_is_taken_without_a_read() -> None:
    def twin(call: ApiCall[Any]) -> Any:
        return {"id": "job-1", "totalMessageCount": 4} if call.method == "POST" else stuck_twin(call)

    (item, uploaded), sent = drive(uploaded_job(dict(JOB), lambda: b"file", 0.0), twin)  # type: ignore[arg-type]
    assert (item["totalMessageCount"], uploaded) == (4, True)
    assert sent == ["POST /tasks/job-1"]


def test_an_accepted_start_the_job_never_shows_is_not_repeated_and_fails_clearly() -> None:
    sent: list[str] = []

    def twin(call: ApiCall[Any]) -> Any:
        sent.append(f"{call.method} {call.path}")
        return stuck_twin(call)

    with pytest.raises(TwinError, match=r"job-1.*still CREATED"):
        drive(started_job("job-1", "CREATED", 0.0), twin)
    assert sent.count("POST /startedTasks/job-1") == 1


def control_against(first: str, after: str, action: str) -> tuple[Any, list[str]]:
    """``control_send_job`` where TWIN refuses the request (422) and the job then reads ``after``."""
    statuses = iter([first, after])
    sent: list[str] = []
    procedure = control_send_job("job-1", action)
    step: Any = procedure.send(None)
    try:
        while True:
            sent.append(f"{step.method} {step.path}")
            if step.path.endswith("/statuses"):
                step = procedure.send(next(statuses))
            else:
                refused = TwinValidationError("refused", status=422, error="Validation failed")
                step = procedure.throw(refused)
    except StopIteration as done:
        return done.value, sent


@pytest.mark.parametrize(
    ("action", "first", "after"),
    [("pause", "RUNNING", "PAUSED"), ("pause", "RUNNING", "COMPLETED"), ("resume", "PAUSED", "RUNNING")],
)
def test_a_refused_pause_or_resume_of_a_job_already_there_changed_nothing(
    action: str, first: str, after: str
) -> None:
    status, sent = control_against(first, after, action)
    assert status == after
    assert len(sent) == 3


def test_a_refused_pause_of_a_job_still_running_fails() -> None:
    with pytest.raises(TwinValidationError):
        control_against("RUNNING", "RUNNING", "pause")
