"""The asyncio realtime client: many chat sessions over one TWIN websocket.

Built on the official Centrifugo SDK, ``centrifuge-python`` (the ``realtime`` extra), which does
the protocol work: connect, server pings/pongs, command timeouts, reconnects with jittered
backoff, server-side subscriptions. TWIN's parts come from :mod:`.realtime_protocol`.

* :class:`ChatEventHub` keeps one connection and routes each event to the
  :class:`SessionWatch` es of its session.
* :func:`wait_for_session_event` waits for one session's close (or other awaited events) and
  never misses one: after the session is joined on a connection, and again after every
  reconnect, it asks REST whether the session is already closed.
* :class:`~.shared.SharedResources` lends one hub per key (a TWIN connection id) to every waiter of an
  event loop, reference counted, so a thousand waits in a triggerer use one socket.

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
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
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

from airflow_provider_twin.client.chat import api as chat
from airflow_provider_twin.client.chat.models import SessionInfo
from airflow_provider_twin.client.chat.realtime.protocol import (
    CLIENT_NAME,
    CLOSED_STATUSES,
    ERROR_REALTIME,
    JOIN_SESSION,
    ChatEvent,
    EventFilter,
    TwinRealtimeError,
    WaitResult,
    check_failure,
    closed_result,
    connect_data,
    error_result,
    join_data,
    join_succeeded,
    parse_event,
    timeout_result,
)
from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.errors import TwinError, error_summary, is_transient
from airflow_provider_twin.client.core.loop_resources import SharedResources

log = logging.getLogger("airflow_provider_twin.client.chat.realtime")


#: Default seconds between safety-net REST checks while the session is joined.
DEFAULT_RECHECK_INTERVAL = 600.0
#: Default seconds between REST checks while the session is not joined (websocket down).
DEFAULT_FALLBACK_INTERVAL = 30.0
#: Seconds before retrying a REST check that failed with a transient error.
TRANSIENT_RETRY = 5.0


# -- what a watch receives --------------------------------------------------------------------------
@dataclass(frozen=True)
class Joined:
    """The session is joined on connection number ``generation``: check REST, then listen."""

    generation: int


@dataclass(frozen=True)
class JoinFailed:
    """TWIN refused (or did not answer) ``joinSession``; events may still come via connect."""

    reason: str


@dataclass(frozen=True)
class ConnectionLost:
    """The websocket dropped; the SDK reconnects, and a :class:`Joined` follows."""

    reason: str


@dataclass(frozen=True)
class HubStopped:
    """The hub will deliver nothing more (closed, or a terminal disconnect)."""

    reason: str


Signal = Joined | JoinFailed | ConnectionLost | HubStopped
WatchItem = ChatEvent | Signal


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


# -- waiting for one session ------------------------------------------------------------------------
class SessionChecker:
    """REST checks of many waits, coalesced into list calls.

    A wait asks :meth:`get` for its session; requests arriving within ``window`` seconds (or
    ``batch_size`` of them) become one ``GET /sessions?sessionId=a,b,...`` (twin-api.md §4.4), so
    the burst of checks after a reconnect costs ``N / batch_size`` calls instead of ``N``. TWIN
    does not document whether ``sessionId`` takes several ids (ASSUMPTION, §1.2 comma lists): any
    id the list does not return is read with ``GET /sessions/{id}``, and a refused list call falls
    back to those single reads, so the answer is right whatever TWIN does with the filter. At
    most ``concurrency`` calls are in flight.
    """

    def __init__(
        self, rest: AsyncTwinClient, *, batch_size: int = 100, window: float = 0.02, concurrency: int = 4
    ) -> None:
        self.rest = rest
        self.batch_size = max(1, batch_size)
        self.window = window
        self.calls = 0
        self._limit = asyncio.Semaphore(max(1, concurrency))
        self._pending: dict[str, tuple[str, list[asyncio.Future[SessionInfo]]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def busy(self) -> bool:
        """True while checks are queued or their list calls are in flight."""
        return bool(self._pending or self._tasks)

    async def get(self, session_id: str) -> SessionInfo:
        """The session object of ``session_id`` (raises the client's errors, e.g. 404)."""
        if self.batch_size == 1:
            return await self._single(session_id)
        future: asyncio.Future[SessionInfo] = asyncio.get_running_loop().create_future()
        key = session_id.lower()
        self._pending.setdefault(key, (session_id, []))[1].append(future)
        if len(self._pending) >= self.batch_size:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.window, self._flush)
        return await future

    async def _single(self, session_id: str) -> SessionInfo:
        async with self._limit:
            self.calls += 1
            return await self.rest.send(chat.get_session(session_id))

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            keys = list(self._pending)[: self.batch_size]
            batch = {key: self._pending.pop(key) for key in keys}
            task = asyncio.ensure_future(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: dict[str, tuple[str, list[asyncio.Future[SessionInfo]]]]) -> None:
        found: dict[str, SessionInfo] = {}
        if len(batch) > 1:
            ids = [name for name, _ in batch.values()]
            try:
                async with self._limit:
                    self.calls += 1
                    page = await self.rest.send(chat.list_sessions(limit=len(ids), sessionId=ids))
                found = {str(item.get("id") or "").lower(): item for item in page["items"]}
            except TwinError as exc:
                if is_transient(exc):
                    _settle(batch.values(), error=exc)
                    return
                log.debug("listing sessions by id was refused, reading them one by one: %s", exc)
        for key, (name, futures) in batch.items():
            info = found.get(key)
            if info is None:
                try:
                    info = await self._single(name)
                except TwinError as exc:
                    _settle([(name, futures)], error=exc)
                    continue
            _settle([(name, futures)], info=info)


def _settle(
    entries: Iterable[tuple[str, list[asyncio.Future[SessionInfo]]]],
    *,
    info: SessionInfo | None = None,
    error: BaseException | None = None,
) -> None:
    for _, futures in entries:
        for future in futures:
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            elif info is not None:
                future.set_result(info)


async def check_session(
    rest: AsyncTwinClient | SessionChecker,
    session_id: str,
    closed_statuses: Iterable[str] = CLOSED_STATUSES,
) -> WaitResult | None:
    """Ask REST whether the session is closed: the "closed" result, or None while open."""
    if isinstance(rest, SessionChecker):
        info = await rest.get(session_id)
    else:
        info = await rest.send(chat.get_session(session_id))
    return closed_result(session_id, info, closed_statuses)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="seconds")


async def wait_for_session_event(
    rest: AsyncTwinClient | SessionChecker,
    hub: ChatEventHub,
    session_id: str,
    *,
    deadline: float,
    events: EventFilter | None = None,
    closed_statuses: Iterable[str] = CLOSED_STATUSES,
    precheck: bool = False,
    recheck_interval: float = DEFAULT_RECHECK_INTERVAL,
    fallback_interval: float = DEFAULT_FALLBACK_INTERVAL,
    clock: Callable[[], float] = time.time,
) -> WaitResult:
    """Wait until ``session_id`` closes (or an awaited event arrives), or ``deadline`` passes.

    Never misses a close: it asks REST once the session is joined on a connection (and again
    after every reconnect or failed join), so a close published while nobody listened is still
    seen. While joined, REST is asked every ``recheck_interval`` seconds as a safety net; while
    not joined (websocket down, join refused) every ``fallback_interval`` seconds. Transient REST
    trouble is retried; an unknown session or refused credentials end the wait with an error
    result. Never raises for TWIN errors: every outcome is a :class:`WaitResult`.

    :param deadline: absolute UTC epoch seconds.
    :param precheck: ask REST once before subscribing (cheap exit for sessions already closed).
    :param rest: the REST client, or a :class:`SessionChecker` shared by many waits (it turns
        their simultaneous checks, e.g. after a reconnect, into a few list calls).
    """
    events = events or EventFilter()
    statuses = tuple(closed_statuses)

    async def rest_check() -> WaitResult | bool | None:
        """The result, None while open, or False when the check failed transiently."""
        try:
            return await check_session(rest, session_id, statuses)
        except TwinError as exc:
            failure = check_failure(session_id, exc)
            if failure is None:
                log.warning(
                    "checking chat session %s failed, trying again: %s", session_id, error_summary(exc)
                )
            return failure if failure is not None else False

    if precheck:
        found = await rest_check()
        if isinstance(found, WaitResult):
            return found

    watch = hub.watch(session_id)
    try:
        joined = False
        next_check = clock() + fallback_interval
        while True:
            now = clock()
            if now >= deadline:
                return timeout_result(session_id, _iso(deadline), events.names)
            item = await watch.next(max(0.0, min(deadline, next_check) - now))
            if isinstance(item, ChatEvent):
                if events.finishes(item):
                    return WaitResult.from_event(item, session_id)
                continue
            if isinstance(item, HubStopped):
                return error_result(session_id, item.reason, ERROR_REALTIME)
            if isinstance(item, ConnectionLost):
                joined = False
                next_check = min(next_check, clock() + fallback_interval)
                continue
            if item is None and clock() >= deadline:
                continue
            if isinstance(item, Joined):
                joined = True
            elif isinstance(item, JoinFailed):
                joined = False
            # Joined, JoinFailed or a check timer: ask REST.
            found = await rest_check()
            if isinstance(found, WaitResult):
                return found
            interval = recheck_interval if joined else fallback_interval
            if found is False:
                interval = min(interval, TRANSIENT_RETRY)
            next_check = clock() + interval
    finally:
        hub.unwatch(watch)


__all__ = [
    "DEFAULT_FALLBACK_INTERVAL",
    "DEFAULT_RECHECK_INTERVAL",
    "ChatEventHub",
    "ConnectionLost",
    "HubStats",
    "HubStopped",
    "JoinFailed",
    "Joined",
    "SessionChecker",
    "SessionWatch",
    "SharedResources",
    "TwinRealtimeError",
    "check_session",
    "wait_for_session_event",
]
