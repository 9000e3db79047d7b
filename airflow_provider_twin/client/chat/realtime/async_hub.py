"""The asyncio realtime client: many chat sessions over one TWIN websocket.

Built on the official Centrifugo SDK, ``centrifuge-python`` (the ``realtime`` extra), which does
the protocol work: connect, server pings/pongs, command timeouts, reconnects with jittered
backoff, server-side subscriptions. TWIN's parts (connect data, ``joinSession``, the event
envelope) come from :mod:`.centrifugo` and :mod:`..events`, shared with the blocking client.

:class:`ChatEventHub` keeps one connection and routes each event, and each connection signal
(:mod:`.session_wait`), to the :class:`SessionWatch` es of its session; a triggerer lends one
hub per TWIN connection to all its waits, so a thousand waits use one socket.

How sessions join a shared connection (seed 003; ASSUMPTIONS where it is silent, twin-api.md
§5.3, §5.5, §5.8): the connect lists the sessions to listen to (``settings.sessions``, REQUIRED),
so the hub connects when the first session is watched and disconnects when the last one leaves.
The connect ``data`` is a dict the hub owns and updates in place, and the SDK encodes it afresh
for every connect, so each reconnect lists the sessions watched at that moment. After connect the
hub subscribes to the channels of the reply's ``subs`` (see :meth:`ChatEventHub._subscribe_and_join`),
then joins every session with ``joinSession``; a session added while connected is joined at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from centrifuge import CentrifugeError, Client, ClientState, ReplyError

from airflow_provider_twin.client.chat.events import parse_event
from airflow_provider_twin.client.chat.realtime.centrifugo import (
    CLIENT_NAME,
    JOIN_SESSION,
    connect_data,
    join_data,
    join_succeeded,
    subscribe_accepted,
)
from airflow_provider_twin.client.chat.realtime.sdk_events import ChannelEvents, HubEvents
from airflow_provider_twin.client.chat.realtime.session_wait import (
    ConnectionLost,
    HubStopped,
    Joined,
    JoinFailed,
    Signal,
)
from airflow_provider_twin.client.chat.realtime.session_watch import SessionWatch
from airflow_provider_twin.client.core.errors import error_summary

log = logging.getLogger("airflow_provider_twin.client.chat.realtime")


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
    :param join_concurrency: most ``joinSession`` calls in flight (all, after a reconnect).
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
        self._timeout = timeout
        # This connection's channels, refusals, and whether they are settled (_subscribe_and_join).
        self._channels: list[str] = []
        self._refusals: dict[str, tuple[int, str]] = {}
        self._ready = asyncio.Event()
        self._refusal: str | None = None
        self._lifecycle = asyncio.Lock()
        self._idling = False
        self.client_id: str | None = None
        self.stats = HubStats()
        self._client = Client(
            url,
            events=HubEvents(self),
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

    @property
    def connect_data(self) -> dict[str, Any]:
        """The ``data`` of the next connect command (a copy)."""
        return copy.deepcopy(self._data)

    async def start(self) -> None:
        """Let the hub connect: now if a session is watched, else on the first :meth:`watch`.

        TWIN's connect requires the sessions to listen to (seed 003: ``settings.sessions``,
        REQUIRED), so a hub watching nothing stays disconnected, and disconnects again when
        the last watch leaves. The first attempt is awaited; failures are retried in the
        background.
        """
        if not self._started:
            self._started = True
            await self._follow_watches()

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
            elif len(self._watches) == 1:
                self._spawn(self._follow_watches())
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
        if not self._watches:
            self._spawn(self._follow_watches())

    # -- SDK callbacks (via sdk_events) --------------------------------------------------------------
    def on_connected(self, client_id: str) -> None:
        self._generation += 1
        self._connected = True
        self.client_id = client_id
        self.stats.connects += 1
        self._joined.clear()
        self._channels = []
        self._refusals = {}
        self._ready = asyncio.Event()
        log.info(
            "TWIN realtime connected (client %s, %d session(s), connection #%d)",
            client_id,
            len(self._watches),
            self._generation,
        )
        self._spawn(self._subscribe_and_join(self._generation))

    def on_channel(self, channel: str) -> None:
        self._channels.append(channel)

    async def on_connecting(self, code: int, reason: str) -> None:
        await self._drop_subscriptions()
        if not self._connected:
            return
        self._connected = False
        self.stats.connection_losses += 1
        log.warning("TWIN realtime connection lost (%s %s); reconnecting", code, reason)
        self._broadcast(ConnectionLost(f"{code} {reason}"))

    async def on_disconnected(self, code: int, reason: str) -> None:
        self._connected = False
        await self._drop_subscriptions()
        if self._closing or self._idling:
            return
        self._failure = f"TWIN closed the realtime connection for good: {code} {reason}"
        log.error("%s", self._failure)
        self._broadcast(HubStopped(self._failure))

    def on_unsubscribed(self, channel: str, code: int, reason: str) -> None:
        self._refusals[channel] = (code, reason)

    def on_publication(self, channel: str, data: Any, offset: int) -> None:
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

    async def _follow_watches(self) -> None:
        """Connect while some session is watched, disconnect when none is (one change at a time)."""
        async with self._lifecycle:
            wanted = self._started and bool(self._watches) and not self._closing and not self._failure
            state = self._client.state
            if wanted and state == ClientState.DISCONNECTED:
                await self._client.connect()
            elif not wanted and state != ClientState.DISCONNECTED and not self._closing:
                self._idling = True
                try:
                    await self._client.disconnect()
                finally:
                    self._idling = False

    async def _drop_subscriptions(self) -> None:
        """Forget a finished connection's subscriptions (its ``subs`` channels die with it)."""
        self._ready.set()  # joins waiting for this connection's subscriptions give up
        for sub in list(self._client.subscriptions().values()):
            with contextlib.suppress(CentrifugeError):
                await sub.unsubscribe()
                self._client.remove_subscription(sub)

    async def _subscribe_and_join(self, generation: int) -> None:
        """Subscribe to the connect reply's channels, then join every watched session.

        Seed 003 says to subscribe to the channels named by the keys of ``subs``. Where TWIN
        makes them server-side subscriptions (Centrifugo's reading, the lenient emulator) they
        publish already and the subscribe is answered ``{}`` or 105 "already subscribed"; where
        TWIN waits for the client's ``subscribe``, nothing is published before it. Either way
        a session counts as joined only once its channel delivers, so the REST check that
        follows a :class:`Joined` misses nothing.
        """
        refused: list[str] = []
        for channel in self._channels:
            if why := await self._subscribe(channel):
                log.warning("TWIN realtime: %s", why)
                refused.append(why)
        if generation != self._generation:
            return
        self._refusal = "; ".join(refused) or None
        self._ready.set()
        for key in list(self._watches):
            self._spawn(self._join(key, generation))

    async def _subscribe(self, channel: str) -> str | None:
        """Subscribe to ``channel``; None when it delivers, else why not."""
        sub = self._client.get_subscription(channel) or self._client.new_subscription(
            channel, events=ChannelEvents(self, channel)
        )
        try:
            await sub.subscribe()
            await sub.ready(timeout=self._timeout)
        except (CentrifugeError, asyncio.TimeoutError) as exc:
            refusal = self._refusals.get(channel)  # TWIN's answer, when it refused
            if refusal is None:
                return f"subscribe to {channel} failed: {error_summary(exc)}"
            if subscribe_accepted(refusal[0]):
                return None  # subscribed on the server side already: it publishes
            return f"subscribe to {channel} refused: {refusal[0]} {refusal[1]}"
        return None

    async def _join(self, key: str, generation: int) -> None:
        await self._ready.wait()
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
                if join_succeeded(result.data) and not self._refusal:
                    if self._current(key, generation):
                        self._joined[key] = generation
                        self.stats.joins += 1
                        self._notify(key, Joined(generation))
                    return
                reason = self._refusal or f"joinSession answered {result.data!r}"
            if self._current(key, generation):
                self.stats.join_failures += 1
                log.warning("TWIN realtime: %s for session %s", reason, self._names.get(key, key))
                self._notify(key, JoinFailed(reason))


__all__ = [
    "ChatEventHub",
    "HubStats",
    "SessionWatch",
]
