"""Centrifugo's JSON protocol as TWIN uses it, written once for both realtime clients.

TWIN's websocket is a Centrifugo server (twin-api.md §5). What is TWIN-specific about it is
here: the connect payload (``application: "widget"`` and the list of sessions to listen to)
and the ``joinSession`` rpc (§5.3, §5.5). The asyncio client hands these to the official
``centrifuge-python`` SDK; the blocking client speaks the protocol itself and also uses the
framing, reply reading, disconnect codes and reconnect backoff below. Nothing here performs I/O.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_provider_twin.client.core.errors import TwinError, TwinProtocolError

#: ``data.application`` of the widget (client-side) flow; always "widget" (twin-api.md §5.3).
APPLICATION = "widget"
#: ``name`` sent on connect; TWIN's guide says always "js" (twin-api.md §5.3).
CLIENT_NAME = "js"
#: rpc method that joins a bot session on an open connection (twin-api.md §5.5).
JOIN_SESSION = "joinSession"

# Centrifugo command error codes (twin-api.md §5.9).
ERROR_PERMISSION_DENIED = 103
ERROR_METHOD_NOT_FOUND = 104
ERROR_ALREADY_SUBSCRIBED = 105
ERROR_BAD_REQUEST = 107
# Centrifugo disconnect codes (twin-api.md §5.9).
DISCONNECT_SHUTDOWN = 3001
DISCONNECT_NO_PONG = 3012
DISCONNECT_BAD_REQUEST = 3501


class TwinRealtimeError(TwinError):
    """The realtime connection failed in a way reconnecting does not fix.

    ``code`` is Centrifugo's disconnect or error code when TWIN sent one (e.g. 3501).
    """

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


def is_terminal_disconnect(code: int) -> bool:
    """True for disconnect codes after which a client must not reconnect (3500-3999, 4500-4999)."""
    return 3500 <= code < 4000 or 4500 <= code < 5000


def backoff_delay(attempt: int, minimum: float, maximum: float, rng: random.Random | None = None) -> float:
    """Seconds before reconnect attempt ``attempt`` (0-based): exponential with full jitter.

    The same policy as Centrifugo's SDKs (twin-api.md §5.8), so many clients dropped at once do
    not come back in lockstep.
    """
    ceiling = min(maximum, minimum * (2 ** min(attempt, 30)))
    return (rng or random).uniform(minimum, max(minimum, ceiling))


# -- connect and join -----------------------------------------------------------------------------
def connect_data(sessions: Iterable[str], user_id: str | None = None) -> dict[str, Any]:
    """The ``data`` of TWIN's connect command: listen to ``sessions`` (twin-api.md §5.3).

    The result is a fresh dict whose ``settings.sessions`` list the async client mutates in place,
    so every reconnect sends the sessions listened to at that moment.
    """
    settings: dict[str, Any] = {"sessions": [str(session) for session in sessions]}
    if user_id:
        settings["userId"] = user_id
    return {"application": APPLICATION, "settings": settings}


def connect_command(command_id: int, sessions: Iterable[str], user_id: str | None = None) -> dict[str, Any]:
    """A complete JSON protocol v2 connect command (for clients that speak the protocol directly)."""
    return {"id": command_id, "connect": {"data": connect_data(sessions, user_id), "name": CLIENT_NAME}}


def subscription_channels(connect_result: Mapping[str, Any]) -> list[str]:
    """The channels to subscribe to after connect: the keys of the reply's ``subs`` (seed 003).

    TWIN's guide: "Далее необходимо подписаться на доступные каналы подписки, чтобы получать в них
    события. Название канала - ключи из объектов subs". Centrifugo reads ``subs`` as server-side
    subscriptions that publish at once; the clients subscribe anyway (see :func:`subscribe_accepted`).
    """
    subs = connect_result.get("subs")
    return [str(channel) for channel in subs] if isinstance(subs, Mapping) else []


def subscribe_command(command_id: int, channel: str) -> dict[str, Any]:
    """A complete ``subscribe`` command for ``channel``."""
    return {"id": command_id, "subscribe": {"channel": channel}}


def subscribe_accepted(code: int | None) -> bool:
    """Whether a ``subscribe`` answer leaves the channel delivering (None: no error).

    ASSUMPTION (twin-api.md §7.17, §7.18): a server that already subscribed the client on the
    server side may answer 105 "already subscribed"; the channel then publishes anyway.
    """
    return code is None or code == ERROR_ALREADY_SUBSCRIBED


def join_data(session_id: str) -> dict[str, Any]:
    """The rpc ``data`` that joins ``session_id`` (twin-api.md §5.5)."""
    return {"id": session_id}


def join_command(command_id: int, session_id: str) -> dict[str, Any]:
    """A complete ``joinSession`` rpc command."""
    return {"id": command_id, "rpc": {"method": JOIN_SESSION, "data": join_data(session_id)}}


def join_succeeded(result: Any) -> bool:
    """Whether a ``joinSession`` answer means success.

    TWIN answers ``{"success": true}`` (§5.5). Only an explicit ``"success": false`` counts as a
    refusal; an answer without the key is taken as success, since the rpc did not error.
    """
    return not (isinstance(result, Mapping) and result.get("success") is False)


# -- framing (JSON protocol v2) -------------------------------------------------------------------
def encode_commands(commands: Sequence[Mapping[str, Any]]) -> str:
    """Commands as one websocket text frame: newline-delimited JSON (twin-api.md §5.2)."""
    return "\n".join(json.dumps(command, separators=(",", ":")) for command in commands)


def decode_frame(frame: str | bytes) -> list[dict[str, Any]]:
    """The replies held by one websocket frame; blank lines are skipped.

    :raises TwinProtocolError: when a line is not a JSON object.
    """
    text = frame.decode("utf-8") if isinstance(frame, bytes) else frame
    replies: list[dict[str, Any]] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            reply = json.loads(stripped)
        except ValueError as exc:
            raise TwinProtocolError(
                f"TWIN realtime sent a line that is not JSON: {stripped[:200]!r}"
            ) from exc
        if not isinstance(reply, dict):
            raise TwinProtocolError(f"TWIN realtime sent a JSON {type(reply).__name__}, not an object")
        replies.append(reply)
    return replies


def is_server_ping(reply: Mapping[str, Any]) -> bool:
    """An empty reply (no id, no push, no result) is a server ping, answered with ``{}`` (§5.7)."""
    return not reply.get("id") and not any(key for key in reply if key != "id")


def reply_error(reply: Mapping[str, Any]) -> tuple[int, str] | None:
    """``(code, message)`` of a command error reply, or None."""
    error = reply.get("error")
    if not isinstance(error, Mapping):
        return None
    code = error.get("code")
    return (int(code) if isinstance(code, int) else 0), str(error.get("message") or "")


__all__ = [
    "APPLICATION",
    "CLIENT_NAME",
    "JOIN_SESSION",
    "TwinRealtimeError",
    "backoff_delay",
    "connect_command",
    "connect_data",
    "decode_frame",
    "encode_commands",
    "is_server_ping",
    "is_terminal_disconnect",
    "join_command",
    "join_data",
    "join_succeeded",
    "reply_error",
    "subscribe_accepted",
    "subscribe_command",
    "subscription_channels",
]
