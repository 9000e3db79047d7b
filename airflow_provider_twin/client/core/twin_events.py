"""TWIN events as one stream shape, and the cursor that keeps a stream from repeating itself.

Every event source (message statuses, chat sessions, status webhooks) turns what TWIN says into
:class:`TwinEvent` s: a stable ``event_id`` derived from TWIN's own ids (the same TWIN fact always
gets the same id, whoever reports it and however often), a ``type``, TWIN's time of the fact and
a compact JSON payload. An Airflow asset event carries :meth:`TwinEvent.as_payload`.

:class:`SeenEvents` is the cursor of a stream: the ids already emitted, each with the time of its
fact, forgotten once that time leaves the stream's window. A source skips what the cursor has
seen; the caller marks an event seen once it has handed it on, and stores the cursor
(:meth:`SeenEvents.dump`) wherever it survives a restart.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_twin.client.core.deadlines import epoch_seconds

#: Event types, as they appear in payloads and in docs/events.md.
MESSAGE_STATUS = "message.status"
CHAT_SESSION_STARTED = "chat.session_started"
CHAT_SESSION_CLOSED = "chat.session_closed"
CHAT_CLIENT_MESSAGE = "chat.client_message"
#: A closed session shows the client's rating (TWIN asks for it after the close).
CHAT_SESSION_RATED = "chat.session_rated"
EVENT_TYPES = (
    MESSAGE_STATUS,
    CHAT_SESSION_STARTED,
    CHAT_SESSION_CLOSED,
    CHAT_CLIENT_MESSAGE,
    CHAT_SESSION_RATED,
)

#: Default memory of a cursor: a fact older than this is forgotten (and could repeat if TWIN
#: listed it again). Seven days covers TWIN's longest message validity with room to spare.
DEFAULT_WINDOW_SECONDS = 7 * 24 * 3600


def epoch_of(value: str | None, default: float | None = None) -> float:
    """Seconds since the epoch of TWIN's ISO-8601 time ``value`` (``default``, else now, if absent).

    A time without an offset is read as UTC (TWIN's times are UTC), never as the local time of
    the machine that reads it, so every process derives the same epoch from the same text.
    """
    if value:
        try:
            return epoch_seconds(value)
        except ValueError:
            pass
    return time.time() if default is None else default


@dataclass(frozen=True)
class TwinEvent:
    """One TWIN fact: a message reached a status, a session started or closed, a client wrote."""

    event_id: str
    type: str
    #: TWIN's ISO-8601 time of the fact (when TWIN gives none: when it was first observed).
    time: str
    #: Compact JSON values: ids, status, flags. Never message texts of other channels or tokens.
    payload: Mapping[str, Any] = field(default_factory=dict)

    def as_payload(self) -> dict[str, Any]:
        """The JSON an asset event's extra carries: ``event_id``, ``type``, ``time`` and the payload."""
        return {"event_id": self.event_id, "type": self.type, "time": self.time, **self.payload}

    @property
    def epoch(self) -> float:
        return epoch_of(self.time)


class SeenEvents:
    """The ids a stream has emitted within its window: its cursor, JSON-serialisable.

    Bounded by the window, not by a count: a stream remembers every fact of the last
    ``window_seconds`` (about 100 bytes each), so a restart within the window repeats nothing.
    """

    def __init__(
        self, window_seconds: float = DEFAULT_WINDOW_SECONDS, seen: Mapping[str, float] | None = None
    ):
        if window_seconds <= 0:
            raise ValueError(f"window_seconds must be positive, got {window_seconds!r}")
        self.window_seconds = float(window_seconds)
        self._seen: dict[str, float] = dict(seen or {})

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._seen

    def __len__(self) -> int:
        return len(self._seen)

    def new(self, events: Iterable[TwinEvent]) -> list[TwinEvent]:
        """The events not seen yet, in order, each id once."""
        fresh: dict[str, TwinEvent] = {}
        for event in events:
            if event.event_id not in self._seen and event.event_id not in fresh:
                fresh[event.event_id] = event
        return list(fresh.values())

    def mark(self, events: Iterable[TwinEvent]) -> None:
        """Remember ``events`` as emitted."""
        for event in events:
            self._seen[event.event_id] = event.epoch

    def prune(self, now: float | None = None) -> int:
        """Forget facts older than the window; how many were forgotten."""
        horizon = (time.time() if now is None else now) - self.window_seconds
        old = [event_id for event_id, at in self._seen.items() if at < horizon]
        for event_id in old:
            del self._seen[event_id]
        return len(old)

    def dump(self) -> dict[str, Any]:
        """The cursor as JSON values (see :meth:`load`)."""
        return {"version": 1, "window_seconds": self.window_seconds, "seen": dict(self._seen)}

    @classmethod
    def load(
        cls, data: Mapping[str, Any] | None, window_seconds: float = DEFAULT_WINDOW_SECONDS
    ) -> SeenEvents:
        """A cursor from :meth:`dump`'s JSON (an empty one for ``None`` or an unknown shape).

        ``window_seconds`` is the stream's current window: a changed window applies at once.
        """
        seen = data.get("seen") if isinstance(data, Mapping) and data.get("version") == 1 else None
        valid = (
            {str(k): float(v) for k, v in seen.items() if isinstance(v, (int, float))}
            if isinstance(seen, Mapping)
            else {}
        )
        return cls(window_seconds, valid)


__all__ = [
    "CHAT_CLIENT_MESSAGE",
    "CHAT_SESSION_CLOSED",
    "CHAT_SESSION_RATED",
    "CHAT_SESSION_STARTED",
    "DEFAULT_WINDOW_SECONDS",
    "EVENT_TYPES",
    "MESSAGE_STATUS",
    "SeenEvents",
    "TwinEvent",
    "epoch_of",
]
