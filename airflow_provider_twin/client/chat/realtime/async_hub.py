"""The asyncio realtime client: many chat sessions over one TWIN websocket.

Built on the official Centrifugo SDK, ``centrifuge-python`` (the ``realtime`` extra), which does
the protocol work: connect, server pings/pongs, command timeouts, reconnects with jittered
backoff, server-side subscriptions. TWIN's parts (connect data, ``joinSession``, the event
envelope) come from :mod:`.centrifugo` and :mod:`..events`, shared with the blocking client.

:class:`ChatEventHub` keeps one connection and routes each event, and each connection signal
(:mod:`.session_wait`), to the :class:`SessionWatch` es of its session; a triggerer lends one
hub per TWIN connection to all its waits, so a thousand waits use one socket.

How sessions join a shared connection (ASSUMPTION, twin-api.md §5.3, §5.5, §5.8): TWIN takes
the list of sessions in the connect ``data`` and also offers the ``joinSession`` rpc. The hub
does both. A session added while connected is joined with ``joinSession`` at once, with no
reconnect; the connect ``data`` object handed to the SDK is a dict the hub owns and updates in
place, and the SDK encodes it afresh for every connect, so each reconnect lists exactly the
sessions watched at that moment. After every (re)connect the hub repeats ``joinSession`` for
every session, since TWIN does not say whether the connect list alone is enough.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from centrifuge import (
    CentrifugeError,
    Client,
    ClientEventHandler,
    ConnectedContext,
    ConnectingContext,
    DisconnectedContext,
    ErrorContext,
    ReplyError,
    ServerPublicationContext,
)

from airflow_provider_twin.client.chat.events import parse_event
from airflow_provider_twin.client.chat.realtime.centrifugo import (
    CLIENT_NAME,
    JOIN_SESSION,
    connect_data,
    join_data,
    join_succeeded,
)
from airflow_provider_twin.client.chat.realtime.session_wait import (
    ConnectionLost,
    HubStopped,
    Joined,
    JoinFailed,
    Signal,
    WatchItem,
)
from airflow_provider_twin.client.core.errors import error_summary

log = logging.getLogger("airflow_provider_twin.client.chat.realtime")


class SessionWatch:
    """One waiter's view of one session: events and connection signals, in order."""

    __slots__ = ("_queue", "key", "session_id")

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.key = session_id.lower()
        self._queue: asyncio.Queue[WatchItem] = asyncio.Queue()

    def put(self, item: WatchItem) -> None:
        """Deliver an item (called by the hub)."""
        self._queue.put_nowait(item)

    async def next(self, timeout: float | None) -> WatchItem | None:
        """The next item, or None when ``timeout`` seconds pass first."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        if timeout is not None and timeout <= 0:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            return None


class _HubEvents(ClientEventHandler):  # type: ignore[misc]
    """SDK callbacks forwarded to the hub. They never raise: a raising handler stops the SDK."""

    def __init__(self, hub: ChatEventHub) -> None:
        self._hub = weakref.ref(hub)

    async def on_connected(self, ctx: ConnectedContext) -> None:
        hub = self._hub()
        if hub is not None:
            hub._guard(hub._on_connected, ctx.client)

    async def on_connecting(self, ctx: ConnectingContext) -> None:
        hub = self._hub()
        if hub is not None:
            hub._guard(hub._on_connecting, ctx.code, ctx.reason)

    async def on_disconnected(self, ctx: DisconnectedContext) -> None:
        hub = self._hub()
        if hub is not None:
            hub._guard(hub._on_disconnected, ctx.code, ctx.reason)

    async def on_error(self, ctx: ErrorContext) -> None:
        log.debug("TWIN realtime: %s (code %s)", ctx.error, ctx.code)

    async def on_publication(self, ctx: ServerPublicationContext) -> None:
        hub = self._hub()
        if hub is not None:
            hub._guard(hub._on_publication, ctx.channel, ctx.pub.data, ctx.pub.offset)


@dataclass
class HubStats:
    """Counters of one hub (for logs, tests and the benchmark)."""

    connects: int = 0
    connection_losses: int = 0
    joins: int = 0
    join_failures: int = 0
    publications: int = 0
    unattributed: int = 0


class ChatEventHub:
    """One TWIN websocket listening to any number of chat sessions.

    Use from one event loop::

        hub = ChatEventHub(config.endpoints.centrifugo_url)
        await hub.start()
        watch = hub.watch(session_id)   # events of that session arrive in the watch
        ...
        hub.unwatch(watch)
        await hub.aclose()

    Events are attributed by their payload's ``sessionId``. Events without one (typing,
    operator changes, read receipts) are attributed only while the hub watches a single session;
    otherwise they are counted in ``stats.unattributed`` and dropped, so waits for them should use
    a hub of their own (:attr:`EventFilter.needs_own_connection`).

    :param url: the websocket URL (``TwinEndpoints.centrifugo_url``).
    :param user_id: optional ``settings.userId`` of the connect data.
    :param timeout: seconds for the handshake and for each command (connect, rpc).
    :param min_reconnect_delay: first reconnect delay; doubles per attempt with full jitter...
    :param max_reconnect_delay: ...up to this many seconds.
    :param max_server_ping_delay: extra seconds beyond TWIN's ping period before the link counts
        as dead and is reconnected.
    :param join_concurrency: most ``joinSession`` calls in flight (after a reconnect all
        sessions are joined again).
    """

    def __init__(
        self,
        url: str,
        *,
        user_id: str | None = None,
        timeout: float = 5.0,
        min_reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 20.0,
        max_server_ping_delay: float = 10.0,
        join_concurrency: int = 64,
    ) -> None:
        self.url = url
        self._data = connect_data([], user_id)
        self._session_list: list[str] = self._data["settings"]["sessions"]
        self._watches: dict[str, set[SessionWatch]] = {}
        self._names: dict[str, str] = {}
        self._joined: dict[str, int] = {}
        self._generation = 0
        self._connected = False
        self._closing = False
        self._failure: str | None = None
        self._join_limit = asyncio.Semaphore(join_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self.client_id: str | None = None
        self.stats = HubStats()
        self._client = Client(
            url,
            events=_HubEvents(self),
            name=CLIENT_NAME,
            data=self._data,
            timeout=timeout,
            min_reconnect_delay=min_reconnect_delay,
            max_reconnect_delay=max_reconnect_delay,
            max_server_ping_delay=max_server_ping_delay,
        )
        self._started = False

    # -- lifecycle -----------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """True while the websocket is connected."""
        return self._connected

    @property
    def failed(self) -> str | None:
        """Why the hub stopped for good (a terminal disconnect), else None."""
        return self._failure

    @property
    def sessions(self) -> tuple[str, ...]:
        """The sessions listened to, as sent in the next connect."""
        return tuple(self._session_list)

    async def start(self) -> None:
        """Connect (the first attempt is awaited; failures are retried in the background)."""
        if not self._started:
            self._started = True
            await self._client.connect()

    async def aclose(self) -> None:
        """Disconnect and tell remaining watches that nothing more will come."""
        if self._closing:
            return
        self._closing = True
        try:
            await self._client.disconnect()
        except CentrifugeError as exc:  # pragma: no cover - disconnect only logs in practice
            log.debug("TWIN realtime disconnect failed: %s", exc)
        for task in list(self._tasks):
            task.cancel()
        self._connected = False
        self._broadcast(HubStopped("the realtime connection was closed"))

    # -- watches -------------------------------------------------------------------------------------
    def watch(self, session_id: str) -> SessionWatch:
        """Start delivering ``session_id``'s events to a new watch.

        A :class:`Joined` item tells the watch once the session is joined on the current
        connection; check REST then, since events published earlier were not delivered.
        """
        watch = SessionWatch(session_id)
        if self._failure is not None or self._closing:
            watch.put(HubStopped(self._failure or "the realtime connection was closed"))
            return watch
        key = watch.key
        watches = self._watches.get(key)
        if watches is None:
            watches = self._watches[key] = set()
            self._names[key] = session_id
            self._session_list.append(session_id)
            if self._connected:
                self._spawn(self._join(key, self._generation))
        elif self._joined.get(key) == self._generation and self._connected:
            watch.put(Joined(self._generation))
        watches.add(watch)
        return watch

    def unwatch(self, watch: SessionWatch) -> None:
        """Stop delivering to ``watch``; the session is dropped when nobody watches it."""
        key = watch.key
        watches = self._watches.get(key)
        if watches is None:
            return
        watches.discard(watch)
        if watches:
            return
        del self._watches[key]
        self._joined.pop(key, None)
        name = self._names.pop(key, watch.session_id)
        # TWIN has no "leave session": its events keep coming until the next reconnect, which
        # no longer lists it, and are dropped meanwhile.
        with contextlib.suppress(ValueError):
            self._session_list.remove(name)

    # -- SDK callbacks (via _HubEvents) --------------------------------------------------------------
    def _guard(self, handler: Callable[..., None], *args: Any) -> None:
        try:
            handler(*args)
        except Exception:  # a raising handler would make the SDK disconnect for good
            log.exception("TWIN realtime: event handling failed")

    def _on_connected(self, client_id: str) -> None:
        self._generation += 1
        self._connected = True
        self.client_id = client_id
        self.stats.connects += 1
        self._joined.clear()
        log.info(
            "TWIN realtime connected (client %s, %d session(s), connection #%d)",
            client_id,
            len(self._watches),
            self._generation,
        )
        for key in list(self._watches):
            self._spawn(self._join(key, self._generation))

    def _on_connecting(self, code: int, reason: str) -> None:
        if not self._connected:
            return
        self._connected = False
        self.stats.connection_losses += 1
        log.warning("TWIN realtime connection lost (%s %s); reconnecting", code, reason)
        self._broadcast(ConnectionLost(f"{code} {reason}"))

    def _on_disconnected(self, code: int, reason: str) -> None:
        self._connected = False
        if self._closing:
            return
        self._failure = f"TWIN closed the realtime connection for good: {code} {reason}"
        log.error("%s", self._failure)
        self._broadcast(HubStopped(self._failure))

    def _on_publication(self, channel: str, data: Any, offset: int) -> None:
        event = parse_event(data, channel=channel, offset=offset)
        if event is None:
            log.debug("TWIN realtime: ignoring a publication that is not a chat event: %r", data)
            return
        self.stats.publications += 1
        key = event.session_id.lower() if event.session_id else None
        if key is None:
            if len(self._watches) != 1:
                self.stats.unattributed += 1
                return
            key = next(iter(self._watches))
        for watch in self._watches.get(key, ()):
            watch.put(event)

    # -- internals -----------------------------------------------------------------------------------
    def _broadcast(self, item: Signal) -> None:
        for watches in self._watches.values():
            for watch in watches:
                watch.put(item)

    def _notify(self, key: str, item: Signal) -> None:
        for watch in self._watches.get(key, ()):
            watch.put(item)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _current(self, key: str, generation: int) -> bool:
        return self._connected and generation == self._generation and key in self._watches

    async def _join(self, key: str, generation: int) -> None:
        async with self._join_limit:
            if not self._current(key, generation):
                return
            try:
                result = await self._client.rpc(JOIN_SESSION, join_data(self._names[key]))
            except ReplyError as exc:
                reason = f"joinSession refused: {exc.code} {exc.message}"
            except (CentrifugeError, asyncio.TimeoutError) as exc:
                # Lost with the connection (the next connect joins again) or timed out.
                reason = f"joinSession failed: {error_summary(exc)}"
            else:
                if join_succeeded(result.data):
                    if self._current(key, generation):
                        self._joined[key] = generation
                        self.stats.joins += 1
                        self._notify(key, Joined(generation))
                    return
                reason = f"joinSession answered {result.data!r}"
            if self._current(key, generation):
                self.stats.join_failures += 1
                log.warning("TWIN realtime: %s for session %s", reason, self._names.get(key, key))
                self._notify(key, JoinFailed(reason))


__all__ = [
    "ChatEventHub",
    "HubStats",
    "SessionWatch",
]
