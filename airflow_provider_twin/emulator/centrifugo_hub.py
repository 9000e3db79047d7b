"""The realtime hub: every websocket connection of one emulator, and the publications they receive.

Events come from the session store (``session_closed`` → ``sessionClosed``, ``bot_message`` →
``chatMessageCreated``, ``client_message`` → ``showTypingIndicator`` ``{"authorType": "BOT"}``)
and from the admin API (any §5.6 event, raw publications, dropping connections).

ASSUMPTION (twin-api.md §5.6): TWIN publishes no event for a client's message (``chatMessageCreated``
is BOT or OPERATOR). When a client writes into a session, the emulated bot "types": the session's
listeners get ``showTypingIndicator`` ``{"authorType": "BOT"}`` (a documented event), whichever way
the message came (``POST /sessions/{id}/clients/messages``, a start or continue with ``messageBody``,
the admin client messages and chat replies).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocket

from .centrifugo_connection import WidgetConnection
from .centrifugo_protocol import DISCONNECT_SHUTDOWN
from .centrifugo_settings import CentrifugoSettings
from .clock import iso
from .realtime_events import message_event
from .session_events import BOT_MESSAGE, CLIENT_MESSAGE, SESSION_CLOSED, SESSIONS_RESET, SessionEvent
from .state import EmulatorState

#: The payload of the emulated bot's typing indicator after a client message.
BOT_TYPING: dict[str, Any] = {"authorType": "BOT"}


class CentrifugoHub:
    """All websocket connections of one emulator, routing session events to them.

    Lives on ``app.state.centrifugo``. Session store listeners may run in any thread (tests touch
    the store directly); they hand events to the server's event loop, where every connection and
    queue is touched.
    """

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.initial_settings = CentrifugoSettings()
        self.settings = self.initial_settings
        self.connections: set[WidgetConnection] = set()
        self._by_session: dict[str, set[WidgetConnection]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.publications: deque[dict[str, Any]] = deque(maxlen=self.settings.publication_log_size)
        self.stats: dict[str, int] = {}
        self._clear_stats()
        self._unsubscribe = state.sessions.subscribe(self._on_session_event)

    def _clear_stats(self) -> None:
        self.stats = dict.fromkeys(
            (
                "connections_opened",
                "connections_closed",
                "joins",
                "join_refusals",
                "publications",
                "deliveries",
                "pongs",
                "no_pong_disconnects",
                "dropped",
            ),
            0,
        )

    # -- settings and state --------------------------------------------------------------------------
    def update_settings(self, patch: Mapping[str, Any]) -> CentrifugoSettings:
        """Apply a partial update (raises ``SettingsError``); pings use it from their next cycle."""
        self.settings = self.settings.updated(patch)
        if self.publications.maxlen != self.settings.publication_log_size:
            self.publications = deque(self.publications, maxlen=self.settings.publication_log_size)
        return self.settings

    def snapshot(self) -> dict[str, Any]:
        """Settings, counters and the connections (``GET /_emulator/centrifugo``)."""
        return {
            "settings": self.settings.to_dict(),
            "stats": {
                **self.stats,
                "connections_active": len(self.connections),
                "sessions_listened": len(self._by_session),
            },
            "connections": [
                {
                    "client": conn.client_id,
                    "channel": conn.channel,
                    "sessions": sorted(conn.sessions),
                    "strict": conn.strict,
                    "subscribed": conn.subscribed,
                    "opened_at": iso(conn.opened_at),
                }
                for conn in self.connections
            ],
        }

    def reset(self) -> None:
        """Restore the start-up settings, clear counters and the log, drop every connection."""
        self.settings = self.initial_settings
        self.publications = deque(maxlen=self.settings.publication_log_size)
        self.drop(DISCONNECT_SHUTDOWN, "shutdown")
        self._clear_stats()

    def session_exists(self, session_id: str) -> bool:
        with self.state.lock:
            return self.state.sessions.get(session_id) is not None

    # -- connections ---------------------------------------------------------------------------------
    async def serve(self, websocket: WebSocket) -> None:
        """Serve one websocket client (the route handler)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._loop_thread = loop, threading.get_ident()
        self._ensure_sweeper()
        conn = WidgetConnection(self, websocket)
        self.connections.add(conn)
        self.stats["connections_opened"] += 1
        await conn.serve()

    def listen(self, conn: WidgetConnection, sessions: list[str]) -> None:
        """Deliver the events of ``sessions`` to ``conn`` from now on."""
        for session_id in sessions:
            key = session_id.lower()
            conn.sessions.add(key)
            self._by_session.setdefault(key, set()).add(conn)

    def listeners(self, session_id: str) -> list[WidgetConnection]:
        """The connections that would receive an event of ``session_id`` now (not closing)."""
        return [conn for conn in self._by_session.get(session_id.lower(), ()) if not conn.closing]

    def forget(self, conn: WidgetConnection) -> None:
        """Remove a finished connection."""
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        self.stats["connections_closed"] += 1
        for key in conn.sessions:
            listeners = self._by_session.get(key)
            if listeners is not None:
                listeners.discard(conn)
                if not listeners:
                    del self._by_session[key]

    def drop(
        self, code: int = DISCONNECT_SHUTDOWN, reason: str = "shutdown", session_id: str | None = None
    ) -> int:
        """Close connections (all, or those listening to ``session_id``); returns how many.

        Connections already closing (dropped a moment ago, still saying goodbye) are not
        counted again.
        """
        if session_id is None:
            targets = [conn for conn in self.connections if not conn.closing]
        else:
            targets = self.listeners(session_id)
        for conn in targets:
            conn.close(code, reason)
        self.stats["dropped"] += len(targets)
        return len(targets)

    # -- publishing ----------------------------------------------------------------------------------
    def envelope(self, name: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``pub.data`` for an event, shaped by the envelope settings (ASSUMPTION §7.16)."""
        settings = self.settings
        if settings.flat_envelope:
            return {settings.event_key: name, **payload}
        return {settings.event_key: name, settings.payload_key: dict(payload)}

    def publish(self, session_id: str, name: str, payload: Mapping[str, Any]) -> int:
        """Push event ``name`` of ``session_id`` to its listeners; returns how many got it."""
        return self.publish_raw(session_id, self.envelope(name, payload), name)

    def publish_raw(self, session_id: str, data: Any, name: str | None = None) -> int:
        """Push arbitrary ``pub.data`` to the listeners of ``session_id`` (event-loop thread only).

        Returns how many connections got it: a strict-mode connection that has not subscribed to
        its channel is listening to the session but gets nothing.
        """
        delivered = sum(conn.push(data) for conn in self.listeners(session_id))
        self.stats["publications"] += 1
        self.stats["deliveries"] += delivered
        self.publications.append(
            {
                "session_id": session_id.lower(),
                "event": name,
                "published_at": time.time(),
                "connections": delivered,
            }
        )
        return delivered

    def _on_session_event(self, event: SessionEvent) -> None:
        """Session store listener: runs under the state lock, possibly in another thread."""
        loop = self._loop
        if event.kind == SESSIONS_RESET and (loop is None or loop.is_closed()):
            self.reset()
            return
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self._dispatch(event)
        else:
            loop.call_soon_threadsafe(self._dispatch, event)

    def _dispatch(self, event: SessionEvent) -> None:
        if event.kind == SESSIONS_RESET:
            self.reset()
        elif event.kind == SESSION_CLOSED:
            self.publish(event.session_id, "sessionClosed", event.data)
        elif event.kind == BOT_MESSAGE:
            message = event.data.get("message")
            if isinstance(message, dict):
                self.publish(event.session_id, "chatMessageCreated", message_event(message))
        elif event.kind == CLIENT_MESSAGE:
            # ASSUMPTION (twin-api.md §5.6): client messages are not published; the emulated bot
            # "types" in answer to one, which tells listeners that the client wrote.
            self.publish(event.session_id, "showTypingIndicator", BOT_TYPING)

    def _ensure_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.ensure_future(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        """Publish ``sessionClosed`` for sessions whose ttl ran out (closing is lazy elsewhere)."""
        while self.connections:
            interval = self.settings.sweep_interval
            await asyncio.sleep(interval or 1.0)
            if interval:
                self.state.sweep_sessions()


__all__ = ["CentrifugoHub"]
