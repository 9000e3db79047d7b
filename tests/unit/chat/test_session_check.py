"""Is a chat session closed? TWIN's REST answer judged once, for every way of waiting."""

from __future__ import annotations

from dataclasses import replace

import pytest

from airflow_provider_twin.client import (
    RetryPolicy,
    TwinClient,
    TwinNotFoundError,
    TwinServerError,
    TwinTransportError,
    TwinValidationError,
)
from airflow_provider_twin.client.chat import ERROR_NOT_FOUND, ERROR_REST, check_session, closed_result
from airflow_provider_twin.client.chat.session_check import check_failure, judge_session
from airflow_provider_twin.emulator import TwinEmulator
from tests.unit.chat.chat_fixtures import emulator_config, start_session

SID = "0b5a8b5e-8d5c-4c5e-9d55-7f2f0e3a1c11"


def test_closed_result_from_the_rest_session_object() -> None:
    info = {"id": SID, "chatId": "c1", "status": "CLOSED", "sessionRatingRequired": True}
    result = closed_result(SID, info)
    assert result is not None
    assert (result.status, result.event, result.source) == ("closed", "sessionClosed", "rest")
    assert result.payload == {"sessionId": SID, "chatId": "c1", "sessionRatingRequired": True}
    assert closed_result(SID, {**info, "status": "OPEN"}) is None
    # TWIN's session object may lack the rating flag: reported as unknown.
    bare = closed_result(SID, {"id": SID, "status": "closed"})
    assert bare is not None
    assert bare.payload == {"sessionId": SID, "chatId": None, "sessionRatingRequired": None}
    assert closed_result(SID, {"status": "FINISHED"}, closed_statuses=["finished"]) is not None


def test_check_failure_tells_transient_from_final() -> None:
    missing = check_failure(SID, TwinNotFoundError("nope", status=404, error="Entity not found"))
    assert missing is not None
    assert (missing.status, missing.error) == ("error", ERROR_NOT_FOUND)
    refused = check_failure(SID, TwinValidationError("bad", status=422, error="x"))
    assert refused is not None
    assert refused.error == ERROR_REST
    assert check_failure(SID, TwinServerError("down", status=503, error="x")) is None
    assert check_failure(SID, TwinTransportError("reset", ambiguous=False)) is None


def test_a_transient_failure_is_trouble_not_a_result() -> None:
    check = judge_session(SID, TwinServerError("down", status=503, error="x"))
    assert (check.result, check.trouble) == (None, "TwinServerError: down")
    refused = judge_session(SID, TwinValidationError("bad", status=422, error="x"))
    assert refused.result is not None
    assert (refused.result.error, refused.trouble) == (ERROR_REST, None)
    still_open = judge_session(SID, {"id": SID, "status": "OPEN"})
    assert (still_open.result, still_open.trouble) == (None, None)


@pytest.mark.integration
def test_the_check_procedure_against_the_emulator(twin_emulator: TwinEmulator) -> None:
    session_id = start_session(twin_emulator)
    config = replace(emulator_config(twin_emulator), retry=RetryPolicy(max_attempts=1))
    with TwinClient(config) as client:
        assert client.run(check_session(session_id)).result is None
        twin_emulator.admin.close_session(session_id, rating_required=True)
        closed = client.run(check_session(session_id)).result
        assert closed is not None
        assert (closed.status, closed.source, closed.payload["sessionRatingRequired"]) == (  # type: ignore[index]
            "closed",
            "rest",
            True,
        )
        missing = client.run(check_session("7d1f0a52-6a43-4f1b-8a0e-2b9c3d4e5f60")).result
        assert missing is not None
        assert (missing.status, missing.error) == ("error", ERROR_NOT_FOUND)
        twin_emulator.admin.add_fault(status=503, method="GET", path="/chat/api/v1/sessions/*", times=1)
        assert client.run(check_session(session_id)).trouble is not None
