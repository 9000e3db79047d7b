"""TwinChatSessionClosedSensor: arguments, the REST pre-check, deferring, pokes, event mapping."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from airflow.sdk import PokeReturnValue
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.sensors.chat import EVENT_XCOM_KEY, TwinChatSessionClosedSensor
from airflow_provider_twin.triggers.chat import TwinChatSessionEventTrigger
from tests.unit.chat.chat_fixtures import FakeTI, listened, make_context, start_session

UNKNOWN = "7d1f0a52-6a43-4f1b-8a0e-2b9c3d4e5f60"


def sensor(**kwargs: Any) -> TwinChatSessionClosedSensor:
    kwargs.setdefault("task_id", "closed")
    kwargs.setdefault("session_id", "S1")
    return TwinChatSessionClosedSensor(**kwargs)


# -- arguments --------------------------------------------------------------------------------------
def test_arguments_are_checked_when_the_dag_is_parsed() -> None:
    with pytest.raises(TwinInputError, match="sessionClosd"):
        sensor(events=["sessionClosd"])
    with pytest.raises(ValueError, match="listen_timeout"):
        sensor(listen_timeout=-1)
    # Templates are only known at run time.
    assert sensor(events="{{ params.events }}").events == "{{ params.events }}"
    assert set(TwinChatSessionClosedSensor.template_fields) == {"session_id", "events", "user_id"}


def test_rendered_inputs_are_checked_at_run_time() -> None:
    with pytest.raises(AirflowFailException, match="session_id"):
        sensor(session_id="").rendered_session_id()
    bad = sensor()
    bad.events = ["nope"]
    with pytest.raises(AirflowFailException, match="nope"):
        bad.event_filter()


def test_a_deferrable_wait_failing_its_first_check_respects_soft_fail() -> None:
    """As a failed poke does in the base sensor's loop (and as the status sensor does)."""
    with pytest.raises(AirflowSkipException, match="session_id must be a non-empty string"):
        sensor(session_id="", deferrable=True, soft_fail=True).execute(make_context())
    with pytest.raises(AirflowFailException, match="session_id must be a non-empty string"):
        sensor(session_id="", deferrable=True).execute(make_context())


# -- finishing from a trigger event ------------------------------------------------------------------
def test_closed_event_returns_the_payload_and_pushes_the_name() -> None:
    ti = FakeTI()
    payload = {"sessionId": "S1", "chatId": "C1", "sessionRatingRequired": True}
    event = {"status": "closed", "session_id": "S1", "event": "sessionClosed", "payload": payload}
    assert sensor().execute_complete(make_context(ti), event) == payload
    assert ti.xcoms == {EVENT_XCOM_KEY: "sessionClosed"}


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ({"status": "timeout", "message": "timed out"}, AirflowSensorTimeout),
        ({"status": "error", "error": "not_found", "message": "no such session"}, AirflowFailException),
        ({"status": "error", "error": "rest", "message": "refused"}, AirflowException),
        (None, AirflowException),
    ],
)
def test_other_events_raise(event: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        sensor().execute_complete(make_context(), event)


# -- against the emulator ---------------------------------------------------------------------------
@pytest.mark.integration
def test_deferrable_returns_at_once_when_already_closed(
    fast_realtime: TwinEmulator, twin_connection_env: str
) -> None:
    session_id = start_session(fast_realtime)
    fast_realtime.admin.close_session(session_id, rating_required=True)
    ti = FakeTI()
    result = sensor(session_id=session_id, deferrable=True).execute(make_context(ti))
    assert result["sessionRatingRequired"] is True
    assert ti.xcoms[EVENT_XCOM_KEY] == "sessionClosed"
    assert fast_realtime.admin.realtime()["stats"]["connections_opened"] == 0


@pytest.mark.integration
def test_deferrable_defers_with_an_absolute_deadline(
    fast_realtime: TwinEmulator, twin_connection_env: str
) -> None:
    session_id = start_session(fast_realtime)
    task = sensor(
        session_id=session_id,
        deferrable=True,
        timeout=600,
        events=["chatMessageCreated"],
        recheck_interval=90,
    )
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(make_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, TwinChatSessionEventTrigger)
    assert deferred.value.method_name == "execute_complete"
    kwargs = trigger.serialize()[1]
    assert kwargs["session_id"] == session_id
    assert before + 600 <= kwargs["deadline"] <= time.time() + 600
    assert kwargs["events"] == [{"event": "chatMessageCreated"}]
    assert kwargs["recheck_interval"] == 90.0


@pytest.mark.integration
def test_poke_checks_rest_then_listens(fast_realtime: TwinEmulator, twin_connection_env: str) -> None:
    session_id = start_session(fast_realtime)
    quick = sensor(session_id=session_id, listen_timeout=0)
    opened = fast_realtime.admin.realtime()["stats"]["connections_opened"]
    assert quick.poke(make_context()) is False
    # listen_timeout=0: the poke asked REST and did not open a websocket to listen
    assert fast_realtime.admin.realtime()["stats"]["connections_opened"] == opened

    def close_when_listening() -> None:
        deadline = time.monotonic() + 10
        while listened(fast_realtime) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        fast_realtime.admin.close_session(session_id, rating_required=True)

    threading.Thread(target=close_when_listening, daemon=True).start()
    ti = FakeTI()
    listening = sensor(session_id=session_id, poke_interval=10)
    result = listening.poke(make_context(ti))
    assert isinstance(result, PokeReturnValue)
    assert result.is_done
    assert result.xcom_value["sessionRatingRequired"] is True
    assert ti.xcoms[EVENT_XCOM_KEY] == "sessionClosed"


@pytest.mark.integration
def test_poke_of_an_unknown_session_fails(fast_realtime: TwinEmulator, twin_connection_env: str) -> None:
    with pytest.raises(AirflowFailException, match="does not exist"):
        sensor(session_id=UNKNOWN, listen_timeout=1).poke(make_context())
    with pytest.raises(AirflowFailException, match="does not exist"):
        sensor(session_id=UNKNOWN, deferrable=True).execute(make_context())
