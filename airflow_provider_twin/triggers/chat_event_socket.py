"""The websocket side of a chat event watcher: open sessions followed, a failed socket reopened.

A chat watcher (:mod:`.chat_events`) hears closes of the open sessions it knows (those its REST
polls listed) on the connection's one chat websocket, shared with the chat sensors' waits
(:class:`~.chat.ChatSocket`). A websocket hub can stop for good (a terminal disconnect, retries
exhausted); then :class:`RealtimeSessions` logs why, lets go of that socket and opens one
again, waiting 1 s, 2 s, 4 s... up to a minute between attempts. Opening a socket does not
connect it (it connects with its first wait), so a successful open says nothing: the wait
starts again from 1 s only once an event came through the socket, or it stayed connected and
working for :data:`REOPEN_MAX_WAIT`. REST polls go on meanwhile, so nothing is lost while the
websocket is away, only later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

from airflow_provider_twin.client.chat import ChatEvent
from airflow_provider_twin.triggers.chat import ChatSocket
from airflow_provider_twin.triggers.connections import TwinConnection

#: Seconds before the first attempt to reopen a failed websocket, doubled per failure.
REOPEN_FIRST_WAIT = 1.0
#: The longest wait between two attempts; also how long a socket stays connected before the
#: wait starts again from :data:`REOPEN_FIRST_WAIT`.
REOPEN_MAX_WAIT = 60.0

log = logging.getLogger(__name__)


class SessionFollower:
    """The open sessions of a stream, watched on a chat websocket; their events in one queue."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.heard = False  # an event came through: the socket works
        self._watches: dict[str, tuple[Any, asyncio.Task[None]]] = {}

    def follow(self, session_ids: Iterable[str]) -> None:
        """Watch exactly ``session_ids`` (new ones joined, others left)."""
        wanted = list(dict.fromkeys(session_ids))
        for session_id in [sid for sid in self._watches if sid not in set(wanted)]:
            self._leave(session_id)
        if self.hub.failed:
            return
        for session_id in wanted:
            if session_id not in self._watches:
                watch = self.hub.watch(session_id)
                self._watches[session_id] = (watch, asyncio.ensure_future(self._pump(watch)))

    @property
    def watched(self) -> int:
        return len(self._watches)

    async def _pump(self, watch: Any) -> None:
        while True:
            item = await watch.next(None)
            if isinstance(item, ChatEvent):
                self.heard = True
                self.queue.put_nowait(item)

    async def next(self, timeout: float) -> ChatEvent | None:
        """The next event heard, or None after ``timeout`` seconds."""
        try:
            event: ChatEvent = await asyncio.wait_for(self.queue.get(), max(timeout, 0.0))
        except asyncio.TimeoutError:
            return None
        return event

    def _leave(self, session_id: str) -> None:
        watch, task = self._watches.pop(session_id)
        task.cancel()
        self.hub.unwatch(watch)

    def close(self) -> None:
        """Leave every session."""
        for session_id in list(self._watches):
            self._leave(session_id)


class RealtimeSessions:
    """A watcher's hold on the connection's chat websocket, reopened with backoff when it fails.

    :param connection: the watcher's shared connection.
    :param socket_key: the attachment the chat websocket is shared under (the connection id).
    :param label: the watcher in log lines.
    """

    def __init__(self, connection: TwinConnection, socket_key: str, label: str) -> None:
        self.connection = connection
        self.socket_key = socket_key
        self.label = label
        self.follower: SessionFollower | None = None
        self.opened = 0
        self._stack: contextlib.AsyncExitStack | None = None
        self._wait = REOPEN_FIRST_WAIT
        self._retry_at = 0.0
        self._connected_since: float | None = None

    async def current(self) -> SessionFollower | None:
        """The follower on a working websocket, reopening a failed one when its wait is over."""
        if self.follower is not None and not self.follower.hub.failed:
            self._proven(self.follower)
            return self.follower
        if self.follower is not None:
            await self._stopped(self.follower.hub.failed)
        if time.monotonic() < self._retry_at:
            return None
        stack = contextlib.AsyncExitStack()
        try:
            opening = self.connection.attach(
                self.socket_key, lambda: ChatSocket.open(self.connection), ChatSocket.aclose
            )
            socket = await stack.enter_async_context(opening)
        except Exception as exc:  # noqa: BLE001 - REST polls go on without the websocket
            await stack.aclose()
            log.warning("%s: cannot open the websocket (%s); retrying in %.0f s", self.label, exc, self._wait)
            self._backoff()
            return None
        follower = SessionFollower(socket.hub)
        stack.callback(follower.close)
        self._stack, self.follower = stack, follower
        self.opened += 1
        if socket.hub.failed:  # the shared socket had stopped already: let go and retry later
            await self._stopped(socket.hub.failed)
            return None
        self._proven(follower)
        return follower

    def _proven(self, follower: SessionFollower) -> None:
        """Start the wait from the first again once the socket proved itself (see the module doc)."""
        now = time.monotonic()
        if not getattr(follower.hub, "connected", False):
            self._connected_since = None
        elif self._connected_since is None:
            self._connected_since = now
        if follower.heard or (
            self._connected_since is not None and now - self._connected_since >= REOPEN_MAX_WAIT
        ):
            self._wait = REOPEN_FIRST_WAIT

    async def _stopped(self, reason: str | None) -> None:
        log.warning(
            "%s: the websocket stopped (%s); REST polls go on, reopening in %.0f s",
            self.label,
            reason,
            self._wait,
        )
        await self.aclose()
        self._backoff()

    def retry_in(self) -> float:
        """Seconds until the next attempt to open the websocket (0 when it is open)."""
        return 0.0 if self.follower is not None else max(0.0, self._retry_at - time.monotonic())

    def _backoff(self) -> None:
        self._retry_at = time.monotonic() + self._wait
        self._wait = min(self._wait * 2, REOPEN_MAX_WAIT)

    async def aclose(self) -> None:
        """Leave the sessions and let go of the websocket (closed once nobody else uses it)."""
        stack, self._stack, self.follower = self._stack, None, None
        self._connected_since = None
        if stack is not None:
            await stack.aclose()


__all__ = ["REOPEN_FIRST_WAIT", "REOPEN_MAX_WAIT", "RealtimeSessions", "SessionFollower"]
