"""Waiting for one chat session's close, as one state machine both realtime clients drive.

A wait never misses a close: it asks REST whether the session is closed once the session is
joined on a connection, again after every reconnect or refused join (a close published while
nobody listened is only visible there), every ``recheck_interval`` seconds while joined (a
safety net) and every ``fallback_interval`` seconds while not joined (websocket down, join
refused). Everything else comes over the websocket. :class:`SessionWait` holds these rules;
the asyncio hub and the blocking socket only feed it what they receive (events and the
connection signals below) and the REST answers, and do what it asks. It performs no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict

from airflow_provider_twin.client.chat.events import ChatEvent, EventFilter
from airflow_provider_twin.client.chat.session_check import CLOSED_STATUSES, SessionCheck
from airflow_provider_twin.client.chat.wait_result import (
    ERROR_REALTIME,
    WaitResult,
    error_result,
    timeout_result,
)

#: Default seconds between safety-net REST checks while the session is joined.
DEFAULT_RECHECK_INTERVAL = 600.0
#: Default seconds between REST checks while the session is not joined (websocket down).
DEFAULT_FALLBACK_INTERVAL = 30.0
#: Seconds before retrying a REST check that failed with a transient error.
TRANSIENT_RETRY = 5.0


# -- what a transport reports -----------------------------------------------------------------------
@dataclass(frozen=True)
class Joined:
    """The session is joined on connection number ``generation``: check REST, then listen."""

    generation: int


@dataclass(frozen=True)
class _Reasoned:
    reason: str


class JoinFailed(_Reasoned):
    """TWIN refused (or did not answer) ``joinSession``; events may still come via connect."""


class ConnectionLost(_Reasoned):
    """The websocket dropped; the transport reconnects, and a :class:`Joined` follows."""


class HubStopped(_Reasoned):
    """The connection will deliver nothing more (closed, or a terminal disconnect)."""


Signal = Joined | JoinFailed | ConnectionLost | HubStopped
WatchItem = ChatEvent | Signal


class WaitRules(TypedDict, total=False):
    """The rules of a wait a caller may set (see :class:`SessionWait`)."""

    events: EventFilter | None
    closed_statuses: Iterable[str]
    recheck_interval: float
    fallback_interval: float


class SessionWait:
    """The rules of one wait for ``session_id``'s close (or another awaited event).

    A transport feeds :meth:`receive` with each event or signal (None when it woke at
    :attr:`wake_at` with nothing new) and, when asked to, makes a REST check and feeds its
    outcome to :meth:`checked`. Either returns the :class:`WaitResult` that ends the wait.

    :param deadline: absolute UTC epoch seconds.
    :param now: the current time (the transport's clock), to schedule the first check.
    :param events: further events that end the wait; ``sessionClosed`` always does.
    :param closed_statuses: REST session statuses that mean closed.
    :param recheck_interval: seconds between safety-net REST checks while joined.
    :param fallback_interval: seconds between REST checks while not joined.
    """

    def __init__(
        self,
        session_id: str,
        *,
        deadline: float,
        now: float,
        events: EventFilter | None = None,
        closed_statuses: Iterable[str] = CLOSED_STATUSES,
        recheck_interval: float = DEFAULT_RECHECK_INTERVAL,
        fallback_interval: float = DEFAULT_FALLBACK_INTERVAL,
    ) -> None:
        self.session_id = session_id
        self.deadline = deadline
        self.events = events or EventFilter()
        self.closed_statuses = tuple(closed_statuses)
        self.recheck_interval = recheck_interval
        self.fallback_interval = fallback_interval
        self.joined = False
        self.next_check = now + fallback_interval
        self._key = session_id.lower()

    @property
    def wake_at(self) -> float:
        """When to come back without news: the next timed REST check, or the deadline."""
        return min(self.deadline, self.next_check)

    def receive(self, item: WatchItem | None, now: float) -> WaitResult | bool:
        """Take what the connection delivered (None: woke at :attr:`wake_at`).

        :returns: the result when the wait is over, else whether to ask REST now.
        """
        if isinstance(item, ChatEvent):
            if item.session_id and item.session_id.lower() != self._key:
                return False  # another session's event on a socket that listens to several
            return WaitResult.from_event(item, self.session_id) if self.events.finishes(item) else False
        if isinstance(item, HubStopped):
            return self.stopped(item.reason)
        if isinstance(item, ConnectionLost):
            self.joined = False
            self.next_check = min(self.next_check, now + self.fallback_interval)
            return False
        if item is None:
            return self.timed_out() if now >= self.deadline else now >= self.next_check
        self.joined = isinstance(item, Joined)
        return True

    def checked(self, check: SessionCheck, now: float) -> WaitResult | None:
        """Take a REST check's outcome: the result when it ends the wait, else None (listen on)."""
        if check.result is not None:
            return check.result
        interval = self.recheck_interval if self.joined else self.fallback_interval
        if check.trouble is not None:
            interval = min(interval, TRANSIENT_RETRY)
        self.next_check = now + interval
        return None

    def stopped(self, reason: str) -> WaitResult:
        """The result when the connection ended for good."""
        return error_result(self.session_id, reason, ERROR_REALTIME)

    def timed_out(self) -> WaitResult:
        """The result when the deadline passed."""
        return timeout_result(self.session_id, self.deadline, self.events.names)


__all__ = [
    "DEFAULT_FALLBACK_INTERVAL",
    "DEFAULT_RECHECK_INTERVAL",
    "TRANSIENT_RETRY",
    "ConnectionLost",
    "HubStopped",
    "JoinFailed",
    "Joined",
    "SessionWait",
    "Signal",
    "WaitRules",
    "WatchItem",
]
