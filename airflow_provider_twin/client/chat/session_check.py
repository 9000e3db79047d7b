"""Is a chat session closed? Asked over REST, judged once for every way of waiting.

Each wait asks REST (``GET /sessions/{id}``, twin-api.md §4.4) before it listens and after
every (re)connect, so a close published while nobody listened is still seen. The sensor's
check before deferring, a poke and the triggerer's waits all judge TWIN's answer here:
closed, still open, failed for good (no such session, refused) or failed for now.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_twin.client.chat.api import get_session
from airflow_provider_twin.client.chat.events import SESSION_CLOSED
from airflow_provider_twin.client.chat.models import SessionInfo
from airflow_provider_twin.client.chat.wait_result import (
    ERROR_NOT_FOUND,
    ERROR_REST,
    WaitResult,
    error_result,
    failed_result,
)
from airflow_provider_twin.client.core.errors import (
    TwinError,
    TwinInputError,
    TwinNotFoundError,
    error_summary,
    is_transient,
)
from airflow_provider_twin.client.core.flows import Procedure

log = logging.getLogger("airflow_provider_twin.client.chat")

#: Session ``status`` values that mean "closed" over REST. ASSUMPTION (twin-api.md §7.15): TWIN
#: does not document the enum; the emulator uses OPEN/CLOSED. Settable per wait (``closed_statuses``).
CLOSED_STATUSES: tuple[str, ...] = ("CLOSED",)


def closed_status_set(statuses: str | Iterable[str]) -> tuple[str, ...]:
    """``closed_statuses`` as a user gives them: one status or several, upper-cased and checked.

    A single string is one status (not its letters). JSON-serializable as a list.

    :raises TwinInputError: naming ``closed_statuses`` when it is empty or holds a non-string or a
        blank value.
    """
    values = [statuses] if isinstance(statuses, str) else list(statuses)
    bad = [value for value in values if not isinstance(value, str) or not value.strip()]
    if not values or bad:
        raise TwinInputError(
            f"closed_statuses must list at least one non-empty status (e.g. 'CLOSED'), got {statuses!r}"
        )
    return tuple(dict.fromkeys(value.strip().upper() for value in values))


def closed_result(
    session_id: str, info: Mapping[str, Any], closed_statuses: Iterable[str] = CLOSED_STATUSES
) -> WaitResult | None:
    """The "closed" result when the REST session object says the session is closed, else None.

    The payload mirrors the ``sessionClosed`` event (twin-api.md §5.6) so downstream tasks read
    the same keys whichever way the close was seen.
    """
    status = str(info.get("status") or "").upper()
    if status not in {value.upper() for value in closed_statuses}:
        return None
    rating = info.get("sessionRatingRequired")
    payload = {
        "sessionId": str(info.get("id") or session_id),
        "chatId": info.get("chatId"),
        "sessionRatingRequired": rating if isinstance(rating, bool) else None,
    }
    return WaitResult(
        status="closed",
        session_id=session_id,
        event=SESSION_CLOSED,
        payload=payload,
        source="rest",
        message=f"chat session {session_id} is {status} (checked over REST)",
    )


def check_failure(session_id: str, exc: TwinError) -> WaitResult | None:
    """The error result for a failed REST check, or None when trying again later may help.

    Rate limits, TWIN 5xx answers and network trouble (after the client's own retries) are
    transient; an unknown session and refused credentials or requests are not.
    """
    if isinstance(exc, TwinNotFoundError):
        return error_result(
            session_id, f"chat session {session_id} does not exist (HTTP 404)", ERROR_NOT_FOUND
        )
    if is_transient(exc):
        return None
    return failed_result(session_id, "checking", exc, ERROR_REST)


@dataclass(frozen=True)
class SessionCheck:
    """What one REST check said.

    :param result: the wait's result when the check ends it (closed, or failed for good);
        None while the session is open or the check failed for now.
    :param trouble: why the check failed for now (a later check may work), else None.
    """

    result: WaitResult | None = None
    trouble: str | None = None


def judge_session(
    session_id: str, answer: SessionInfo | TwinError, closed_statuses: Iterable[str] = CLOSED_STATUSES
) -> SessionCheck:
    """Judge TWIN's answer to ``GET /sessions/{id}``: the session object, or the error it raised."""
    if not isinstance(answer, TwinError):
        return SessionCheck(closed_result(session_id, answer, closed_statuses))
    failure = check_failure(session_id, answer)
    if failure is not None:
        return SessionCheck(failure)
    log.warning("checking chat session %s failed, trying again: %s", session_id, error_summary(answer))
    return SessionCheck(trouble=error_summary(answer))


def check_session(
    session_id: str, closed_statuses: Iterable[str] = CLOSED_STATUSES
) -> Procedure[SessionCheck]:
    """Ask REST whether the session is closed (run with ``client.run`` or ``await client.run``)."""
    answer: SessionInfo | TwinError
    try:
        answer = yield get_session(session_id)
    except TwinError as exc:
        answer = exc
    return judge_session(session_id, answer, closed_statuses)


__all__ = [
    "CLOSED_STATUSES",
    "SessionCheck",
    "check_failure",
    "check_session",
    "closed_result",
    "closed_status_set",
    "judge_session",
]
