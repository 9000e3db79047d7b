"""How a wait ends: the trigger event's JSON form and the results built for timeouts and failures."""

from __future__ import annotations

import json

from airflow_provider_twin.client import TwinServerError
from airflow_provider_twin.client.chat import ChatEvent, WaitResult, failed_result, timeout_result

SID = "0b5a8b5e-8d5c-4c5e-9d55-7f2f0e3a1c11"
CLOSE = {"sessionId": SID, "chatId": "c1", "sessionRatingRequired": True}


def test_wait_result_event_round_trip() -> None:
    result = WaitResult.from_event(ChatEvent("sessionClosed", dict(CLOSE), SID), SID)
    event = result.to_event()
    assert json.loads(json.dumps(event)) == event
    assert set(event) >= {"status", "session_id", "event", "payload"}
    assert WaitResult.from_json(event) == result
    assert WaitResult.from_json({"status": "weird"}).status == "error"
    other = WaitResult.from_event(ChatEvent("chatMessageCreated", {"type": "TERMINAL"}, SID), SID)
    assert other.status == "event"


def test_timeout_and_failure_results_say_what_and_when() -> None:
    late = timeout_result(SID, 1893456000.0, ("sessionClosed", "operatorChanged"))
    assert (late.status, late.error) == ("timeout", None)
    assert late.message == (
        "timed out at 2030-01-01T00:00:00+00:00 waiting for sessionClosed or operatorChanged "
        f"of chat session {SID}"
    )
    failed = failed_result(SID, "checking", TwinServerError("down", status=503, error="x"))
    assert (failed.status, failed.error) == ("error", "internal")
    assert failed.message == f"checking chat session {SID} failed: TwinServerError: down"
    assert failed_result(SID, "waiting for", "gone").message == f"waiting for chat session {SID} failed: gone"
