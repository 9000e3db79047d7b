"""Airflow Variables read and written by a trigger, telling "not found" from "could not ask".

An event watcher's cursor lives in Variables (see :mod:`.event_cursor`). The Task SDK's
``Variable.get(key, default=None)`` answers ``None`` for a missing Variable *and* for any error on
the way (its execution-API secrets backend swallows them), and on Airflow 3.2 ``Variable.set``
logs a failed write instead of raising; before each write it also asks every other secrets
backend (Vault...) for the key. A cursor cannot live with that: a failed read taken for "no
cursor" reports the whole window again, a failed write taken for stored loses the retry. So this
store talks to the triggerer's supervisor directly, with the Task SDK's own messages
(``GetVariable``, ``PutVariable``, ``DeleteVariable`` over ``SUPERVISOR_COMMS.asend``, from the
trigger's event loop, on Airflow 3.2 and 3.3 alike): only a ``VARIABLE_NOT_FOUND`` answer means
"none"; every other error raises, and the caller retries. The cursor's Variables are those of
Airflow's metadata database; secrets backends are not consulted.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

#: The description written with every cursor Variable.
DESCRIPTION = "Cursor of a TWIN event watcher: ids of the events already reported (JSON)."


class CursorStoreError(RuntimeError):
    """The supervisor did not do what was asked (the caller retries)."""


def _comms() -> Any:
    from airflow.sdk.execution_time import task_runner  # noqa: PLC0415 - the triggerer's Task SDK

    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    if comms is None:
        raise CursorStoreError("no link to Airflow's supervisor: a watcher keeps its cursor in a triggerer")
    return comms


async def _exchange(msg: Any) -> Any:
    """Send ``msg`` to the supervisor and return its reply, finishing the exchange even if cancelled.

    On Airflow 3.2 the triggerer's comms send a request and then wait for its reply under one
    lock; a request abandoned half-way (the watcher cancelled while it waits) leaves its reply
    unread, and the next request of any trigger, or of the triggerer itself, fails with "Response
    read out of order!", which stops the triggerer. So the exchange runs in its own task, shielded
    from the caller's cancellation: the caller stops waiting, the reply is still read.
    """
    task = asyncio.ensure_future(_comms().asend(msg))
    task.add_done_callback(_drop_result)
    return await asyncio.shield(task)


def _drop_result(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned exchange's error, so that asyncio does not report it as unhandled."""
    if not task.cancelled():
        task.exception()


def _error_of(exc: Exception) -> Any:
    """The ``ErrorResponse`` an ``AirflowRuntimeError`` carries (None for any other exception)."""
    from airflow.sdk.exceptions import AirflowRuntimeError  # noqa: PLC0415

    return exc.error if isinstance(exc, AirflowRuntimeError) else None


def _not_found(error: Any) -> bool:
    from airflow.sdk.exceptions import ErrorType  # noqa: PLC0415

    if error is None:
        return False
    detail = error.detail if isinstance(error.detail, dict) else {}
    return bool(error.error == ErrorType.VARIABLE_NOT_FOUND or detail.get("status_code") == 404)


class CursorStore(Protocol):
    """Where a cursor's Variables survive a restart (:class:`.cursor_variables.VariableCursorStore`)."""

    name: str

    async def get(self, key: str) -> str | None:
        """The text of ``key``; None only when it does not exist (any failure raises)."""

    async def put(self, key: str, text: str) -> None:
        """Write ``key``; raise unless it was stored."""

    async def delete(self, key: str) -> None:
        """Delete ``key`` (a missing one counts as deleted)."""


class VariableCursorStore:
    """Variables ``<name>`` and ``<name>.*`` in Airflow's metadata database, from a trigger.

    :param name: the cursor's Variable (``twin_events.<cursor_name or digest>``).
    """

    def __init__(self, name: str) -> None:
        self.name = name

    async def get(self, key: str) -> str | None:
        """The Variable's text; None only when Airflow says it does not exist.

        :raises Exception: any other answer or failure (the caller retries).
        """
        from airflow.sdk.execution_time.comms import ErrorResponse, GetVariable, VariableResult  # noqa: PLC0415

        try:
            reply = await _exchange(GetVariable(key=key))
        except Exception as exc:
            if _not_found(_error_of(exc)):
                return None
            raise
        if isinstance(reply, VariableResult):
            return reply.value or ""
        if isinstance(reply, ErrorResponse) and _not_found(reply):
            return None
        raise CursorStoreError(f"reading Variable {key}: {reply!r}")

    async def put(self, key: str, text: str) -> None:
        """Write the Variable; returns once Airflow confirmed it.

        :raises Exception: an error answer or failure (the caller keeps the ids pending).
        """
        from airflow.sdk.execution_time.comms import ErrorResponse, PutVariable  # noqa: PLC0415

        reply = await _exchange(PutVariable(key=key, value=text, description=DESCRIPTION))
        if isinstance(reply, ErrorResponse):
            raise CursorStoreError(f"writing Variable {key}: {reply!r}")

    async def delete(self, key: str) -> None:
        """Delete the Variable (one already gone counts as deleted).

        :raises Exception: an error answer or failure.
        """
        from airflow.sdk.execution_time.comms import DeleteVariable, ErrorResponse  # noqa: PLC0415

        try:
            reply = await _exchange(DeleteVariable(key=key))
        except Exception as exc:
            if _not_found(_error_of(exc)):
                return
            raise
        if isinstance(reply, ErrorResponse) and not _not_found(reply):
            raise CursorStoreError(f"deleting Variable {key}: {reply!r}")


__all__ = ["DESCRIPTION", "CursorStore", "CursorStoreError", "VariableCursorStore"]
