"""``TwinChatSessionEventTrigger``: waits in the triggerer for a chat session to close.

The deferrable mode of :class:`~airflow_provider_twin.sensors.chat.TwinChatSessionClosedSensor`.
The trigger holds a TWIN websocket in the triggerer and fires when the session's
``sessionClosed`` (or another awaited event) arrives, so a wait costs no worker slot and reacts
within milliseconds.

**One socket per TWIN connection.** All triggers of a triggerer process that use the same
``twin_conn_id`` share one REST client and one login (:mod:`.connections`, with the status
triggers), and all chat triggers among them one websocket, attached to that connection when the
first chat trigger needs it: a thousand waiting sensors open one socket and log in once. TWIN's
connect requires the list of sessions, so the socket connects with its first session and
disconnects when its last wait leaves; sessions that arrive later are joined on the open
connection with the ``joinSession`` rpc (see the realtime hub for the ASSUMPTIONS behind this).
A wait for events that do not name their session (typing, operator changes, read receipts)
gets a websocket of its own, since such events can only be attributed on a one-session socket.

**No close is missed.** After the session is joined, and again after every reconnect, the trigger
asks REST whether the session is already closed; while the websocket is down it asks REST every
``fallback_interval`` seconds, and every ``recheck_interval`` seconds otherwise. The REST checks of
all waits on a websocket go through one coalescing checker, which turns the burst after a
reconnect into a few list calls.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_twin.client import epoch_seconds
from airflow_provider_twin.client.chat import (
    CLOSED_STATUSES,
    DEFAULT_FALLBACK_INTERVAL,
    DEFAULT_RECHECK_INTERVAL,
    INSTALL_HINT,
    EventFilter,
    SessionChecker,
    WaitResult,
    check_session,
    closed_status_set,
    error_result,
    failed_result,
    load_realtime,
    timeout_result,
    wait_for_session_event,
)
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.triggers.connections import TwinConnection, connection_in_use, shared_connection


@dataclass
class ChatSocket:
    """A websocket of a TWIN connection and the coalesced REST checks of the waits on it."""

    hub: Any  # a ChatEventHub: its module needs the optional realtime extra
    checker: SessionChecker

    @classmethod
    async def open(cls, connection: TwinConnection, user_id: str | None = None) -> ChatSocket:
        """A websocket at the connection's ``centrifugo_url`` (it connects with its first wait).

        :param user_id: the widget ``userId`` sent on connect; None = the connection's ``user_id``
            extra, if any.
        """
        url = connection.client.engine.config.endpoints.centrifugo_url
        if user_id is None:
            user_id = await connection.hook.get_chat_user_id()
        hub = load_realtime("async_hub").ChatEventHub(url, user_id=user_id)
        try:
            await hub.start()
        except BaseException:
            await hub.aclose()
            raise
        return cls(hub, SessionChecker(connection.client))

    async def aclose(self) -> None:
        """Disconnect the websocket (the connection's client stays with the connection)."""
        await self.hub.aclose()


def shared_chat_socket(twin_conn_id: str, socket_key: str | None = None) -> ChatSocket | None:
    """The running loop's chat websocket of ``twin_conn_id`` while some wait uses it, else None."""
    connection = connection_in_use(twin_conn_id)
    if connection is None:
        return None
    socket: ChatSocket | None = connection.attached(socket_key or twin_conn_id)
    return socket


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]


class TwinChatSessionEventTrigger(BaseTrigger):
    """Wait for a chat session's ``sessionClosed`` (or other awaited events); fire one event.

    Keyword arguments are plain JSON, never a credential: the connection is read in the
    triggerer. Event payload::

        {"status": "closed" | "event" | "timeout" | "error",
         "session_id": "…", "event": "sessionClosed" | … | None,
         "payload": {"sessionId": "…", "chatId": "…", "sessionRatingRequired": true} | None,
         "source": "websocket" | "rest" | "", "message": "…"}

    :param session_id: the chat session to watch.
    :param deadline: when to give up, absolute: UTC epoch seconds or an ISO-8601 string.
    :param events: further events that end the wait (:class:`EventFilter` JSON: names or
        ``{"event": …, "match": {…}}``); ``sessionClosed`` always does.
    :param twin_conn_id: the ``twin`` connection.
    :param closed_statuses: REST session statuses that mean closed.
    :param recheck_interval: seconds between safety-net REST checks while joined.
    :param fallback_interval: seconds between REST checks while the websocket is down.
    :param user_id: the widget ``userId`` sent on connect, instead of the connection's ``user_id``
        extra (waits with their own ``user_id`` share a websocket of their own).
    """

    def __init__(
        self,
        *,
        session_id: str,
        deadline: float | str | datetime,
        events: Sequence[Any] | None = None,
        twin_conn_id: str = TwinHook.default_conn_name,
        closed_statuses: str | Iterable[str] = CLOSED_STATUSES,
        recheck_interval: float = DEFAULT_RECHECK_INTERVAL,
        fallback_interval: float = DEFAULT_FALLBACK_INTERVAL,
        user_id: str | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.session_id = str(session_id)
        self.deadline = epoch_seconds(deadline)
        self.events = EventFilter.from_json(events).to_json()
        self.twin_conn_id = twin_conn_id
        self.closed_statuses = list(closed_status_set(closed_statuses))
        self.recheck_interval = float(recheck_interval)
        self.fallback_interval = float(fallback_interval)
        self.user_id = str(user_id) if user_id else None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and JSON keyword arguments that re-create this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "session_id": self.session_id,
                "deadline": self.deadline,
                "events": self.events,
                "twin_conn_id": self.twin_conn_id,
                "closed_statuses": self.closed_statuses,
                "recheck_interval": self.recheck_interval,
                "fallback_interval": self.fallback_interval,
                "user_id": self.user_id,
            },
        )

    @property
    def socket_key(self) -> str:
        """Which websocket of the connection: its shared one, or one for this session alone.

        A ``user_id`` of the wait's own is sent on connect, so such waits share a websocket of
        their own (per user id).
        """
        key = self.twin_conn_id if self.user_id is None else f"{self.twin_conn_id}#user={self.user_id}"
        if EventFilter.from_json(self.events).needs_own_connection:
            return f"{key}#session={self.session_id.lower()}"
        return key

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Fire exactly one event: closed, event, timeout or error."""
        result = await self._wait()
        log = self.log.info if result.status in ("closed", "event") else self.log.warning
        log("%s", result.message)
        yield _event(result.to_event())

    async def _wait(self) -> WaitResult:
        try:
            load_realtime("async_hub")
        except ImportError:
            return error_result(self.session_id, INSTALL_HINT)
        if time.time() >= self.deadline:
            return await self._check_late()
        try:
            async with (
                shared_connection(self.twin_conn_id) as connection,
                connection.attach(
                    self.socket_key, lambda: ChatSocket.open(connection, self.user_id), ChatSocket.aclose
                ) as socket,
            ):
                return await wait_for_session_event(
                    socket.checker,
                    socket.hub,
                    self.session_id,
                    deadline=self.deadline,
                    events=EventFilter.from_json(self.events),
                    closed_statuses=self.closed_statuses,
                    recheck_interval=self.recheck_interval,
                    fallback_interval=self.fallback_interval,
                )
        except Exception as exc:  # noqa: BLE001 - turned into an error event
            return failed_result(self.session_id, "waiting for", exc)

    async def _check_late(self) -> WaitResult:
        """The deadline passed before the trigger ran (e.g. after a triggerer outage): check once."""
        try:
            async with shared_connection(self.twin_conn_id) as connection:
                check = await connection.client.run(check_session(self.session_id, self.closed_statuses))
        except Exception as exc:  # noqa: BLE001 - turned into an error event
            return failed_result(self.session_id, "checking", exc)
        if check.result is not None:
            return check.result
        if check.trouble is not None:
            return failed_result(self.session_id, "checking", check.trouble)
        return timeout_result(self.session_id, self.deadline, EventFilter.from_json(self.events).names)


__all__ = ["ChatSocket", "TwinChatSessionEventTrigger", "shared_chat_socket"]
