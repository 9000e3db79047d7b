"""Chat-bot sessions: start, continue, find, close, and the events realtime listeners receive.

Closing is lazy like everything else in the emulator; :meth:`SessionStore.sweep` fires the
``session_closed`` events of sessions whose close time has passed, and callers (the admin close route,
chat routes, or a realtime module's timer) invoke it.

Opening can be lazy too: sessions that Notify messages open through their ``chat`` channel come into
being at their message's send time (:mod:`.chat_channel_sessions`). Every lookup first runs
:attr:`SessionStore.settle`, which opens the sessions whose time has come, so no reader sees the
store without them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .chat_session import BOT_AUTHOR_ID, BOT_AUTHOR_NAME, ChatSession
from .clock import iso
from .ids import random_uuid
from .session_events import (
    BOT_MESSAGE,
    CLIENT_MESSAGE,
    SESSION_CLOSED,
    SESSION_STARTED,
    SESSIONS_RESET,
    SessionEvent,
    SessionEventSource,
)

#: Start-request fields that identify the client, in the order they are compared.
CLIENT_IDENTITY_FIELDS: tuple[str, ...] = (
    "messengerUserId",
    "clientId",
    "clientExternalId",
    "clientPhone",
    "clientEmail",
)


class SessionExistsError(Exception):
    """A start request named a ``sessionId`` that is already in use."""


class SessionStore(SessionEventSource):
    """All chat sessions plus the event hooks. Not thread-safe; callers hold the state lock."""

    def __init__(self) -> None:
        super().__init__()
        #: Run before every lookup and sweep: opens the sessions due by now (set by the state).
        self.settle: Callable[[], None] | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every session and client (listeners stay subscribed and get ``sessions_reset``)."""
        self._sessions: dict[str, ChatSession] = {}
        self._by_chat: dict[str, list[ChatSession]] = {}
        self._clients: dict[tuple[str, str, str], str] = {}
        self.sessions_started = 0
        self.emit(SessionEvent(SESSIONS_RESET, "", "", 0.0))

    # -- lookups -------------------------------------------------------------------------------------
    def _settle(self) -> None:
        if self.settle is not None:
            self.settle()

    def get(self, session_id: str) -> ChatSession | None:
        self._settle()
        return self._sessions.get(session_id.lower())

    def mark_read(self, message_id: str, now: float) -> dict[str, Any] | None:
        """Set ``readAt`` of the message ``message_id`` (once) and return it; None when unknown."""
        self._settle()
        wanted = message_id.lower()
        for session in self._sessions.values():
            for message in session.messages:
                if message["id"] == wanted:
                    if message.get("readAt") is None:
                        message["readAt"] = iso(now)
                    return message
        return None

    def all(self) -> list[ChatSession]:
        self._settle()
        return list(self._sessions.values())

    def find_open_for_client(
        self, chat_id: str, body: Mapping[str, Any], now: float, *, name: str | None = None
    ) -> ChatSession | None:
        """The open session of ``chat_id`` whose client matches any identity field of ``body``.

        Without ``name``: the most recently created one. With ``name``: the latest started of those
        named ``name``, else the latest started of all (only sessions started by ``now`` count).
        """
        self._settle()
        wanted = {
            key: body[key] for key in CLIENT_IDENTITY_FIELDS if isinstance(body.get(key), str) and body[key]
        }
        if not wanted:
            return None
        found: list[ChatSession] = []
        for session in reversed(self._by_chat.get(chat_id, [])):
            if not session.is_open(now):
                continue
            identity = session.identity()
            if any(identity.get(key) == value for key, value in wanted.items()):
                if name is None:
                    return session
                if session.started_at <= now:
                    found.append(session)
        named = [session for session in found if session.name == name]
        pool = named or found
        # max() keeps the first of equal start times: the most recently created one.
        return max(pool, key=lambda session: session.started_at) if pool else None

    def search(
        self,
        now: float,
        *,
        session_ids: list[str] | None = None,
        statuses: frozenset[str] | None = None,
        chat_ids: list[str] | None = None,
        names: list[str] | None = None,
        started_from: float | None = None,
        started_to: float | None = None,
    ) -> list[ChatSession]:
        """Sessions in creation order that match every given filter (``startedAt`` bounds inclusive)."""
        self._settle()
        wanted_ids = None if session_ids is None else {value.lower() for value in session_ids}
        wanted_chats = None if chat_ids is None else {value.lower() for value in chat_ids}
        wanted_names = None if names is None else set(names)
        result = []
        low = None if started_from is None else round(started_from * 1e6)
        high = None if started_to is None else round(started_to * 1e6)
        for session in self._sessions.values():
            if low is not None or high is not None:
                # Compared as shown: ``startedAt`` carries milliseconds (microseconds as integers).
                shown = round(session.started_at * 1e6) // 1000 * 1000
                if (low is not None and shown < low) or (high is not None and shown > high):
                    continue
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
        self.emit(SessionEvent(SESSION_STARTED, session.id, chat_id, now, {"clientId": session.client_id}))
        self._add_client_message(session, body, now)
        if greeting:
            self.add_bot_message(session, greeting, now)
        return session

    def continue_session(self, session: ChatSession, body: Mapping[str, Any], now: float) -> None:
        """Record client activity on an open session (it extends the ttl window)."""
        session.last_activity_at = now
        self._add_client_message(session, body, now)

    def close(
        self,
        session: ChatSession,
        now: float,
        after_seconds: float,
        rating_required: bool,
        rating: int | None = None,
    ) -> None:
        """Close ``session`` now or after ``after_seconds``; fires ``session_closed`` once it is closed.

        ``rating`` is the client's rating (1-5) the closed session carries; a closed session keeps
        its close, its rating may still be given.
        """
        if rating is not None:
            session.rating = rating
        if not session.is_open(now):
            return
        session.close_at = now + after_seconds
        session.rating_required = rating_required
        self.sweep(now)

    def add_client_message(
        self, session: ChatSession, body: str, now: float, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A message the client wrote into open ``session`` (``POST /sessions/{id}/clients/messages``).

        It counts as client activity, so the session's ttl starts again.
        """
        session.last_activity_at = now
        message = session.add_message(
            "CLIENT", body, now, author_id=session.client_id, author_name=session.client_name
        )
        if extra:
            message.update(extra)
        self.emit(SessionEvent(CLIENT_MESSAGE, session.id, session.chat_id, now, {"message": message}))
        return message

    def add_bot_message(self, session: ChatSession, body: str, now: float) -> dict[str, Any]:
        """A message of the chat's bot in ``session`` (published as ``chatMessageCreated``).

        Not client activity: the session's ttl keeps counting from the client's last activity.
        """
        message = session.add_message("BOT", body, now, author_id=BOT_AUTHOR_ID, author_name=BOT_AUTHOR_NAME)
        self.emit(SessionEvent(BOT_MESSAGE, session.id, session.chat_id, now, {"message": message}))
        return message

    def sweep(self, now: float) -> int:
        """Fire ``session_closed`` for sessions that are closed at ``now``; returns how many fired."""
        self._settle()
        fired = 0
        for session in self._sessions.values():
            if session.close_event_fired or session.is_open(now):
                continue
            session.close_event_fired = True
            fired += 1
            self.emit(
                SessionEvent(
                    SESSION_CLOSED,
                    session.id,
                    session.chat_id,
                    session.closed_at(),
                    session.closed_event_data(),
                )
            )
        return fired

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
            message = session.add_message(
                "CLIENT", text, now, author_id=session.client_id, author_name=session.client_name
            )
            self.emit(SessionEvent(CLIENT_MESSAGE, session.id, session.chat_id, now, {"message": message}))


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


__all__ = ["CLIENT_IDENTITY_FIELDS", "SessionExistsError", "SessionStore"]
