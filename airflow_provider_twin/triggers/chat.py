"""``TwinChatSessionEventTrigger``: waits in the triggerer for a chat session to close.

The deferrable mode of :class:`~airflow_provider_twin.sensors.chat.TwinChatSessionClosedSensor`.
The trigger holds a TWIN websocket in the triggerer and fires when the session's
``sessionClosed`` (or another awaited event) arrives, so a wait costs no worker slot and reacts
within milliseconds.

**One socket per TWIN connection.** All chat triggers of a triggerer process that use the same
``twin_conn_id`` share one websocket and one REST client (a reference-counted registry per event
loop, :class:`~airflow_provider_twin.client.realtime_async.SharedResources`): a thousand waiting
sensors open one socket and log in once. TWIN's connect accepts a list of sessions; sessions that
arrive later are joined on the open connection with the ``joinSession`` rpc (see
:mod:`airflow_provider_twin.client.realtime_async` for the ASSUMPTION behind this). A wait for
events that do not name their session (typing, operator changes, read receipts) gets a
connection of its own, since such events can only be attributed on a one-session connection.

**No close is missed.** After the session is joined, and again after every reconnect, the trigger
asks REST whether the session is already closed; while the websocket is down it asks REST every
``fallback_interval`` seconds, and every ``recheck_interval`` seconds otherwise. The REST checks of
all waits of a connection go through one
:class:`~airflow_provider_twin.client.realtime_async.SessionChecker`, which turns the burst after a
reconnect into a few list calls.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_twin.client.chat.realtime import INSTALL_HINT, load
from airflow_provider_twin.client.chat.realtime.protocol import (
    CLOSED_STATUSES,
    EventFilter,
    WaitResult,
    error_result,
    timeout_result,
)
from airflow_provider_twin.client.core.errors import error_summary
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.triggers.messages import epoch_seconds

if TYPE_CHECKING:
    from airflow_provider_twin.client.chat.realtime.async_hub import (
        ChatEventHub,
        SessionChecker,
        SharedResources,
    )
    from airflow_provider_twin.client.core.async_client import AsyncTwinClient

#: Default seconds between safety-net REST checks while the session is joined.
RECHECK_INTERVAL = 600.0
#: Default seconds between REST checks while the websocket is down.
FALLBACK_INTERVAL = 30.0


@dataclass
class SharedChat:
    """What the chat triggers of one TWIN connection share in a triggerer.

    One REST client (one login), one websocket and one coalescing REST checker.
    """

    hook: TwinHook
    rest: AsyncTwinClient
    hub: ChatEventHub
    checker: SessionChecker

    async def aclose(self) -> None:
        """Disconnect the websocket and close the HTTP pool."""
        try:
            await self.hub.aclose()
        finally:
            await self.hook.aclose()


_REGISTRY: SharedResources[SharedChat] | None = None


def registry() -> SharedResources[SharedChat]:
    """The process-wide registry of shared chat connections (created on first use)."""
    global _REGISTRY  # noqa: PLW0603 - one registry per process, created lazily (optional extra)
    if _REGISTRY is None:
        _REGISTRY = load("async_hub").SharedResources()
    return _REGISTRY


async def open_shared_chat(twin_conn_id: str) -> SharedChat:
    """Read the connection, build its REST client and connect its websocket."""
    realtime_async = load("async_hub")
    hook = TwinHook(twin_conn_id=twin_conn_id)
    try:
        rest = await hook.get_async_client()
        hub = realtime_async.ChatEventHub(rest.engine.config.endpoints.centrifugo_url)
        await hub.start()
    except BaseException:
        await hook.aclose()
        raise
    return SharedChat(hook, rest, hub, realtime_async.SessionChecker(rest))


async def close_shared_chat(shared: SharedChat) -> None:
    """Close what :func:`open_shared_chat` opened (called by the last trigger to leave)."""
    await shared.aclose()


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
    """

    def __init__(
        self,
        *,
        session_id: str,
        deadline: float | str | datetime,
        events: Sequence[Any] | None = None,
        twin_conn_id: str = TwinHook.default_conn_name,
        closed_statuses: Iterable[str] = CLOSED_STATUSES,
        recheck_interval: float = RECHECK_INTERVAL,
        fallback_interval: float = FALLBACK_INTERVAL,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.session_id = str(session_id)
        self.deadline = epoch_seconds(deadline)
        self.events = EventFilter.from_json(events).to_json()
        self.twin_conn_id = twin_conn_id
        self.closed_statuses = [str(status) for status in closed_statuses]
        self.recheck_interval = float(recheck_interval)
        self.fallback_interval = float(fallback_interval)

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
            },
        )

    @property
    def connection_key(self) -> str:
        """Registry key: the connection id, or connection id + session for a dedicated socket."""
        if EventFilter.from_json(self.events).needs_own_connection:
            return f"{self.twin_conn_id}#session={self.session_id.lower()}"
        return self.twin_conn_id

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Fire exactly one event: closed, event, timeout or error."""
        result = await self._wait()
        log = self.log.info if result.status in ("closed", "event") else self.log.warning
        log("%s", result.message)
        yield _event(result.to_event())

    async def _wait(self) -> WaitResult:
        try:
            realtime_async = load("async_hub")
        except ImportError:
            return error_result(self.session_id, INSTALL_HINT)
        if time.time() >= self.deadline:
            return await self._timeout_now(realtime_async)
        try:
            async with registry().use(
                self.connection_key,
                lambda: open_shared_chat(self.twin_conn_id),
                close_shared_chat,
            ) as shared:
                result: WaitResult = await realtime_async.wait_for_session_event(
                    shared.checker,
                    shared.hub,
                    self.session_id,
                    deadline=self.deadline,
                    events=EventFilter.from_json(self.events),
                    closed_statuses=self.closed_statuses,
                    recheck_interval=self.recheck_interval,
                    fallback_interval=self.fallback_interval,
                )
                return result
        except Exception as exc:  # noqa: BLE001 - turned into an error event
            return error_result(
                self.session_id, f"waiting for chat session {self.session_id} failed: {error_summary(exc)}"
            )

    async def _timeout_now(self, realtime_async: Any) -> WaitResult:
        """The deadline passed before the trigger ran (e.g. after a triggerer outage): check once."""
        hook = TwinHook(twin_conn_id=self.twin_conn_id)
        try:
            rest = await hook.get_async_client()
            found: WaitResult | None = await realtime_async.check_session(
                rest, self.session_id, self.closed_statuses
            )
        except Exception as exc:  # noqa: BLE001 - turned into an error event
            return error_result(self.session_id, f"checking chat session {self.session_id} failed: {exc}")
        finally:
            await hook.aclose()
        if found is not None:
            return found
        return timeout_result(
            self.session_id,
            datetime.fromtimestamp(self.deadline, timezone.utc).isoformat(timespec="seconds"),
            EventFilter.from_json(self.events).names,
        )


__all__ = ["SharedChat", "TwinChatSessionEventTrigger", "registry"]
