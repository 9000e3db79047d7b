"""TWIN's realtime conventions on top of Centrifugo, written once for both realtime clients.

TWIN pushes live chat events (bot and operator messages, typing, operator changes, session
closes) over a Centrifugo websocket (twin-api.md §5). Centrifugo itself is generic; what is
TWIN-specific lives here and is shared by the asyncio client
(:mod:`.realtime_async`, built on the official ``centrifuge-python`` SDK) and the blocking one
(:mod:`.realtime_sync`, built on ``websocket-client``):

* the connect payload (``application: "widget"`` and the list of sessions to listen to) and
  the ``joinSession`` rpc (§5.3, §5.5);
* parsing a publication into a :class:`ChatEvent`, tolerant of the envelope variants TWIN may
  use (§7.16);
* :class:`EventFilter`: which events end a wait, as plain JSON for triggers;
* :class:`WaitResult`: the outcome of a wait, and reading "closed" from the REST session object;
* the bits of Centrifugo's JSON protocol the blocking client needs (framing, codes, backoff).

Nothing here performs I/O.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_twin.client.core.errors import (
    TwinError,
    TwinInputError,
    TwinNotFoundError,
    TwinProtocolError,
    error_summary,
    is_transient,
)

#: ``data.application`` of the widget (client-side) flow; always "widget" (twin-api.md §5.3).
APPLICATION = "widget"
#: ``name`` sent on connect; TWIN's guide says always "js" (twin-api.md §5.3).
CLIENT_NAME = "js"
#: rpc method that joins a bot session on an open connection (twin-api.md §5.5).
JOIN_SESSION = "joinSession"

SHOW_TYPING_INDICATOR = "showTypingIndicator"
CHAT_MESSAGE_CREATED = "chatMessageCreated"
OPERATOR_CHANGED = "operatorChanged"
CHAT_MESSAGE_READ = "chatMessageRead"
SESSION_CLOSED = "sessionClosed"

#: Every event TWIN documents (twin-api.md §5.6).
EVENT_NAMES: tuple[str, ...] = (
    SHOW_TYPING_INDICATOR,
    CHAT_MESSAGE_CREATED,
    OPERATOR_CHANGED,
    CHAT_MESSAGE_READ,
    SESSION_CLOSED,
)
_CANONICAL_NAMES = {name.lower(): name for name in EVENT_NAMES}

#: Events whose payload names their session (``sessionId`` is a required field, §5.6). Other
#: events can only be told apart on a connection that listens to one session.
SESSION_SCOPED_EVENTS: frozenset[str] = frozenset({CHAT_MESSAGE_CREATED, SESSION_CLOSED})

#: Session ``status`` values that mean "closed" over REST. ASSUMPTION (twin-api.md §7.15): TWIN
#: does not document the enum; the emulator uses OPEN/CLOSED.
CLOSED_STATUSES: tuple[str, ...] = ("CLOSED",)

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


# -- events -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChatEvent:
    """One TWIN chat event received over the websocket.

    :param name: the event name (one of :data:`EVENT_NAMES`, or a name TWIN added later).
    :param payload: the event fields (twin-api.md §5.6).
    :param session_id: the session the event belongs to, when the event says so.
    :param channel: the Centrifugo channel it came from.
    :param offset: the publication's position in that channel.
    """

    name: str
    payload: dict[str, Any]
    session_id: str | None = None
    channel: str = ""
    offset: int = 0

    def to_json(self) -> dict[str, Any]:
        """A plain-JSON form (for logs and trigger events)."""
        return {
            "event": self.name,
            "payload": self.payload,
            "session_id": self.session_id,
            "channel": self.channel,
            "offset": self.offset,
        }


def _canonical(name: str) -> str:
    return _CANONICAL_NAMES.get(name.lower(), name)


def _unwrap(data: Any) -> Any:
    """Publication data may arrive double-encoded as a JSON string; decode it once."""
    if isinstance(data, (str, bytes)):
        try:
            return json.loads(data)
        except ValueError:
            return None
    return data


def parse_event(data: Any, *, channel: str = "", offset: int = 0) -> ChatEvent | None:
    """Read a publication's ``data`` as a TWIN chat event, or None when it is not one.

    ASSUMPTION (twin-api.md §7.16): TWIN does not document how the event name is carried. The
    documented guess is ``{"event": name, "payload": {...}}``; also accepted are
    ``{"type": name, "data": {...}}``, mixed forms (``event`` + ``data``, ``type`` + ``payload``)
    and a flat object ``{"event": name, ...fields}``. A flat object keyed by ``type`` is read as
    an event only when the value is a known event name, because ``chatMessageCreated`` has a
    ``type`` field of its own (REGULAR/TERMINAL). The session is the payload's ``sessionId``, else
    one at the envelope level.
    """
    body = _unwrap(data)
    if not isinstance(body, dict):
        return None
    nested = next(
        (body[key] for key in ("payload", "data") if isinstance(body.get(key), dict)),
        None,
    )
    name: Any = body.get("event")
    if isinstance(name, str) and name:
        payload = nested if nested is not None else {k: v for k, v in body.items() if k != "event"}
    else:
        kind = body.get("type")
        if not isinstance(kind, str) or not kind:
            return None
        if nested is not None:
            name, payload = kind, nested
        elif kind.lower() in _CANONICAL_NAMES:
            name, payload = kind, {k: v for k, v in body.items() if k != "type"}
        else:
            return None
    session = payload.get("sessionId")
    if not isinstance(session, str) or not session:
        session = body.get("sessionId")
    return ChatEvent(
        name=_canonical(name),
        payload=dict(payload),
        session_id=session if isinstance(session, str) and session else None,
        channel=channel,
        offset=offset,
    )


def _field_matches(actual: Any, expected: Any) -> bool:
    if isinstance(expected, (list, tuple)):
        return any(_field_matches(actual, option) for option in expected)
    if isinstance(expected, str) and isinstance(actual, str):
        return actual.lower() == expected.lower()
    return bool(actual == expected)


@dataclass(frozen=True)
class EventRule:
    """Finish a wait on event ``event`` whose payload fields equal ``match``.

    A list in ``match`` means "any of"; strings compare case-insensitively. Example: the bot's
    last message, ``EventRule("chatMessageCreated", {"type": "TERMINAL"})``.
    """

    event: str
    match: Mapping[str, Any] = field(default_factory=dict)

    def matches(self, event: ChatEvent) -> bool:
        """True when ``event`` is this rule's event and every ``match`` field agrees."""
        if event.name != self.event:
            return False
        return all(_field_matches(event.payload.get(key), value) for key, value in self.match.items())

    def to_json(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"event": self.event}
        if self.match:
            rule["match"] = dict(self.match)
        return rule


EventSpec = str | Mapping[str, Any]


@dataclass(frozen=True)
class EventFilter:
    """Which events end a wait. ``sessionClosed`` always does; ``rules`` add others.

    Build it from user input with :meth:`from_specs`: event names (``"chatMessageCreated"``) or
    objects ``{"event": "chatMessageCreated", "match": {"type": "TERMINAL"}}``. Its JSON form
    (:meth:`to_json`) is what a trigger serializes.
    """

    rules: tuple[EventRule, ...] = ()

    @classmethod
    def from_specs(cls, specs: EventSpec | Iterable[EventSpec] | None) -> EventFilter:
        """Parse event specs (None, one spec, or a list); a JSON string of them is accepted too.

        :raises TwinInputError: naming each unusable spec (unknown event names included, so a
            typo fails when the DAG is parsed rather than waiting forever).
        """
        if specs is None or specs == "":
            return cls()
        if isinstance(specs, str) and specs.lstrip().startswith(("[", "{")):
            try:
                specs = json.loads(specs)
            except ValueError as exc:
                raise TwinInputError(f"events is not valid JSON: {exc}") from None
        items: list[Any] = [specs] if isinstance(specs, (str, Mapping)) else list(specs)
        problems: list[str] = []
        rules: list[EventRule] = []
        for index, spec in enumerate(items):
            rule = _rule(spec, index, problems)
            if rule is not None and rule.event != SESSION_CLOSED:
                rules.append(rule)
        if problems:
            raise TwinInputError("invalid events: " + "; ".join(problems), problems)
        return cls(tuple(rules))

    @classmethod
    def from_json(cls, value: Any) -> EventFilter:
        """Inverse of :meth:`to_json`."""
        return cls.from_specs(value)

    def to_json(self) -> list[dict[str, Any]]:
        return [rule.to_json() for rule in self.rules]

    def finishes(self, event: ChatEvent) -> bool:
        """True when ``event`` ends the wait."""
        return event.name == SESSION_CLOSED or any(rule.matches(event) for rule in self.rules)

    @property
    def names(self) -> tuple[str, ...]:
        """Event names that end the wait, ``sessionClosed`` first."""
        return (SESSION_CLOSED, *dict.fromkeys(rule.event for rule in self.rules))

    @property
    def needs_own_connection(self) -> bool:
        """True when some awaited event does not name its session in the payload.

        Such events (typing, operator changes, read receipts) can only be attributed on a
        connection that listens to one session, so the wait cannot share a connection.
        """
        return any(rule.event not in SESSION_SCOPED_EVENTS for rule in self.rules)


def _rule(spec: Any, index: int, problems: list[str]) -> EventRule | None:
    where = f"events[{index}]"
    match: Any = {}
    if isinstance(spec, str):
        name = spec.strip()
    elif isinstance(spec, Mapping):
        unknown = sorted(set(spec) - {"event", "match"})
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (use 'event' and 'match')")
            return None
        given, match = spec.get("event"), spec.get("match") or {}
        if not isinstance(given, str):
            problems.append(f"{where}: 'event' must be an event name")
            return None
        name = given
        if not isinstance(match, Mapping) or not all(isinstance(key, str) for key in match):
            problems.append(f"{where}: 'match' must be an object of payload field -> value")
            return None
    else:
        problems.append(f"{where}: expected an event name or an object, got {type(spec).__name__}")
        return None
    canonical = _CANONICAL_NAMES.get(name.lower())
    if canonical is None:
        problems.append(f"{where}: unknown event {name!r}; TWIN events are {', '.join(EVENT_NAMES)}")
        return None
    return EventRule(canonical, dict(match))


# -- wait outcome -----------------------------------------------------------------------------------
WaitStatus = Literal["closed", "event", "timeout", "error"]


@dataclass(frozen=True)
class WaitResult:
    """How a wait for a session's events ended.

    :param status: ``closed`` (the session closed), ``event`` (another awaited event arrived),
        ``timeout`` (the deadline passed) or ``error``.
    :param event: the event name (``sessionClosed`` for a close seen over REST too).
    :param payload: the event's payload; for a close seen over REST it is built from the session
        object: ``sessionId``, ``chatId`` and ``sessionRatingRequired`` (None when TWIN's session
        object does not carry it).
    :param source: ``websocket`` or ``rest``: how the outcome was learnt.
    :param message: a sentence for the task log.
    :param error: for ``error`` results, what failed: ``not_found`` (no such session, retrying
        cannot help), ``rest`` (the REST check was refused), ``realtime`` (TWIN closed the
        websocket for good) or ``internal``.
    """

    status: WaitStatus
    session_id: str
    event: str | None = None
    payload: dict[str, Any] | None = None
    source: str = ""
    message: str = ""
    error: str | None = None

    def to_event(self) -> dict[str, Any]:
        """The plain-JSON trigger event payload."""
        return {
            "status": self.status,
            "session_id": self.session_id,
            "event": self.event,
            "payload": self.payload,
            "source": self.source,
            "message": self.message,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> WaitResult:
        """Inverse of :meth:`to_event` (unknown statuses read as ``error``)."""
        status = value.get("status")
        payload = value.get("payload")
        return cls(
            status=status if status in ("closed", "event", "timeout", "error") else "error",
            session_id=str(value.get("session_id") or ""),
            event=value.get("event") if isinstance(value.get("event"), str) else None,
            payload=dict(payload) if isinstance(payload, Mapping) else None,
            source=str(value.get("source") or ""),
            message=str(value.get("message") or ""),
            error=str(value["error"]) if value.get("error") else None,
        )

    @classmethod
    def from_event(cls, event: ChatEvent, session_id: str) -> WaitResult:
        """The result for an awaited websocket event."""
        status: WaitStatus = "closed" if event.name == SESSION_CLOSED else "event"
        return cls(
            status=status,
            session_id=session_id,
            event=event.name,
            payload=dict(event.payload),
            source="websocket",
            message=f"chat session {session_id}: {event.name} received",
        )


def closed_result(
    session_id: str, info: Mapping[str, Any], closed_statuses: Iterable[str] = CLOSED_STATUSES
) -> WaitResult | None:
    """The "closed" result when the REST session object says the session is closed, else None.

    The payload mirrors the ``sessionClosed`` event (twin-api.md §5.6) so downstream tasks read
    the same keys whichever way the close was seen.
    """
    status = str(info.get("status") or "").upper()
    if status not in {value.upper() for value in closed_statuses}:
        return None
    rating = info.get("sessionRatingRequired")
    payload = {
        "sessionId": str(info.get("id") or session_id),
        "chatId": info.get("chatId"),
        "sessionRatingRequired": rating if isinstance(rating, bool) else None,
    }
    return WaitResult(
        status="closed",
        session_id=session_id,
        event=SESSION_CLOSED,
        payload=payload,
        source="rest",
        message=f"chat session {session_id} is {status} (checked over REST)",
    )


def check_failure(session_id: str, exc: TwinError) -> WaitResult | None:
    """The error result for a failed REST check, or None when trying again later may help.

    Rate limits, TWIN 5xx answers and network trouble (after the client's own retries) are
    transient; an unknown session and refused credentials or requests are not.
    """
    if isinstance(exc, TwinNotFoundError):
        return error_result(
            session_id, f"chat session {session_id} does not exist (HTTP 404)", ERROR_NOT_FOUND
        )
    if is_transient(exc):
        return None
    return error_result(
        session_id, f"checking chat session {session_id} failed: {error_summary(exc)}", ERROR_REST
    )


def timeout_result(session_id: str, deadline_iso: str, names: Sequence[str]) -> WaitResult:
    """The result for a wait whose deadline passed."""
    return WaitResult(
        status="timeout",
        session_id=session_id,
        message=f"timed out at {deadline_iso} waiting for {' or '.join(names)} of chat session {session_id}",
    )


#: Kinds of :attr:`WaitResult.error`.
ERROR_NOT_FOUND = "not_found"
ERROR_REST = "rest"
ERROR_REALTIME = "realtime"
ERROR_INTERNAL = "internal"


def error_result(session_id: str, message: str, error: str = ERROR_INTERNAL) -> WaitResult:
    """The result for a wait that failed; ``error`` says what failed (``ERROR_*``)."""
    return WaitResult(status="error", session_id=session_id, message=message, error=error)


__all__ = [
    "APPLICATION",
    "CHAT_MESSAGE_CREATED",
    "CHAT_MESSAGE_READ",
    "CLIENT_NAME",
    "CLOSED_STATUSES",
    "ERROR_INTERNAL",
    "ERROR_NOT_FOUND",
    "ERROR_REALTIME",
    "ERROR_REST",
    "EVENT_NAMES",
    "JOIN_SESSION",
    "OPERATOR_CHANGED",
    "SESSION_CLOSED",
    "SESSION_SCOPED_EVENTS",
    "SHOW_TYPING_INDICATOR",
    "ChatEvent",
    "EventFilter",
    "EventRule",
    "TwinRealtimeError",
    "WaitResult",
    "backoff_delay",
    "check_failure",
    "closed_result",
    "connect_command",
    "connect_data",
    "decode_frame",
    "encode_commands",
    "error_result",
    "is_server_ping",
    "is_terminal_disconnect",
    "join_command",
    "join_data",
    "join_succeeded",
    "parse_event",
    "reply_error",
    "timeout_result",
]
