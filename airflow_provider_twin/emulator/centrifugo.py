"""TWIN's realtime websocket: a Centrifugo JSON protocol v2 server for chat events (twin-api.md §5).

What is emulated, per connection:

* the first command must be ``connect`` with ``data.application`` (else disconnect 3501 "bad
  request", ASSUMPTION §7.20) and ``data.settings.sessions``, the sessions to listen to (may be
  empty); the reply carries the client id, ``version``, one server-side subscription
  ``widget:<uuid per connection>`` in ``subs`` (ASSUMPTION §7.17) and ``ping``/``pong``;
* rpc ``joinSession`` ``{"id": <session>}`` adds a session (``{"success": true}``; unknown
  session → error 103, joining twice succeeds, ASSUMPTION §7.19); other rpc methods → 104;
* ``subscribe`` to the connection's own channel answers ``{}`` (lenient, default) or error 105
  (strict mode, ASSUMPTION §7.18); other channels → 103; ``unsubscribe`` answers ``{}``;
* every ``ping`` seconds the server sends ``{}`` and expects ``{}`` back within ``pong_timeout``
  seconds, else it disconnects with 3012 "no pong" (ASSUMPTION §7.21);
* pushes ``{"push":{"channel":...,"pub":{"data":<envelope>,"offset":n}}}`` where the envelope is
  ``{"event": name, "payload": {...}}`` (ASSUMPTION §7.16; the key names, or a flat envelope,
  are settings so clients can be tested against the variants).

Events come from the session store (``session_closed`` → ``sessionClosed``, ``bot_message`` →
``chatMessageCreated``) and from the admin API (any §5.6 event, raw publications, dropping
connections). Outgoing data is queued per connection and written by one task that batches
whatever is queued into one frame (newline-delimited), so a burst of events for a thousand
sessions on one connection costs a handful of frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from .chat_session import BOT_AUTHOR_ID
from .clock import iso
from .session_events import SessionEvent
from .settings import SettingsError
from .state import EmulatorState

logger = logging.getLogger(__name__)

#: Path of TWIN's websocket (twin-api.md §5.1).
CENTRIFUGO_PATH = "/centrifugo/connection/websocket"

#: Events TWIN documents (twin-api.md §5.6).
EVENT_NAMES: tuple[str, ...] = (
    "showTypingIndicator",
    "chatMessageCreated",
    "operatorChanged",
    "chatMessageRead",
    "sessionClosed",
)

#: Kind of the session store event that announces a reset (the emulator drops its sockets then).
STORE_RESET = "sessions_reset"

# Centrifugo codes used here (twin-api.md §5.9).
ERROR_PERMISSION_DENIED = 103
ERROR_METHOD_NOT_FOUND = 104
ERROR_ALREADY_SUBSCRIBED = 105
ERROR_BAD_REQUEST = 107
DISCONNECT_SHUTDOWN = 3001
DISCONNECT_NO_PONG = 3012
DISCONNECT_BAD_REQUEST = 3501
DISCONNECT_INAPPROPRIATE_PROTOCOL = 3506

#: Most frames the writer joins into one websocket message.
MAX_BATCH = 1000


@dataclass(frozen=True)
class CentrifugoSettings:
    """Behaviour of the emulated websocket; change it with ``PATCH /_emulator/centrifugo``.

    Attributes:
        ping_interval: seconds between server pings, sent as ``ping`` in the connect reply (an
            integer, as in Centrifugo; 1 s or more).
        pong_timeout: seconds a client has to answer a ping before it is disconnected with 3012.
        pong_required: the connect reply's ``pong``; False never disconnects for a missing pong.
        strict_subscribe: answer ``subscribe`` to the connection's own channel with error 105
            ("already subscribed") instead of ``{}``.
        event_key: envelope key of the event name.
        payload_key: envelope key of the event fields.
        flat_envelope: publish ``{event_key: name, ...fields}`` instead of a nested payload.
        version: the server version reported on connect.
        sweep_interval: seconds between checks for sessions whose ttl ran out (their
            ``sessionClosed`` is published then); 0 turns the check off.
        publication_log_size: how many publications ``GET /_emulator/centrifugo/publications`` keeps.
    """

    ping_interval: int = 25
    pong_timeout: float = 8.0
    pong_required: bool = True
    strict_subscribe: bool = False
    event_key: str = "event"
    payload_key: str = "payload"
    flat_envelope: bool = False
    version: str = "6.2.1 OSS"
    sweep_interval: float = 1.0
    publication_log_size: int = 100_000

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, patch: Mapping[str, Any]) -> CentrifugoSettings:
        """A copy with ``patch`` applied; raises ``SettingsError`` naming every bad field."""
        kinds = {item.name: item.type for item in fields(self)}
        details: dict[str, list[str]] = {}
        for key, value in patch.items():
            kind = kinds.get(key)
            if kind is None:
                details[key] = ["Unknown setting."]
            elif kind == "bool" and not isinstance(value, bool):
                details[key] = ["Must be a boolean."]
            elif kind == "str" and (not isinstance(value, str) or not value):
                details[key] = ["Must be a non-empty string."]
            elif kind in ("int", "float") and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                details[key] = ["Must be a number >= 0."]
            elif kind == "int" and not float(value).is_integer():
                details[key] = ["Must be a whole number."]
        minimums = {"ping_interval": 1, "publication_log_size": 1}
        for key, minimum in minimums.items():
            if key in patch and key not in details and patch[key] < minimum:
                details[key] = [f"Must be at least {minimum}."]
        if "pong_timeout" in patch and "pong_timeout" not in details and patch["pong_timeout"] <= 0:
            details["pong_timeout"] = ["Must be positive."]
        if details:
            raise SettingsError(details)
        normalised: dict[str, Any] = {
            key: int(value) if kinds[key] == "int" else value for key, value in patch.items()
        }
        return replace(self, **normalised)


class _Close:
    """Queue item: close the websocket with ``code`` and ``reason`` after what is queued before it."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class WidgetConnection:
    """One websocket client of the emulator: its channel, sessions, queue and timers."""

    def __init__(self, hub: CentrifugoHub, websocket: WebSocket) -> None:
        self.hub = hub
        self.websocket = websocket
        self.client_id = str(uuid.uuid4())
        self.channel = f"widget:{uuid.uuid4()}"
        self.epoch = str(int(time.time()))
        self.sessions: set[str] = set()
        self.offset = 0
        self.connected = False
        self.closing = False
        self.opened_at = time.time()
        self._out: asyncio.Queue[str | _Close] = asyncio.Queue()
        self._pong = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- outgoing ------------------------------------------------------------------------------------
    def send(self, line: str) -> None:
        """Queue one reply or push line (ignored once the connection is closing)."""
        if not self.closing:
            self._out.put_nowait(line)

    def push(self, data: Any) -> None:
        """Queue a publication on the connection's channel."""
        if self.closing:
            return
        self.offset += 1
        self.send(_dumps({"push": {"channel": self.channel, "pub": {"data": data, "offset": self.offset}}}))

    def close(self, code: int, reason: str) -> None:
        """Close with a Centrifugo disconnect code after the queued frames."""
        if not self.closing:
            self._out.put_nowait(_Close(code, reason))
            self.closing = True

    async def _writer(self) -> None:
        queue = self._out
        while True:
            item = await queue.get()
            batch: list[str] = []
            while isinstance(item, str):
                batch.append(item)
                if len(batch) >= MAX_BATCH or queue.empty():
                    break
                item = queue.get_nowait()
            if batch:
                await self.websocket.send_text("\n".join(batch))
            if isinstance(item, _Close):
                await self.websocket.close(item.code, item.reason)
                return

    async def _pinger(self) -> None:
        while not self.closing:
            await asyncio.sleep(self.hub.settings.ping_interval)
            self._pong.clear()
            self.send("{}")
            if not self.hub.settings.pong_required:
                continue
            try:
                await asyncio.wait_for(self._pong.wait(), self.hub.settings.pong_timeout)
            except asyncio.TimeoutError:
                self.hub.stats["no_pong_disconnects"] += 1
                self.close(DISCONNECT_NO_PONG, "no pong")
                return

    # -- incoming ------------------------------------------------------------------------------------
    async def serve(self) -> None:
        """Run the connection until the client leaves or it is closed."""
        protobuf = "centrifuge-protobuf" in (self.websocket.scope.get("subprotocols") or [])
        # Only the JSON protocol is emulated: a Protobuf client is accepted, then told why not.
        await self.websocket.accept(subprotocol="centrifuge-protobuf" if protobuf else None)
        self._tasks.append(asyncio.ensure_future(self._writer()))
        if protobuf:
            self.close(DISCONNECT_INAPPROPRIATE_PROTOCOL, "inappropriate protocol")
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    raw = message.get("bytes") or b""
                    text = raw.decode("utf-8", "replace")
                if not self.closing:
                    self._handle_frame(text)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.closing = True
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(BaseException):
                    await task
            self.hub.forget(self)

    def _handle_frame(self, text: str) -> None:
        replies: list[str] = []
        for line in text.split("\n"):
            if not line.strip():
                continue
            try:
                command = json.loads(line)
            except ValueError:
                self.close(DISCONNECT_BAD_REQUEST, "bad request")
                return
            if not isinstance(command, dict):
                self.close(DISCONNECT_BAD_REQUEST, "bad request")
                return
            reply = self._handle_command(command)
            if self.closing:
                break
            if reply is not None:
                replies.append(_dumps(reply))
        for reply_line in replies:
            self.send(reply_line)

    def _handle_command(self, command: dict[str, Any]) -> dict[str, Any] | None:
        command_id = command.get("id")
        methods = [key for key, value in command.items() if key != "id" and value is not None]
        if not methods:
            # An empty command answers a server ping (twin-api.md §5.7).
            self._pong.set()
            self.hub.stats["pongs"] += 1
            return None
        method = methods[0]
        params = command[method] if isinstance(command[method], dict) else {}
        if method == "connect":
            return self._connect(command_id, params)
        if not self.connected:
            self.close(DISCONNECT_BAD_REQUEST, "bad request")
            return None
        if method == "send":
            return None
        if not isinstance(command_id, int) or command_id <= 0:
            self.close(DISCONNECT_BAD_REQUEST, "bad request")
            return None
        if method == "rpc":
            return self._rpc(command_id, params)
        if method == "subscribe":
            return self._subscribe(command_id, params)
        if method in ("unsubscribe", "ping"):
            return {"id": command_id, method: {}}
        return _error(command_id, ERROR_METHOD_NOT_FOUND, "method not found")

    def _connect(self, command_id: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        data = params.get("data")
        if isinstance(data, str):
            with contextlib.suppress(ValueError):
                data = json.loads(data)
        sessions: Any = None
        if isinstance(data, dict):
            settings = data.get("settings")
            sessions = settings.get("sessions", []) if isinstance(settings, dict) else []
        if (
            self.connected
            or not isinstance(command_id, int)
            or command_id <= 0
            or not isinstance(data, dict)
            or not isinstance(data.get("application"), str)
            or not data["application"]
            or not isinstance(sessions, list)
            or not all(isinstance(item, str) for item in sessions)
        ):
            self.close(DISCONNECT_BAD_REQUEST, "bad request")
            return None
        self.connected = True
        self.hub.listen(self, sessions)
        settings_now = self.hub.settings
        self._tasks.append(asyncio.ensure_future(self._pinger()))
        return {
            "id": command_id,
            "connect": {
                "client": self.client_id,
                "version": settings_now.version,
                "subs": {
                    self.channel: {
                        "recoverable": True,
                        "epoch": self.epoch,
                        "positioned": True,
                        "offset": self.offset,
                    }
                },
                "ping": settings_now.ping_interval,
                "pong": settings_now.pong_required,
            },
        }

    def _rpc(self, command_id: int, params: dict[str, Any]) -> dict[str, Any]:
        method = params.get("method")
        if method != "joinSession":
            return _error(command_id, ERROR_METHOD_NOT_FOUND, "method not found")
        data = params.get("data")
        session_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(session_id, str) or not self.hub.session_exists(session_id):
            self.hub.stats["join_refusals"] += 1
            return _error(command_id, ERROR_PERMISSION_DENIED, "permission denied")
        self.hub.listen(self, [session_id])
        self.hub.stats["joins"] += 1
        return {"id": command_id, "rpc": {"data": {"success": True}}}

    def _subscribe(self, command_id: int, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel") != self.channel:
            return _error(command_id, ERROR_PERMISSION_DENIED, "permission denied")
        if self.hub.settings.strict_subscribe:
            return _error(command_id, ERROR_ALREADY_SUBSCRIBED, "already subscribed")
        return {"id": command_id, "subscribe": {}}


def _error(command_id: int, code: int, message: str) -> dict[str, Any]:
    return {"id": command_id, "error": {"code": code, "message": message}}


def default_payload(
    name: str, session_id: str, now: float, fields_given: Mapping[str, Any]
) -> dict[str, Any]:
    """The event fields TWIN documents for ``name`` (twin-api.md §5.6), overridden by ``fields_given``."""
    base: dict[str, Any]
    if name == "showTypingIndicator":
        base = {"authorType": "BOT"}
    elif name == "chatMessageCreated":
        base = {
            "id": str(uuid.uuid4()),
            "authorType": "OPERATOR",
            "authorId": str(uuid.uuid5(uuid.NAMESPACE_URL, "https://twin24.ai/emulator/operator")),
            "authorName": "Operator",
            "body": "",
            "answers": [],
            "keyboard": None,
            "createdAt": iso(now),
            "sessionId": session_id,
            "attachments": [],
            "actions": [],
            "type": "REGULAR",
        }
    elif name == "operatorChanged":
        base = {
            "operatorId": str(uuid.uuid5(uuid.NAMESPACE_URL, "https://twin24.ai/emulator/operator")),
            "operatorName": "Operator",
            "avatar": None,
            "previousOperatorId": BOT_AUTHOR_ID,
            "previousOperatorName": "Bot",
            "previousOperatorAvatar": None,
        }
    elif name == "chatMessageRead":
        base = {"messageId": str(uuid.uuid4())}
    else:
        base = {"sessionId": session_id, "chatId": None, "sessionRatingRequired": False}
    base.update(fields_given)
    return base


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
            targets = [conn for conn in self._by_session.get(session_id.lower(), ()) if not conn.closing]
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
        """Push arbitrary ``pub.data`` to the listeners of ``session_id`` (event-loop thread only)."""
        key = session_id.lower()
        listeners = [conn for conn in self._by_session.get(key, ()) if not conn.closing]
        for conn in listeners:
            conn.push(data)
        self.stats["publications"] += 1
        self.stats["deliveries"] += len(listeners)
        self.publications.append(
            {"session_id": key, "event": name, "published_at": time.time(), "connections": len(listeners)}
        )
        return len(listeners)

    def _on_session_event(self, event: SessionEvent) -> None:
        """Session store listener: runs under the state lock, possibly in another thread."""
        loop = self._loop
        if event.kind == STORE_RESET and (loop is None or loop.is_closed()):
            self.reset()
            return
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self._dispatch(event)
        else:
            loop.call_soon_threadsafe(self._dispatch, event)

    def _dispatch(self, event: SessionEvent) -> None:
        if event.kind == STORE_RESET:
            self.reset()
        elif event.kind == "session_closed":
            self.publish(event.session_id, "sessionClosed", event.data)
        elif event.kind == "bot_message":
            message = event.data.get("message")
            if isinstance(message, dict):
                self.publish(event.session_id, "chatMessageCreated", _message_event(message))

    def _ensure_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.ensure_future(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        """Publish ``sessionClosed`` for sessions whose ttl ran out (closing is lazy elsewhere)."""
        while self.connections:
            interval = self.settings.sweep_interval
            await asyncio.sleep(interval or 1.0)
            if interval:
                with self.state.lock:
                    self.state.sessions.sweep(self.state.now())


def _message_event(message: Mapping[str, Any]) -> dict[str, Any]:
    """A stored chat message as a ``chatMessageCreated`` payload (twin-api.md §5.6)."""
    actions = message.get("actions")
    return {
        "id": message.get("id"),
        "authorType": message.get("authorType"),
        "authorId": message.get("authorId"),
        "body": message.get("body") or "",
        "answers": list(message.get("answers") or []),
        "keyboard": message.get("keyboard"),
        "createdAt": message.get("createdAt"),
        "sessionId": message.get("sessionId"),
        "attachments": list(message.get("attachments") or []),
        "actions": actions if isinstance(actions, list) else [],
        "type": message.get("type") or "REGULAR",
    }


__all__ = [
    "CENTRIFUGO_PATH",
    "EVENT_NAMES",
    "STORE_RESET",
    "CentrifugoHub",
    "CentrifugoSettings",
    "WidgetConnection",
    "default_payload",
]
