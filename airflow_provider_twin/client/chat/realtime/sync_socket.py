"""The blocking realtime client (poke and reschedule sensors), built on ``websocket-client``.

A sensor poke is short and synchronous: it checks the session over REST, then listens on a
websocket for at most the poke interval. :class:`RealtimeSocket` speaks just enough of
Centrifugo's JSON protocol v2 for that (connect, ``joinSession``, answering server pings,
reading pushes and disconnect codes), from :mod:`.centrifugo`, shared with the asyncio client.
:func:`wait_for_session_event_sync` is the poke: it drives the same
:class:`~.session_wait.SessionWait` rules as the triggerer (REST, listen, reconnect when
dropped with a REST check after each reconnect) and gives up quietly when the time is up.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import websocket

from airflow_provider_twin.client.chat.events import ChatEvent, parse_event
from airflow_provider_twin.client.chat.realtime.centrifugo import (
    TwinRealtimeError,
    backoff_delay,
    connect_command,
    decode_frame,
    encode_commands,
    is_server_ping,
    is_terminal_disconnect,
    join_command,
    join_succeeded,
    reply_error,
    subscribe_accepted,
    subscribe_command,
    subscription_channels,
)
from airflow_provider_twin.client.chat.realtime.session_wait import (
    ConnectionLost,
    Joined,
    JoinFailed,
    SessionWait,
    WaitRules,
)
from airflow_provider_twin.client.chat.session_check import check_session
from airflow_provider_twin.client.chat.wait_result import WaitResult
from airflow_provider_twin.client.core.errors import TwinProtocolError
from airflow_provider_twin.client.core.sync_client import TwinClient

if TYPE_CHECKING:
    from typing import Unpack

log = logging.getLogger("airflow_provider_twin.client.chat.realtime")

#: Extra seconds beyond TWIN's ping period before a silent link counts as dead (as the SDKs do).
MAX_SERVER_PING_DELAY = 10.0


class ConnectionDropped(Exception):
    """The websocket closed (or went silent); reconnecting may help. ``code`` is Centrifugo's."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class RealtimeSocket:
    """One blocking Centrifugo connection listening to some TWIN chat sessions.

    ::

        with RealtimeSocket(url, [session_id]) as socket:
            joined = socket.open()                # connect, subscribe, joinSession each session
            for event in socket.events(until=time.time() + 60):
                ...

    :param url: the websocket URL (``TwinEndpoints.centrifugo_url``).
    :param sessions: sessions to listen to (sent on connect and joined with ``joinSession``); at
        least one, since TWIN's connect requires ``settings.sessions`` (seed 003).
    :param user_id: the widget's ``settings.userId`` sent on connect (optional, seed 003).
    :param timeout: seconds for the handshake and for each command reply.
    """

    def __init__(
        self,
        url: str,
        sessions: Iterable[str],
        *,
        user_id: str | None = None,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.sessions = [str(session) for session in sessions]
        if not self.sessions:
            raise ValueError("a TWIN realtime connection needs at least one session (settings.sessions)")
        self.user_id = user_id
        self.timeout = timeout
        self.client_id: str | None = None
        self.ping_interval = 0.0
        self._clock = clock
        self._ws: Any = None
        self._next_id = 0
        self._pending: deque[ChatEvent] = deque()
        self._last_seen = clock()

    # -- lifecycle -----------------------------------------------------------------------------------
    def open(self) -> dict[str, str | None]:
        """Connect and join every session; returns ``{session: None | why the join failed}``.

        :raises TwinRealtimeError: TWIN refused the connection for good (terminal code).
        :raises ConnectionDropped: the connection failed or closed; worth another attempt.
        """
        try:
            self._ws = websocket.create_connection(self.url, timeout=self.timeout, enable_multithread=False)
        except websocket.WebSocketBadStatusException as exc:
            raise ConnectionDropped(f"TWIN realtime refused the websocket: {exc}") from exc
        except (websocket.WebSocketException, OSError) as exc:
            raise ConnectionDropped(f"cannot reach TWIN realtime at {self.url}: {exc}") from exc
        self._last_seen = self._clock()
        reply = self._command(connect_command(self._take_id(), self.sessions, self.user_id), "connect")
        result = reply.get("connect")
        if not isinstance(result, dict):
            raise TwinProtocolError("TWIN realtime answered connect without a result")
        self.client_id = str(result.get("client") or "")
        ping = result.get("ping")
        self.ping_interval = (
            float(ping) if isinstance(ping, (int, float)) and not isinstance(ping, bool) else 0.0
        )
        refused = [why for channel in subscription_channels(result) if (why := self._subscribe(channel))]
        joins: dict[str, str | None] = {}
        for session_id in self.sessions:
            joins[session_id] = "; ".join(refused) or self._join(session_id)
        return joins

    def close(self) -> None:
        """Close the websocket (idempotent)."""
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(websocket.WebSocketException, OSError):
                ws.close(timeout=1.0)

    def __enter__(self) -> RealtimeSocket:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------------
    def events(self, until: float) -> Iterator[ChatEvent]:
        """Chat events as they arrive, until the epoch time ``until`` (then it just ends).

        :raises ConnectionDropped: the connection closed or went silent for longer than TWIN's
            ping period plus :data:`MAX_SERVER_PING_DELAY`.
        :raises TwinRealtimeError: TWIN closed it with a terminal code.
        """
        while True:
            while self._pending:
                yield self._pending.popleft()
            if self._clock() >= until:
                return
            for reply in self._receive(until):
                self._dispatch(reply)

    def _subscribe(self, channel: str) -> str | None:
        """Subscribe to a channel of the connect reply's ``subs``; None, or why it was refused."""
        try:
            self._command(subscribe_command(self._take_id(), channel), "subscribe")
        except _CommandError as exc:
            if subscribe_accepted(exc.code):
                return None  # already subscribed on the server side: it publishes anyway
            log.warning("TWIN realtime: subscribe to %s refused: %s", channel, exc)
            return f"subscribe to {channel} refused: {exc}"
        return None

    def _join(self, session_id: str) -> str | None:
        try:
            reply = self._command(join_command(self._take_id(), session_id), "rpc")
        except _CommandError as exc:
            log.warning("TWIN realtime: joinSession %s refused: %s", session_id, exc)
            return str(exc)
        data = reply.get("rpc", {}).get("data") if isinstance(reply.get("rpc"), dict) else None
        if not join_succeeded(data):
            return f"joinSession answered {data!r}"
        return None

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _command(self, command: dict[str, Any], kind: str) -> dict[str, Any]:
        """Send one command and read until its reply; pushes meanwhile are kept for later."""
        command_id = command["id"]
        self._send(encode_commands([command]))
        deadline = self._clock() + self.timeout
        while True:
            if self._clock() >= deadline:
                raise ConnectionDropped(f"TWIN realtime did not answer {kind} within {self.timeout} s")
            for reply in self._receive(deadline):
                if reply.get("id") == command_id:
                    error = reply_error(reply)
                    if error is not None:
                        raise _CommandError(kind, *error)
                    return reply
                self._dispatch(reply)

    def _dispatch(self, reply: dict[str, Any]) -> None:
        if is_server_ping(reply):
            self._send("{}")
            return
        push = reply.get("push")
        if not isinstance(push, dict):
            return
        disconnect = push.get("disconnect")
        if isinstance(disconnect, dict):
            self._closed(int(disconnect.get("code") or 0), str(disconnect.get("reason") or ""))
        pub = push.get("pub")
        if isinstance(pub, dict):
            offset = pub.get("offset")
            event = parse_event(
                pub.get("data"),
                channel=str(push.get("channel") or ""),
                offset=offset if isinstance(offset, int) else 0,
            )
            if event is not None:
                self._pending.append(event)

    def _receive(self, until: float) -> list[dict[str, Any]]:
        """The replies of the next frame, or [] when ``until`` (or the ping window) passes first."""
        ws = self._ws
        if ws is None:
            raise ConnectionDropped("the websocket is closed")
        now = self._clock()
        silent_limit = (
            self._last_seen + self.ping_interval + MAX_SERVER_PING_DELAY
            if self.ping_interval
            else float("inf")
        )
        if now >= silent_limit:
            raise ConnectionDropped("TWIN realtime went silent (no ping)")
        ws.settimeout(max(0.01, min(until, silent_limit) - now))
        try:
            opcode, data = ws.recv_data()
        except websocket.WebSocketTimeoutException:
            return []
        except (websocket.WebSocketException, OSError) as exc:
            raise ConnectionDropped(f"TWIN realtime connection lost: {exc}") from exc
        self._last_seen = self._clock()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raw = data if isinstance(data, bytes) else str(data).encode()
            code = int.from_bytes(raw[:2], "big") if len(raw) >= 2 else 1005
            self._closed(code, raw[2:].decode("utf-8", "replace"))
        return decode_frame(data)

    def _closed(self, code: int, reason: str) -> None:
        self.close()
        text = f"TWIN realtime closed the connection: {code} {reason}".rstrip()
        if is_terminal_disconnect(code):
            raise TwinRealtimeError(text, code=code)
        raise ConnectionDropped(text, code)

    def _send(self, text: str) -> None:
        ws = self._ws
        if ws is None:
            raise ConnectionDropped("the websocket is closed")
        try:
            ws.send(text)
        except (websocket.WebSocketException, OSError) as exc:
            raise ConnectionDropped(f"TWIN realtime connection lost: {exc}") from exc


class _CommandError(Exception):
    def __init__(self, kind: str, code: int, message: str) -> None:
        super().__init__(f"{kind} error {code}: {message}")
        self.code = code


def wait_for_session_event_sync(
    rest: TwinClient,
    url: str,
    session_id: str,
    *,
    until: float,
    precheck: bool = True,
    timeout: float = 5.0,
    min_reconnect_delay: float = 0.5,
    max_reconnect_delay: float = 10.0,
    user_id: str | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    **rules: Unpack[WaitRules],
) -> WaitResult | None:
    """Check REST, then listen until ``until`` (epoch seconds); None when nothing happened.

    Reconnects (jittered backoff) when the websocket drops, and after every (re)connect asks REST
    again, so a close published while not listening is still seen. Returns an ``error`` result
    for an unknown session, refused credentials or a terminal disconnect; transient REST trouble
    only means "unknown" (asked again a little later, or by the next poke).

    :param user_id: the widget's ``settings.userId`` sent on connect (optional).
    :param rules: ``events``, ``closed_statuses``, ``recheck_interval``, ``fallback_interval``
        (:class:`~.session_wait.SessionWait`); a poke listens briefly, so by default REST is asked
        after each (re)connect only, not on timers.
    """
    rules = {"recheck_interval": math.inf, "fallback_interval": math.inf, **rules}
    wait = SessionWait(session_id, deadline=until, now=clock(), **rules)

    def rest_check() -> WaitResult | None:
        return wait.checked(rest.run(check_session(session_id, wait.closed_statuses)), clock())

    if precheck and (found := rest_check()) is not None:
        return found
    attempt = connects = 0
    rng = random.Random()
    while clock() < until:
        socket = RealtimeSocket(
            url,
            [session_id],
            user_id=user_id,
            timeout=min(timeout, max(0.5, until - clock())),
            clock=clock,
        )
        try:
            refused = socket.open()[session_id]
            if refused:
                log.warning("listening to chat session %s without joinSession: %s", session_id, refused)
            attempt, connects = 0, connects + 1
            wait.receive(JoinFailed(refused) if refused else Joined(connects), clock())
            if (found := rest_check()) is not None:
                return found
            while True:
                for event in socket.events(min(until, wait.wake_at)):
                    step = wait.receive(event, clock())
                    if isinstance(step, WaitResult):
                        return step
                if clock() >= until:
                    return None
                if wait.receive(None, clock()) is True and (found := rest_check()) is not None:
                    return found
        except TwinRealtimeError as exc:
            return wait.stopped(str(exc))
        except (ConnectionDropped, TwinProtocolError) as exc:
            wait.receive(ConnectionLost(str(exc)), clock())
            delay = min(
                backoff_delay(attempt, min_reconnect_delay, max_reconnect_delay, rng), until - clock()
            )
            attempt += 1
            log.warning("%s; reconnecting in %.1f s", exc, max(delay, 0.0))
            if delay > 0:
                sleep(delay)
        finally:
            socket.close()
    return None


__all__ = [
    "ConnectionDropped",
    "RealtimeSocket",
    "wait_for_session_event_sync",
]
