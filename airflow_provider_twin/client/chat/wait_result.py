"""How a wait for a chat session ended, as one plain-JSON value for every way of waiting.

A poke, a deferred trigger and a plain script all end a wait with a :class:`WaitResult`: the
session closed, another awaited event arrived, the deadline passed, or something failed. Its
JSON form is the trigger's event and what the sensor turns into its result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from airflow_provider_twin.client.chat.events import SESSION_CLOSED, ChatEvent
from airflow_provider_twin.client.core.errors import error_summary

WaitStatus = Literal["closed", "event", "timeout", "error"]

#: Kinds of :attr:`WaitResult.error`.
ERROR_NOT_FOUND = "not_found"
ERROR_REST = "rest"
ERROR_REALTIME = "realtime"
ERROR_INTERNAL = "internal"


@dataclass(frozen=True)
class WaitResult:
    """How a wait for a session's events ended.

    :param status: ``closed`` (the session closed), ``event`` (another awaited event arrived),
        ``timeout`` (the deadline passed) or ``error``.
    :param event: the event name (``sessionClosed`` for a close seen over REST too).
    :param payload: the event's payload; for a close seen over REST it is built from the session
        object: ``sessionId``, ``chatId`` and ``sessionRatingRequired`` (None when TWIN's session
        object does not carry it).
    :param source: ``websocket`` or ``rest``: how the outcome was learnt.
    :param message: a sentence for the task log.
    :param error: for ``error`` results, what failed: ``not_found`` (no such session, retrying
        cannot help), ``rest`` (the REST check was refused), ``realtime`` (TWIN closed the
        websocket for good) or ``internal``.
    """

    status: WaitStatus
    session_id: str
    event: str | None = None
    payload: dict[str, Any] | None = None
    source: str = ""
    message: str = ""
    error: str | None = None

    def to_event(self) -> dict[str, Any]:
        """The plain-JSON trigger event payload: every field, by name."""
        return asdict(self)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> WaitResult:
        """Inverse of :meth:`to_event` (unknown statuses read as ``error``)."""
        status = value.get("status")
        payload = value.get("payload")
        return cls(
            status=status if status in ("closed", "event", "timeout", "error") else "error",
            session_id=str(value.get("session_id") or ""),
            event=value.get("event") if isinstance(value.get("event"), str) else None,
            payload=dict(payload) if isinstance(payload, Mapping) else None,
            source=str(value.get("source") or ""),
            message=str(value.get("message") or ""),
            error=str(value["error"]) if value.get("error") else None,
        )

    @classmethod
    def from_event(cls, event: ChatEvent, session_id: str) -> WaitResult:
        """The result for an awaited websocket event."""
        status: WaitStatus = "closed" if event.name == SESSION_CLOSED else "event"
        return cls(
            status=status,
            session_id=session_id,
            event=event.name,
            payload=dict(event.payload),
            source="websocket",
            message=f"chat session {session_id}: {event.name} received",
        )


def timeout_result(session_id: str, deadline: float, names: Sequence[str]) -> WaitResult:
    """The result for a wait whose deadline (UTC epoch seconds) passed (``names``: the awaited events)."""
    when = datetime.fromtimestamp(deadline, timezone.utc).isoformat(timespec="seconds")
    return WaitResult(
        status="timeout",
        session_id=session_id,
        message=f"timed out at {when} waiting for {' or '.join(names)} of chat session {session_id}",
    )


def error_result(session_id: str, message: str, error: str = ERROR_INTERNAL) -> WaitResult:
    """The result for a wait that failed; ``error`` says what failed (``ERROR_*``)."""
    return WaitResult(status="error", session_id=session_id, message=message, error=error)


def failed_result(
    session_id: str, doing: str, problem: BaseException | str, error: str = ERROR_INTERNAL
) -> WaitResult:
    """The result for a wait that failed with ``problem`` while ``doing`` (e.g. "checking") the session."""
    why = problem if isinstance(problem, str) else error_summary(problem)
    return error_result(session_id, f"{doing} chat session {session_id} failed: {why}", error)


__all__ = [
    "ERROR_INTERNAL",
    "ERROR_NOT_FOUND",
    "ERROR_REALTIME",
    "ERROR_REST",
    "WaitResult",
    "WaitStatus",
    "error_result",
    "failed_result",
    "timeout_result",
]
