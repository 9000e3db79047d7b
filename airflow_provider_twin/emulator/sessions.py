"""Chat-bot sessions: start, continue, read, close, and session events for realtime listeners.

A session is OPEN until it is closed by the admin API (now or after a delay) or until its ``ttl``
elapses since the client's last activity (start or continue). ASSUMPTION (twin-api.md §7.15): the
status values are ``OPEN`` and ``CLOSED``; the bot status is ``ACTIVE`` while open and ``FINISHED``
afterwards.

Realtime seam: the Centrifugo emulation (a separate module) subscribes with :meth:`SessionStore.subscribe`
and receives :class:`SessionEvent` objects (``session_started``, ``bot_message``, ``client_message``,
``session_closed``; ``sessions_reset`` when the store is reset). Listeners run synchronously under the
state lock and must only schedule work.
Closing is lazy like everything else in the emulator; :meth:`SessionStore.sweep` fires the
``session_closed`` events of sessions whose close time has passed, and callers (the admin close route,
chat routes, or a realtime module's timer) invoke it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .clock import iso
from .ids import random_uuid

logger = logging.getLogger(__name__)

OPEN = "OPEN"
CLOSED = "CLOSED"
DEFAULT_SESSION_TTL = 3600
MAX_SESSION_TTL = 43200

#: Stable author id of the emulated bot.
BOT_AUTHOR_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://twin24.ai/emulator/bot"))

#: Start-request fields that identify the client, in the order they are compared.
CLIENT_IDENTITY_FIELDS: tuple[str, ...] = (
    "messengerUserId",
    "clientId",
    "clientExternalId",
    "clientPhone",
    "clientEmail",
)


@dataclass(frozen=True)
class SessionEvent:
    """Something that happened to a session, for realtime listeners."""

    kind: str
    session_id: str
    chat_id: str
    at: float
    data: dict[str, Any] = field(default_factory=dict)


SessionListener = Callable[[SessionEvent], None]


class SessionExistsError(Exception):
    """A start request named a ``sessionId`` that is already in use."""


class ChatSession:
    """One chat-bot session."""

    __slots__ = (
        "bot_id",
        "channel",
        "chat_id",
        "client_email",
        "client_external_id",
        "client_id",
        "client_metadata",
        "client_name",
        "client_phone",
        "close_at",
        "close_event_fired",
        "id",
        "last_activity_at",
        "messages",
        "messenger_type",
        "messenger_user_id",
        "name",
        "rating_required",
        "referer",
        "started_at",
        "ttl",
    )

    def __init__(self, session_id: str, chat_id: str, client_id: str, ttl: int, now: float) -> None:
        self.id = session_id
        self.chat_id = chat_id
        self.client_id = client_id
        self.ttl = ttl
        self.started_at = now
        self.last_activity_at = now
        self.close_at: float | None = None
        self.close_event_fired = False
        self.rating_required = False
        self.name: str | None = None
        self.bot_id: str | None = None
        self.channel: str | None = None
        self.referer: str | None = None
        self.messenger_type: str | None = None
        self.messenger_user_id: str | None = None
        self.client_external_id: str | None = None
        self.client_phone: str | None = None
        self.client_email: str | None = None
        self.client_name: str | None = None
        self.client_metadata: Any = None
        self.messages: list[dict[str, Any]] = []

    def closed_at(self) -> float:
        """When the session closes (or closed): an explicit close or the end of its ttl."""
        expiry = self.last_activity_at + self.ttl
        if self.close_at is not None and self.close_at < expiry:
            return self.close_at
        return expiry

    def is_open(self, now: float) -> bool:
        return now < self.closed_at()

    def status(self, now: float) -> str:
        return OPEN if self.is_open(now) else CLOSED

    def identity(self) -> dict[str, str | None]:
        return {
            "messengerUserId": self.messenger_user_id,
            "clientId": self.client_id,
            "clientExternalId": self.client_external_id,
            "clientPhone": self.client_phone,
            "clientEmail": self.client_email,
        }

    def info(self, now: float) -> dict[str, Any]:
        """The session object of ``GET /sessions/{id}`` (twin-api.md §4.4)."""
        is_open = self.is_open(now)
        last = self.messages[-1] if self.messages else None
        return {
            "id": self.id,
            "chatId": self.chat_id,
            "name": self.name,
            "markedAsSpam": False,
            "ttl": self.ttl,
            "operatorId": None,
            "operatorName": None,
            "operatorAssignedAt": None,
            "operators": [],
            "channel": self.channel,
            "messengerType": self.messenger_type,
            "messengerUserId": self.messenger_user_id,
            "botId": self.bot_id,
            "botStatus": "ACTIVE" if is_open else "FINISHED",
            "status": OPEN if is_open else CLOSED,
            "startedAt": iso(self.started_at),
            "closedAt": None if is_open else iso(self.closed_at()),
            "clientOnlineAt": iso(self.last_activity_at),
            "clientOfflineAt": None if is_open else iso(self.closed_at()),
            "unreadClientMessageCount": 0,
            "lastMessageCreatedAt": None if last is None else last["createdAt"],
            "lastMessage": last,
            "clientId": self.client_id,
            "clientExternalId": self.client_external_id,
            "clientPhone": self.client_phone,
            "clientEmail": self.client_email,
            "clientName": self.client_name,
            "clientBanned": False,
            "referer": self.referer,
            "tags": None,
            "timerFirstAnswer": None,
            "timerNextAnswers": None,
            "lastOperatorMessage": None,
            "firstClientMessageAfterLastOperatorMessage": None,
            "sessionRatingRequired": self.rating_required,
        }


class SessionStore:
    """All chat sessions plus the event hooks. Not thread-safe; callers hold the state lock."""

    def __init__(self) -> None:
        self._listeners: list[SessionListener] = []
        self.reset()

    def reset(self) -> None:
        """Forget every session and client (listeners stay subscribed and get ``sessions_reset``)."""
        self._sessions: dict[str, ChatSession] = {}
        self._by_chat: dict[str, list[ChatSession]] = {}
        self._clients: dict[tuple[str, str, str], str] = {}
        self.sessions_started = 0
        self.emit(SessionEvent("sessions_reset", "", "", 0.0))

    # -- events --------------------------------------------------------------------------------------
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

    # -- lookups -------------------------------------------------------------------------------------
    def get(self, session_id: str) -> ChatSession | None:
        return self._sessions.get(session_id.lower())

    def all(self) -> list[ChatSession]:
        return list(self._sessions.values())

    def find_open_for_client(self, chat_id: str, body: Mapping[str, Any], now: float) -> ChatSession | None:
        """The most recent open session of ``chat_id`` whose client matches any identity field of ``body``."""
        wanted = {
            key: body[key] for key in CLIENT_IDENTITY_FIELDS if isinstance(body.get(key), str) and body[key]
        }
        if not wanted:
            return None
        for session in reversed(self._by_chat.get(chat_id, [])):
            if not session.is_open(now):
                continue
            identity = session.identity()
            if any(identity.get(key) == value for key, value in wanted.items()):
                return session
        return None

    # -- changes -------------------------------------------------------------------------------------
    def start(
        self, chat_id: str, body: Mapping[str, Any], ttl: int, now: float, greeting: str
    ) -> ChatSession:
        """Open a new session from a start request body (already validated)."""
        requested = body.get("sessionId")
        session_id = requested.lower() if isinstance(requested, str) and requested else random_uuid()
        if session_id in self._sessions:
            raise SessionExistsError(session_id)
        session = ChatSession(session_id, chat_id, self._client_id(chat_id, body), ttl, now)
        session.name = _str_or_none(body.get("name"))
        session.bot_id = _str_or_none(body.get("botId"))
        session.channel = _str_or_none(body.get("channel"))
        session.referer = _str_or_none(body.get("referer"))
        session.messenger_type = _str_or_none(body.get("messengerType"))
        session.messenger_user_id = _str_or_none(body.get("messengerUserId"))
        session.client_external_id = _str_or_none(body.get("clientExternalId"))
        session.client_phone = _str_or_none(body.get("clientPhone"))
        session.client_email = _str_or_none(body.get("clientEmail"))
        session.client_name = _str_or_none(body.get("clientNameForOperator") or body.get("clientName"))
        session.client_metadata = body.get("clientMetadata")
        self._sessions[session_id] = session
        self._by_chat.setdefault(chat_id, []).append(session)
        self.sessions_started += 1
        self.emit(SessionEvent("session_started", session.id, chat_id, now, {"clientId": session.client_id}))
        self._add_client_message(session, body, now)
        if greeting:
            message = self._message(session, "BOT", greeting, now, author_id=BOT_AUTHOR_ID)
            self.emit(SessionEvent("bot_message", session.id, chat_id, now, {"message": message}))
        return session

    def continue_session(self, session: ChatSession, body: Mapping[str, Any], now: float) -> None:
        """Record client activity on an open session (it extends the ttl window)."""
        session.last_activity_at = now
        self._add_client_message(session, body, now)

    def close(self, session: ChatSession, now: float, after_seconds: float, rating_required: bool) -> None:
        """Close ``session`` now or after ``after_seconds``; fires ``session_closed`` once it is closed."""
        if not session.is_open(now):
            return
        session.close_at = now + after_seconds
        session.rating_required = rating_required
        self.sweep(now)

    def sweep(self, now: float) -> int:
        """Fire ``session_closed`` for sessions that are closed at ``now``; returns how many fired."""
        fired = 0
        for session in self._sessions.values():
            if session.close_event_fired or session.is_open(now):
                continue
            session.close_event_fired = True
            fired += 1
            self.emit(
                SessionEvent(
                    "session_closed",
                    session.id,
                    session.chat_id,
                    session.closed_at(),
                    {
                        "sessionId": session.id,
                        "chatId": session.chat_id,
                        "sessionRatingRequired": session.rating_required,
                    },
                )
            )
        return fired

    def search(
        self,
        now: float,
        *,
        session_ids: list[str] | None = None,
        statuses: frozenset[str] | None = None,
        chat_ids: list[str] | None = None,
        names: list[str] | None = None,
    ) -> list[ChatSession]:
        """Sessions in creation order that match every given filter."""
        wanted_ids = None if session_ids is None else {value.lower() for value in session_ids}
        wanted_chats = None if chat_ids is None else {value.lower() for value in chat_ids}
        wanted_names = None if names is None else set(names)
        result = []
        for session in self._sessions.values():
            if wanted_ids is not None and session.id not in wanted_ids:
                continue
            if wanted_chats is not None and session.chat_id not in wanted_chats:
                continue
            if wanted_names is not None and session.name not in wanted_names:
                continue
            if statuses is not None and session.status(now) not in statuses:
                continue
            result.append(session)
        return result

    # -- internals -----------------------------------------------------------------------------------
    def _client_id(self, chat_id: str, body: Mapping[str, Any]) -> str:
        explicit = body.get("clientId")
        if isinstance(explicit, str) and explicit:
            return explicit
        keys = [
            (chat_id, key, body[key])
            for key in (*CLIENT_IDENTITY_FIELDS[2:], "messengerUserId")
            if isinstance(body.get(key), str) and body[key]
        ]
        for key in keys:
            known = self._clients.get(key)
            if known is not None:
                return known
        client_id = random_uuid()
        for key in keys:
            self._clients[key] = client_id
        return client_id

    def _add_client_message(self, session: ChatSession, body: Mapping[str, Any], now: float) -> None:
        text = body.get("messageBody")
        if isinstance(text, str) and text:
            message = self._message(session, "CLIENT", text, now, author_id=session.client_id)
            self.emit(SessionEvent("client_message", session.id, session.chat_id, now, {"message": message}))

    @staticmethod
    def _message(
        session: ChatSession, author_type: str, body: str, now: float, author_id: str
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": random_uuid(),
            "sessionId": session.id,
            "authorId": author_id,
            "authorType": author_type,
            "body": body,
            "answers": [],
            "keyboard": None,
            "actions": {},
            "attachments": [],
            "createdAt": iso(now),
        }
        session.messages.append(message)
        return message


def start_response(session: ChatSession, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Body of ``POST``/``PUT /chats/{chatId}/sessions`` (twin-api.md §4.2)."""
    return {
        "id": session.id,
        "clientId": session.client_id,
        "startedAt": iso(session.started_at),
        "ttl": session.ttl,
        "messages": [
            {
                "authorId": message["authorId"],
                "authorType": message["authorType"],
                "body": message["body"],
                "answers": message["answers"],
                "keyboard": message["keyboard"],
                "actions": message["actions"],
                "attachments": message["attachments"],
            }
            for message in messages
        ],
    }


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


__all__ = [
    "BOT_AUTHOR_ID",
    "CLOSED",
    "OPEN",
    "ChatSession",
    "SessionEvent",
    "SessionExistsError",
    "SessionListener",
    "SessionStore",
    "start_response",
]
