"""Airflow Variables read and written by a trigger, telling "not found" from "could not ask".

An event watcher's cursor lives in Variables (see :mod:`.event_cursor`). The Task SDK's
``Variable.get(key, default=None)`` answers ``None`` for a missing Variable *and* for any error on
the way (its execution-API secrets backend swallows them), and on Airflow 3.2 ``Variable.set``
logs a failed write instead of raising. A cursor cannot live with that: a failed read taken for
"no cursor" reports the whole window again, a failed write taken for stored loses the retry. So
this store talks to the triggerer's supervisor directly, with the Task SDK's own messages
(``GetVariable``, ``PutVariable``, ``DeleteVariable``, and ``GetVariableKeys`` where Airflow has
it, over ``SUPERVISOR_COMMS.asend``, from the trigger's event loop, on Airflow 3.2 and 3.3
alike; each request runs to its reply even when the watcher is cancelled, see
:mod:`.supervisor_requests`): an error answer raises, and the caller retries.

The supervisor hands these to the execution API, whose routes call Airflow's own
``Variable.get``, ``Variable.set`` and ``Variable.delete``: a read consults the secrets backends
(environment variables, a custom backend such as Vault) before the metadata database, and may be
served from Airflow's Variable cache; a write checks the other backends for the key first
(``check_for_write_conflict``) and is stored in the metadata database. And that ``Variable.get``
also turns some backend or database errors into "not found", so a ``VARIABLE_NOT_FOUND`` answer
is confirmed before it is believed (:class:`MissingVariables`). Define no cursor Variable in a
secrets backend: the watcher would read it there and write to the database.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

from airflow_provider_twin.triggers.supervisor_requests import (
    NoSupervisorLinkError,
    error_response_of,
    supervisor_request,
)

#: The description written with every cursor Variable.
DESCRIPTION = "Cursor of a TWIN event watcher: ids of the events already reported (JSON)."
#: Fewest seconds between two "not found" answers that make a Variable count as missing where
#: the store cannot list its keys (Airflow 3.2): a read that failed may answer "not found".
CONFIRM_MISSING_SECONDS = 3.0


class CursorStoreError(RuntimeError):
    """The supervisor did not do what was asked (the caller retries)."""


class UnconfirmedMissingError(CursorStoreError):
    """A Variable read as missing once: asked again :data:`CONFIRM_MISSING_SECONDS` later."""


class NoSupervisorError(CursorStoreError, NoSupervisorLinkError):
    """No link to a triggerer's supervisor: a permanent error (the watcher is not in a triggerer)."""


async def _exchange(msg: Any) -> Any:
    """Send ``msg`` to the supervisor, run to its reply even if cancelled (:mod:`.supervisor_requests`)."""
    try:
        return await supervisor_request(msg)
    except NoSupervisorLinkError:
        raise NoSupervisorError(
            "no link to a triggerer's supervisor for the cursor's Variables: a TWIN event watcher "
            "runs in Airflow's triggerer (an AssetWatcher's trigger), not in dag.test() or a script"
        ) from None


def _error_of(exc: Exception) -> Any:
    """The ``ErrorResponse`` an ``AirflowRuntimeError`` carries (None for any other exception)."""
    return error_response_of(exc)


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

    async def keys(self) -> list[str] | None:
        """The keys ``name`` and ``name.*`` stored now; None when the store cannot list them."""


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

    async def keys(self) -> list[str] | None:
        """The Variables of this cursor (``name`` and ``name.*``) that exist, from the database.

        Asked with the Task SDK's ``GetVariableKeys`` (a query of the metadata database that
        raises on a failure, unlike a read), which a triggerer answers from Airflow 3.3 on; None
        on an Airflow without it.

        :raises Exception: an error answer or failure.
        """
        if not _can_list_keys():
            return None
        from airflow.sdk.execution_time.comms import GetVariableKeys, VariableKeysResult  # noqa: PLC0415

        found: list[str] = []
        while True:
            reply = await _exchange(GetVariableKeys(prefix=self.name, limit=1000, offset=len(found)))
            if not isinstance(reply, VariableKeysResult):
                raise CursorStoreError(f"listing Variables {self.name}*: {reply!r}")
            found.extend(reply.keys)
            if not reply.keys or len(found) >= reply.total_entries:
                break
        return [key for key in found if key == self.name or key.startswith(self.name + ".")]


def _can_list_keys() -> bool:
    """Whether the triggerer answers ``GetVariableKeys`` (Airflow 3.3 on)."""
    try:
        from airflow.sdk.execution_time.comms import GetVariableKeys  # noqa: F401, PLC0415
    except ImportError:
        return False
    runner = sys.modules.get("airflow.jobs.triggerer_job_runner")  # the triggerer's own comms
    return runner is None or hasattr(runner, "GetVariableKeys")


class MissingVariables:
    """Confirms a "not found" answer before it is believed (a failed read may answer it too).

    :param store: the cursor's store; its key listing confirms at once where Airflow has one.
    :param clock: monotonic seconds.
    """

    def __init__(self, store: CursorStore, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self._clock = clock
        self._since: dict[str, float] = {}  # keys read as missing, not confirmed yet

    async def confirm(self, key: str) -> list[str] | None:
        """``key`` read as missing: return once that is confirmed, else raise (the caller retries).

        Confirmed by the cursor's key listing (returned), or where the store cannot list, by a
        second "not found" at least :data:`CONFIRM_MISSING_SECONDS` after the first.

        :raises CursorStoreError: the key exists, or the miss is not confirmed yet.
        """
        keys = await self.store.keys()
        if keys is not None:
            if key in keys:
                raise CursorStoreError(f"{key} exists but was read as missing")
            return keys
        first = self._since.setdefault(key, self._clock())
        if self._clock() - first < CONFIRM_MISSING_SECONDS:
            raise UnconfirmedMissingError(f"{key} was read as missing; asking again to be sure")
        del self._since[key]
        return None

    def found(self, key: str) -> None:
        """``key`` was read: an earlier miss was not one."""
        self._since.pop(key, None)


__all__ = [
    "CONFIRM_MISSING_SECONDS",
    "DESCRIPTION",
    "CursorStore",
    "CursorStoreError",
    "MissingVariables",
    "NoSupervisorError",
    "UnconfirmedMissingError",
    "VariableCursorStore",
]
