"""One websocket client of the emulated Centrifugo: its commands, its outgoing queue and its pings.

Outgoing data is queued per connection and written by one task that batches whatever is queued into
one frame (newline-delimited), so a burst of events for a thousand sessions on one connection costs a
handful of frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from .centrifugo_protocol import (
    DISCONNECT_BAD_REQUEST,
    DISCONNECT_INAPPROPRIATE_PROTOCOL,
    DISCONNECT_NO_PONG,
    ERROR_ALREADY_SUBSCRIBED,
    ERROR_METHOD_NOT_FOUND,
    ERROR_PERMISSION_DENIED,
    PROTOBUF_SUBPROTOCOL,
    command_method,
    connect_reply,
    connect_sessions,
    dumps,
    error_reply,
    frame_commands,
    push_line,
    subscribe_result,
    valid_command_id,
)

if TYPE_CHECKING:
    from .centrifugo_hub import CentrifugoHub

#: Most frames the writer joins into one websocket message.
MAX_BATCH = 1000


class _Close:
    """Queue item: close the websocket with ``code`` and ``reason`` after what is queued before it."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


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
        self.strict = False
        # Lenient: the channel in the connect reply's ``subs`` is a server-side subscription, live
        # at once. Strict (seed 003: subscribe to the channels named by the keys of ``subs``): no
        # publication reaches the client until it subscribes.
        self.subscribed = True
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

    def push(self, data: Any) -> bool:
        """Queue a publication on the connection's channel; False when the client does not get it
        (closing, or not subscribed in strict mode: Centrifugo keeps nothing for later)."""
        if self.closing or not self.subscribed:
            return False
        self.offset += 1
        self.send(push_line(self.channel, data, self.offset))
        return True

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
        protobuf = PROTOBUF_SUBPROTOCOL in (self.websocket.scope.get("subprotocols") or [])
        # Only the JSON protocol is emulated: a Protobuf client is accepted, then told why not.
        await self.websocket.accept(subprotocol=PROTOBUF_SUBPROTOCOL if protobuf else None)
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
        for command in frame_commands(text):
            if command is None:
                self.close(DISCONNECT_BAD_REQUEST, "bad request")
                return
            reply = self._handle_command(command)
            if self.closing:
                break
            if reply is not None:
                replies.append(dumps(reply))
        for reply_line in replies:
            self.send(reply_line)

    def _handle_command(self, command: dict[str, Any]) -> dict[str, Any] | None:
        command_id = command.get("id")
        method, params = command_method(command)
        if method is None:
            # An empty command answers a server ping (twin-api.md §5.7).
            self._pong.set()
            self.hub.stats["pongs"] += 1
            return None
        if method == "connect":
            return self._connect(command_id, params)
        if not self.connected:
            self.close(DISCONNECT_BAD_REQUEST, "bad request")
            return None
        if method == "send":
            return None
        if not valid_command_id(command_id):
            self.close(DISCONNECT_BAD_REQUEST, "bad request")
            return None
        if method == "rpc":
            return self._rpc(command_id, params)
        if method == "subscribe":
            return self._subscribe(command_id, params)
        if method == "unsubscribe":
            if self.strict and params.get("channel") == self.channel:
                self.subscribed = False
            return {"id": command_id, method: {}}
        if method == "ping":
            return {"id": command_id, method: {}}
        return error_reply(command_id, ERROR_METHOD_NOT_FOUND, "method not found")

    def _connect(self, command_id: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        # The connection keeps the mode it connected in (docs/emulator.md, "Strict mode").
        self.strict = self.hub.state.settings.strict
        sessions = connect_sessions(params, strict=self.strict)
        # A connect the server cannot accept ends the connection: 3501 "bad request", the code
        # Centrifugo gives a malformed connect, terminal so a client does not retry it as it is.
        if self.connected or not valid_command_id(command_id) or sessions is None:
            self.close(DISCONNECT_BAD_REQUEST, "bad request")
            return None
        self.connected = True
        self.subscribed = not self.strict
        self.hub.listen(self, sessions)
        settings_now = self.hub.settings
        self._tasks.append(asyncio.ensure_future(self._pinger()))
        return connect_reply(
            command_id,
            client_id=self.client_id,
            version=settings_now.version,
            channel=self.channel,
            epoch=self.epoch,
            offset=self.offset,
            ping_interval=settings_now.ping_interval,
            pong_required=settings_now.pong_required,
        )

    def _rpc(self, command_id: int, params: dict[str, Any]) -> dict[str, Any]:
        method = params.get("method")
        if method != "joinSession":
            return error_reply(command_id, ERROR_METHOD_NOT_FOUND, "method not found")
        data = params.get("data")
        session_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(session_id, str) or not self.hub.session_exists(session_id):
            self.hub.stats["join_refusals"] += 1
            return error_reply(command_id, ERROR_PERMISSION_DENIED, "permission denied")
        self.hub.listen(self, [session_id])
        self.hub.stats["joins"] += 1
        return {"id": command_id, "rpc": {"data": {"success": True}}}

    def _subscribe(self, command_id: int, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel") != self.channel:
            # Only the channel the connect reply named is the client's (103, Centrifugo's answer).
            return error_reply(command_id, ERROR_PERMISSION_DENIED, "permission denied")
        if self.strict:
            # A client-side subscription, as seed 003 describes it: publications flow from now on.
            if self.subscribed:
                return error_reply(command_id, ERROR_ALREADY_SUBSCRIBED, "already subscribed")
            self.subscribed = True
            return {"id": command_id, "subscribe": subscribe_result(self.epoch, self.offset)}
        if self.hub.settings.strict_subscribe:
            return error_reply(command_id, ERROR_ALREADY_SUBSCRIBED, "already subscribed")
        return {"id": command_id, "subscribe": {}}


__all__ = ["MAX_BATCH", "WidgetConnection"]
