"""The cursor's Variables through the triggerer's supervisor: "not found" is not "could not ask".

The supervisor here answers the Task SDK's own messages as Airflow's triggerer supervisor does
(3.2 and 3.3): a missing Variable is an ``ErrorResponse(VARIABLE_NOT_FOUND)`` reply; an API
server failure comes back as an error frame, which the SDK's decoder raises as
``AirflowRuntimeError(ErrorResponse(API_SERVER_ERROR, {"status_code": ...}))``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
from airflow.sdk.execution_time import comms, task_runner
from airflow.sdk.execution_time.comms import (
    DeleteVariable,
    ErrorResponse,
    GetVariable,
    OKResponse,
    PutVariable,
    VariableResult,
)

from airflow_provider_twin.client import TwinEvent
from airflow_provider_twin.triggers import TwinMessageEventTrigger, cursor_variables
from airflow_provider_twin.triggers.cursor_variables import (
    CursorStoreError,
    NoSupervisorError,
    VariableCursorStore,
)
from airflow_provider_twin.triggers.event_cursor import EventCursor

NAME = "twin_events.test"


def api_error(status: int) -> AirflowRuntimeError:
    detail = {"status_code": status, "message": "Server error", "detail": None}
    return AirflowRuntimeError(ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail=detail))


class Supervisor:
    """The Variable table behind a triggerer's supervisor; ``down`` makes the next calls fail."""

    def __init__(self) -> None:
        self.table: dict[str, str] = {}
        self.down = 0
        self.calls: list[str] = []

    async def asend(self, msg: Any) -> Any:
        self.calls.append(type(msg).__name__)
        if self.down:
            self.down -= 1
            raise api_error(500)
        if isinstance(msg, GetVariable):
            if msg.key not in self.table:
                return ErrorResponse(error=ErrorType.VARIABLE_NOT_FOUND, detail={"key": msg.key})
            return VariableResult(key=msg.key, value=self.table[msg.key])
        if isinstance(msg, PutVariable):
            self.table[msg.key] = str(msg.value)
            return OKResponse(ok=True)
        if type(msg).__name__ == "GetVariableKeys":  # Airflow 3.3 on
            from airflow.sdk.execution_time.comms import VariableKeysResult

            keys = sorted(k for k in self.table if k.startswith(msg.prefix))
            page = keys[msg.offset : msg.offset + msg.limit]
            return VariableKeysResult(keys=page, total_entries=len(keys))
        if isinstance(msg, DeleteVariable):
            if self.table.pop(msg.key, None) is None:
                raise api_error(404)
            return OKResponse(ok=True)
        raise AssertionError(msg)


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> Supervisor:
    comms = Supervisor()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", comms, raising=False)
    return comms


def test_a_missing_variable_is_none_and_a_failure_raises(supervisor: Supervisor) -> None:
    store = VariableCursorStore(NAME)
    assert asyncio.run(store.get(NAME)) is None
    supervisor.down = 1
    with pytest.raises(AirflowRuntimeError, match="API_SERVER_ERROR"):
        asyncio.run(store.get(NAME))
    asyncio.run(store.put(NAME, '{"version":2}'))
    assert asyncio.run(store.get(NAME)) == '{"version":2}'
    asyncio.run(store.delete(NAME))
    asyncio.run(store.delete(NAME))  # already gone: deleted
    assert supervisor.calls.count("PutVariable") == 1  # one message a write, nothing logged and lost


def test_a_failed_write_raises(supervisor: Supervisor) -> None:
    supervisor.down = 1
    with pytest.raises(AirflowRuntimeError):
        asyncio.run(VariableCursorStore(NAME).put(NAME, "{}"))
    assert supervisor.table == {}


def test_an_error_reply_is_not_taken_for_a_value(
    supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def denied(msg: Any) -> Any:
        return ErrorResponse(error=ErrorType.GENERIC_ERROR, detail={"message": "boom"})

    monkeypatch.setattr(supervisor, "asend", denied)
    store = VariableCursorStore(NAME)
    with pytest.raises(CursorStoreError):
        asyncio.run(store.get(NAME))
    with pytest.raises(CursorStoreError):
        asyncio.run(store.put(NAME, "{}"))


def test_without_a_supervisor_the_store_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", None, raising=False)
    with pytest.raises(CursorStoreError, match="triggerer"):
        asyncio.run(VariableCursorStore(NAME).get(NAME))


def test_a_cursor_whose_read_fails_is_not_opened_empty_and_its_writes_are_retried(
    supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cursor_variables, "CONFIRM_MISSING_SECONDS", 0.0)  # Airflow 3.2: no second look
    event = TwinEvent(
        "message:m1:UNDELIVERED", "message.status", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    )
    first = EventCursor(VariableCursorStore(NAME), 3600.0, 0.0)
    asyncio.run(first.open())
    first.emitted(event)
    supervisor.down = 1
    assert asyncio.run(first.commit()) == 0  # the write failed: still pending
    first._last_write -= 1.0  # a second later
    assert asyncio.run(first.commit()) == 1
    supervisor.down = 1
    with pytest.raises(AirflowRuntimeError):
        asyncio.run(EventCursor(VariableCursorStore(NAME), 3600.0).open())
    again = EventCursor(VariableCursorStore(NAME), 3600.0)
    assert asyncio.run(again.open()) == 1
    assert again.new([event]) == []


def test_a_cancelled_request_still_reads_its_reply(supervisor: Supervisor) -> None:
    """Cancelled mid-request, the exchange runs to its end: Airflow 3.2's comms read replies in order."""
    supervisor.table[NAME] = "{}"
    replied: list[Any] = []
    release = asyncio.Event()
    answer = supervisor.asend

    async def slow(msg: Any) -> Any:
        await release.wait()
        reply = await answer(msg)
        replied.append(reply)
        return reply

    async def scenario() -> None:
        supervisor.asend = slow  # type: ignore[method-assign]
        reading = asyncio.ensure_future(VariableCursorStore(NAME).get(NAME))
        await asyncio.sleep(0.01)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert replied == []
        release.set()
        for _ in range(10):
            await asyncio.sleep(0)
        assert [type(r) for r in replied] == [VariableResult]  # the reply was read all the same

    asyncio.run(scenario())


def test_the_cursor_keys_are_listed_where_airflow_can(supervisor: Supervisor) -> None:
    supervisor.table.update({NAME: "{}", f"{NAME}.10": "{}", f"{NAME}x": "{}", "other": "{}"})
    keys = asyncio.run(VariableCursorStore(NAME).keys())
    if hasattr(comms, "GetVariableKeys"):  # Airflow 3.3: the database's listing
        assert keys == [NAME, f"{NAME}.10"]
    else:  # Airflow 3.2 cannot list: a miss is confirmed by asking again later
        assert keys is None


class InProcessComms:
    """What ``dag.test()`` installs: a synchronous ``send`` only, no triggerer's ``asend``."""

    def send(self, msg: Any) -> Any:
        raise AssertionError(msg)


@pytest.mark.parametrize("comms_object", [None, InProcessComms()])
def test_outside_a_triggerer_a_watcher_stops_at_once_saying_why(
    comms_object: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", comms_object, raising=False)
    trigger = TwinMessageEventTrigger(statuses=["UNDELIVERED"], created_within_seconds=60)

    async def first_event() -> Any:
        return await asyncio.wait_for(anext(aiter(trigger.run())), 5)

    with pytest.raises(NoSupervisorError, match="runs in Airflow's triggerer"):
        asyncio.run(first_event())
