"""Human-in-the-loop responses through the triggerer's supervisor: read, recorded, first wins."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import pytest
from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
from airflow.sdk.execution_time import task_runner
from airflow.sdk.execution_time.comms import ErrorResponse, GetHITLDetailResponse, UpdateHITLDetail

from airflow_provider_twin.triggers.hitl_responses import (
    HITLResponseError,
    hitl_response,
    record_hitl_response,
)
from airflow_provider_twin.triggers.supervisor_requests import NoSupervisorLinkError

TI_ID = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def result(**fields: Any) -> Any:
    """The supervisor's answer, as the triggerer builds it from the execution API's."""
    from airflow.jobs.triggerer_job_runner import HITLDetailResponseResult

    return HITLDetailResponseResult(**fields)


def conflict() -> AirflowRuntimeError:
    detail = {"status_code": 409, "message": "Human-in-the-loop detail already responded", "detail": None}
    return AirflowRuntimeError(ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail=detail))


class Supervisor:
    """One HITL detail row behind the supervisor: the first response is kept, later ones get 409."""

    def __init__(self) -> None:
        self.row: dict[str, Any] = {"response_received": False, "responded_at": None, "chosen_options": None}
        self.sent: list[Any] = []

    async def asend(self, msg: Any) -> Any:
        self.sent.append(msg)
        if isinstance(msg, GetHITLDetailResponse):
            return result(**self.row)
        if isinstance(msg, UpdateHITLDetail):
            if self.row["response_received"]:
                raise conflict()
            self.row = {
                "response_received": True,
                "responded_at": datetime.now(timezone.utc),
                "chosen_options": msg.chosen_options,
                "params_input": msg.params_input,
            }
            return result(**self.row)
        raise AssertionError(msg)


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> Supervisor:
    comms = Supervisor()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", comms, raising=False)
    return comms


def test_a_response_is_read_and_the_first_one_recorded_wins(supervisor: Supervisor) -> None:
    assert asyncio.run(hitl_response(TI_ID)).response_received is False
    recorded = asyncio.run(record_hitl_response(TI_ID, ["Approve"], {"reason": "ok"}))
    assert recorded is not None
    assert recorded.chosen_options == ["Approve"]
    assert recorded.responded_at is not None
    assert recorded.responded_at.tzinfo is not None
    assert asyncio.run(record_hitl_response(TI_ID, ["Reject"], {})) is None  # 409: already answered
    now = asyncio.run(hitl_response(TI_ID))
    assert now.response_received
    assert now.chosen_options == ["Approve"]
    assert isinstance(supervisor.sent[0].ti_id, UUID)


def test_a_conflict_sent_as_a_reply_is_a_response_that_already_existed(
    supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def answered(msg: Any) -> Any:
        return conflict().error

    monkeypatch.setattr(supervisor, "asend", answered)
    assert asyncio.run(record_hitl_response(TI_ID, ["Approve"], {})) is None


def test_other_errors_are_raised_for_the_caller_to_retry(
    supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(msg: Any) -> Any:
        detail = {"status_code": 500, "message": "Server error", "detail": None}
        raise AirflowRuntimeError(ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail=detail))

    async def odd(msg: Any) -> Any:
        return ErrorResponse(error=ErrorType.GENERIC_ERROR, detail={"message": "boom"})

    monkeypatch.setattr(supervisor, "asend", failing)
    with pytest.raises(AirflowRuntimeError):
        asyncio.run(record_hitl_response(TI_ID, ["Approve"], {}))
    monkeypatch.setattr(supervisor, "asend", odd)
    with pytest.raises(HITLResponseError):
        asyncio.run(hitl_response(TI_ID))
    with pytest.raises(HITLResponseError):
        asyncio.run(record_hitl_response(TI_ID, ["Approve"], {}))


def test_a_cancelled_caller_leaves_the_request_to_finish(supervisor: Supervisor) -> None:
    """On Airflow 3.2 an abandoned request desynchronises the triggerer's comms: it runs to its reply."""
    finished: list[Any] = []
    slow = supervisor.asend

    async def slow_asend(msg: Any) -> Any:
        await asyncio.sleep(0.2)
        reply = await slow(msg)
        finished.append(reply)
        return reply

    supervisor.asend = slow_asend  # type: ignore[method-assign]

    async def cancel_midway() -> None:
        task = asyncio.ensure_future(record_hitl_response(TI_ID, ["Approve"], {}))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.3)

    asyncio.run(cancel_midway())
    assert len(finished) == 1
    assert supervisor.row["chosen_options"] == ["Approve"]


def test_outside_a_triggerer_it_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", None, raising=False)
    with pytest.raises(NoSupervisorLinkError):
        asyncio.run(hitl_response(TI_ID))
