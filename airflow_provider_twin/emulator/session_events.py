"""Chat session events for realtime listeners: what happened to a session, and who hears of it.

Realtime seam: the Centrifugo emulation subscribes to the session store and receives
:class:`SessionEvent` objects (``session_started``, ``bot_message``, ``client_message``,
``session_closed``; ``sessions_reset`` when the store is reset). Listeners run synchronously under the
state lock and must only schedule work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

#: Event kinds.
SESSION_STARTED = "session_started"
BOT_MESSAGE = "bot_message"
CLIENT_MESSAGE = "client_message"
SESSION_CLOSED = "session_closed"
#: The store forgot every session (the realtime emulation drops its sockets then).
SESSIONS_RESET = "sessions_reset"


@dataclass(frozen=True)
class SessionEvent:
    """Something that happened to a session, for realtime listeners."""

    kind: str
    session_id: str
    chat_id: str
    at: float
    data: dict[str, Any] = field(default_factory=dict)


SessionListener = Callable[[SessionEvent], None]


class SessionEventSource:
    """Listeners of session events; a failing listener is logged and does not stop the others."""

    def __init__(self) -> None:
        self._listeners: list[SessionListener] = []

    def subscribe(self, listener: SessionListener) -> Callable[[], None]:
        """Register ``listener`` for every session event; returns a function that unsubscribes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def emit(self, event: SessionEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("Session event listener failed for %s", event.kind)


__all__ = [
    "BOT_MESSAGE",
    "CLIENT_MESSAGE",
    "SESSIONS_RESET",
    "SESSION_CLOSED",
    "SESSION_STARTED",
    "SessionEvent",
    "SessionEventSource",
    "SessionListener",
]
