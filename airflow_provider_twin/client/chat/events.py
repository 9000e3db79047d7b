"""TWIN chat events: their names, how a publication is read as one, and which end a wait.

TWIN pushes live chat events (bot and operator messages, typing, operator changes, read
receipts, session closes) over its Centrifugo websocket (twin-api.md §5.6). Both realtime
clients read publications with :func:`parse_event` and decide with an :class:`EventFilter`
whether an event ends a wait; a trigger carries the filter as plain JSON. Nothing here
performs I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_twin.client.core.errors import TwinInputError

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

    def describe(self) -> str:
        """The awaited events for a log line: ``sessionClosed or chatMessageCreated``."""
        return " or ".join(self.names)

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


__all__ = [
    "CHAT_MESSAGE_CREATED",
    "CHAT_MESSAGE_READ",
    "EVENT_NAMES",
    "OPERATOR_CHANGED",
    "SESSION_CLOSED",
    "SESSION_SCOPED_EVENTS",
    "SHOW_TYPING_INDICATOR",
    "ChatEvent",
    "EventFilter",
    "EventRule",
    "EventSpec",
    "parse_event",
]
