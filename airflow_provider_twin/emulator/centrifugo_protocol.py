"""Centrifugo JSON protocol v2 as TWIN's realtime websocket speaks it (twin-api.md §5): frames,
commands, replies, pushes and the codes they carry.

What is emulated, per connection:

* the first command must be ``connect`` with ``data.application`` (else disconnect 3501 "bad
  request", ASSUMPTION §7.20) and ``data.settings.sessions``, the sessions to listen to (may be
  empty; strict mode asks for what seed 003 asks: ``application`` "widget", ``name`` "js" and at
  least one session, else the same 3501); the reply carries the client id, ``version``, one
  server-side subscription ``widget:<uuid per connection>`` in ``subs`` (ASSUMPTION §7.17) and
  ``ping``/``pong``;
* rpc ``joinSession`` ``{"id": <session>}`` adds a session (``{"success": true}``; unknown
  session → error 103, joining twice succeeds, ASSUMPTION §7.19); other rpc methods → 104;
* the channel in ``subs`` is a server-side subscription, live at once; ``subscribe`` to it answers
  ``{}``, or error 105 with the ``strict_subscribe`` websocket setting (ASSUMPTION §7.18). In strict
  mode (seed 003: "subscribe to the channels named by the keys of subs") nothing is published on it
  until the client subscribes; the subscribe answers the stream position, a second one 105 and
  ``unsubscribe`` stops the publications again. Other channels → 103; ``unsubscribe`` answers ``{}``;
* every ``ping`` seconds the server sends ``{}`` and expects ``{}`` back within ``pong_timeout``
  seconds, else it disconnects with 3012 "no pong" (ASSUMPTION §7.21);
* pushes ``{"push":{"channel":...,"pub":{"data":<envelope>,"offset":n}}}`` where the envelope is
  ``{"event": name, "payload": {...}}`` (ASSUMPTION §7.16; the key names, or a flat envelope,
  are settings so clients can be tested against the variants).

A frame holds one JSON command per line; several replies or pushes may share one outgoing frame.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any, TypeGuard

#: Path of TWIN's websocket (twin-api.md §5.1).
CENTRIFUGO_PATH = "/centrifugo/connection/websocket"

#: The subprotocol of Centrifugo's Protobuf clients (only the JSON protocol is emulated).
PROTOBUF_SUBPROTOCOL = "centrifuge-protobuf"

# Centrifugo codes used here (twin-api.md §5.9).
ERROR_PERMISSION_DENIED = 103
ERROR_METHOD_NOT_FOUND = 104
ERROR_ALREADY_SUBSCRIBED = 105
ERROR_BAD_REQUEST = 107
DISCONNECT_SHUTDOWN = 3001
DISCONNECT_NO_PONG = 3012
DISCONNECT_BAD_REQUEST = 3501
DISCONNECT_INAPPROPRIATE_PROTOCOL = 3506


def dumps(value: Any) -> str:
    """One protocol line: compact JSON."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def frame_commands(text: str) -> Iterator[dict[str, Any] | None]:
    """The commands of an incoming frame, in order; None for a line that is not a JSON object.

    Nothing is read after a bad line: the connection is closed then.
    """
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            command = json.loads(line)
        except ValueError:
            yield None
            return
        yield command if isinstance(command, dict) else None


def command_method(command: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The method of a command and its parameters; no method means the command answers a ping."""
    methods = [key for key, value in command.items() if key != "id" and value is not None]
    if not methods:
        return None, {}
    method = methods[0]
    params = command[method] if isinstance(command[method], dict) else {}
    return method, params


def valid_command_id(command_id: object) -> TypeGuard[int]:
    """Whether ``command_id`` can be answered: a positive integer."""
    return isinstance(command_id, int) and command_id > 0


#: What seed 003 says a widget's connect carries: ``data.application`` "always widget", ``name``
#: "always js" and ``data.settings.sessions`` "REQUIRED. Идентификатор сессии бота" (the bot session
#: ids to listen to). Strict mode holds clients to it.
WIDGET_APPLICATION = "widget"
WIDGET_CLIENT_NAME = "js"


def connect_sessions(params: dict[str, Any], *, strict: bool = False) -> list[str] | None:
    """The sessions a ``connect`` asks to listen to, or None when the request is bad.

    Lenient (ASSUMPTION §7.20): any non-empty ``data.application``; ``sessions`` may be absent or
    empty (sessions can be joined later with ``joinSession``). Strict (seed 003): ``application``
    must be "widget", ``name`` "js", and ``settings.sessions`` must name at least one session.
    """
    data = params.get("data")
    if isinstance(data, str):
        with contextlib.suppress(ValueError):
            data = json.loads(data)
    if not isinstance(data, dict):
        return None
    settings = data.get("settings")
    sessions = settings.get("sessions", []) if isinstance(settings, dict) else []
    if (
        not isinstance(data.get("application"), str)
        or not data["application"]
        or not isinstance(sessions, list)
        or not all(isinstance(item, str) for item in sessions)
    ):
        return None
    if strict and (
        data["application"] != WIDGET_APPLICATION
        or params.get("name") != WIDGET_CLIENT_NAME
        or not isinstance(settings, dict)
        or not sessions
        or not all(sessions)
    ):
        return None
    return sessions


def connect_reply(
    command_id: int,
    *,
    client_id: str,
    version: str,
    channel: str,
    epoch: str,
    offset: int,
    ping_interval: int,
    pong_required: bool,
) -> dict[str, Any]:
    """The reply to ``connect``, with the connection's own server-side subscription (§7.17)."""
    return {
        "id": command_id,
        "connect": {
            "client": client_id,
            "version": version,
            "subs": {channel: subscribe_result(epoch, offset)},
            "ping": ping_interval,
            "pong": pong_required,
        },
    }


def subscribe_result(epoch: str, offset: int) -> dict[str, Any]:
    """The result of a granted ``subscribe``: the channel's stream position, as in ``subs``."""
    return {"recoverable": True, "epoch": epoch, "positioned": True, "offset": offset}


def push_line(channel: str, data: Any, offset: int) -> str:
    """A publication on ``channel`` as one protocol line."""
    return dumps({"push": {"channel": channel, "pub": {"data": data, "offset": offset}}})


def error_reply(command_id: int, code: int, message: str) -> dict[str, Any]:
    return {"id": command_id, "error": {"code": code, "message": message}}


__all__ = [
    "CENTRIFUGO_PATH",
    "DISCONNECT_BAD_REQUEST",
    "DISCONNECT_INAPPROPRIATE_PROTOCOL",
    "DISCONNECT_NO_PONG",
    "DISCONNECT_SHUTDOWN",
    "ERROR_ALREADY_SUBSCRIBED",
    "ERROR_BAD_REQUEST",
    "ERROR_METHOD_NOT_FOUND",
    "ERROR_PERMISSION_DENIED",
    "WIDGET_APPLICATION",
    "WIDGET_CLIENT_NAME",
    "command_method",
    "connect_reply",
    "connect_sessions",
    "dumps",
    "error_reply",
    "frame_commands",
    "push_line",
    "subscribe_result",
    "valid_command_id",
]
