"""Chat sessions as a stream of events: sessions started, closed, rated; client messages.

:class:`ChatSessionEvents` follows the sessions of a :class:`ChatEventFilter` over REST and
turns what TWIN says into :class:`~..core.twin_events.TwinEvent` s whose ids name TWIN's own
ids (``session:<id>:started``, ``session:<id>:closed``, ``session:<id>:rated``,
``chat-message:<id>``), so a fact
heard twice (two polls, a poll and the websocket, a restarted stream) is one event once the
cursor (:class:`~..core.twin_events.SeenEvents`) has seen it.

A poll (:meth:`ChatSessionEvents.poll`) lists the sessions started within the filter's window
(``GET /sessions?chatId=&from=``, twin-api.md §4.4): each listed session is "started", each
closed one also "closed", and each closed one that shows the client's ``rating`` also
"rated". TWIN asks the client to rate *after* the close (``sessionRatingRequired``), so the
"closed" event often carries no rating yet; the "rated" event comes at the first poll that
sees one (once per session: a later change of the rating is not reported again). TWIN pushes
no event for a client's message (the websocket's ``chatMessageCreated`` is the bot's or an
operator's, twin-api.md §5.6), so client messages are read over REST: the messages of each
session whose ``lastMessageCreatedAt`` moved since the last poll (``GET
/sessions/{id}/messages``, §4.5, ``from`` the last message already read), those written by
the client.

The websocket tells a close at once: :meth:`ChatSessionEvents.open_sessions` are the sessions
to listen to, and :meth:`ChatSessionEvents.realtime_closed` turns their ``sessionClosed``
(parsed by :mod:`.events`) into the very "closed" event a poll would give, rating included.

Cost
----
A poll pages the sessions of the window, :data:`SESSION_PAGE_SIZE` per request (one request
per 1,000 sessions started in the window), plus, with client messages asked for, one listing
per session whose last message moved (:data:`MESSAGE_LISTINGS_AT_ONCE` at a time). The first
poll of a stream reads the messages of every session of the window that has any; later polls
only the new messages of those that moved (``from`` the last one read, which is listed again
and dropped by the cursor).
A session started before the window is not listed, so its later messages and close are not
reported by REST.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from airflow_provider_twin.client.chat.api import get_session, list_sessions, session_messages
from airflow_provider_twin.client.chat.events import SESSION_CLOSED, ChatEvent
from airflow_provider_twin.client.chat.models import SessionInfo, SessionMessagePage, SessionPage
from airflow_provider_twin.client.chat.session_check import CLOSED_STATUSES
from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.calls import ApiCall, comma_list, next_page
from airflow_provider_twin.client.core.deadlines import positive_seconds
from airflow_provider_twin.client.core.errors import TwinInputError, TwinNotFoundError
from airflow_provider_twin.client.core.flows import Gather, Procedure
from airflow_provider_twin.client.core.twin_events import (
    CHAT_CLIENT_MESSAGE,
    CHAT_SESSION_CLOSED,
    CHAT_SESSION_RATED,
    CHAT_SESSION_STARTED,
    TwinEvent,
    epoch_of,
)

SESSION_STARTED = "session_started"
SESSION_CLOSED_KIND = "session_closed"
CLIENT_MESSAGE = "client_message"
SESSION_RATED = "session_rated"
#: The kinds of chat event a filter can ask for, and the event type each one gives.
CHAT_EVENT_KINDS: dict[str, str] = {
    SESSION_STARTED: CHAT_SESSION_STARTED,
    SESSION_CLOSED_KIND: CHAT_SESSION_CLOSED,
    CLIENT_MESSAGE: CHAT_CLIENT_MESSAGE,
    SESSION_RATED: CHAT_SESSION_RATED,
}

#: Default window: sessions started in the last day.
DEFAULT_CREATED_WITHIN_SECONDS = 86400.0

#: Sessions (and a session's messages) per listing page: TWIN's page size cap (twin-api.md §7.11).
SESSION_PAGE_SIZE = 1000

#: Session message listings asked together: a burst of moved sessions does not flood TWIN.
MESSAGE_LISTINGS_AT_ONCE = 20

#: The author type of a client's message (twin-api.md §4.5).
CLIENT_AUTHOR = "CLIENT"


def _now_iso(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True, init=False)
class ChatEventFilter:
    """Which chat events a stream reports; checked when built (:meth:`validate`).

    :param chat_id: only sessions of this chat (every chat of the account when None).
    :param kinds: any of :data:`CHAT_EVENT_KINDS` (a comma-separated string is read too); all
        four by default.
    :param created_within_seconds: only sessions started this many seconds before a poll.
    """

    chat_id: str | None = None
    kinds: tuple[str, ...] = tuple(CHAT_EVENT_KINDS)
    created_within_seconds: float = DEFAULT_CREATED_WITHIN_SECONDS

    def __init__(
        self,
        chat_id: str | None = None,
        kinds: str | Iterable[str] = tuple(CHAT_EVENT_KINDS),
        created_within_seconds: float = DEFAULT_CREATED_WITHIN_SECONDS,
    ) -> None:
        given: Any = comma_list(kinds) if isinstance(kinds, str) else kinds
        if isinstance(given, Iterable) and not isinstance(given, Mapping):
            given = tuple(dict.fromkeys(k.strip().lower() if isinstance(k, str) else k for k in given))
        object.__setattr__(self, "chat_id", chat_id.strip() if isinstance(chat_id, str) else chat_id)
        object.__setattr__(self, "kinds", given)
        object.__setattr__(self, "created_within_seconds", created_within_seconds)
        self.validate()

    def validate(self) -> None:
        """Refuse a filter that asks for nothing, an unknown kind or an unusable window.

        :raises TwinInputError: naming the field.
        """
        if self.chat_id is not None and (not isinstance(self.chat_id, str) or not self.chat_id):
            raise TwinInputError(f"chat_id: expected a non-empty chat id or None, got {self.chat_id!r}")
        known = ", ".join(CHAT_EVENT_KINDS)
        if not isinstance(self.kinds, tuple) or not self.kinds:
            raise TwinInputError(f"kinds: name at least one of {known}")
        unknown = [kind for kind in self.kinds if kind not in CHAT_EVENT_KINDS]
        if unknown:
            raise TwinInputError(f"kinds: unknown chat event kind(s) {unknown!r}; use {known}")
        positive_seconds("created_within_seconds", self.created_within_seconds)

    def to_json(self) -> dict[str, Any]:
        """JSON values, the same for equal filters: a trigger's kwargs, a cursor's key."""
        return {
            "chat_id": self.chat_id,
            "kinds": list(self.kinds),
            "created_within_seconds": self.created_within_seconds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> ChatEventFilter:
        """Inverse of :meth:`to_json` (a JSON string of it is read too)."""
        values = json.loads(data) if isinstance(data, str) else data
        if not isinstance(values, Mapping):
            raise TwinInputError(f"chat event filter: expected an object, got {type(values).__name__}")
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise TwinInputError(f"chat event filter: unknown field(s) {', '.join(unknown)}")
        return cls(**values)

    def wants(self, kind: str) -> bool:
        return kind in self.kinds


def _rating(info: Mapping[str, Any]) -> int | None:
    """The session's rating: an int, or None when TWIN gives none (see docs/emulator.md)."""
    rating = info.get("rating")
    return rating if isinstance(rating, int) and not isinstance(rating, bool) else None


def is_closed(info: Mapping[str, Any]) -> bool:
    """Whether a REST session object says the session is closed (a ``closedAt``, or its status)."""
    status = str(info.get("status") or "").upper()
    return bool(info.get("closedAt")) or status in CLOSED_STATUSES


def session_started_event(info: Mapping[str, Any], now: float) -> TwinEvent:
    """ "Session started" from a REST session object (time: ``startedAt``)."""
    session_id = str(info["id"])
    payload = {"sessionId": session_id, "chatId": info.get("chatId")}
    when = str(info.get("startedAt") or _now_iso(now))
    return TwinEvent(f"session:{session_id}:started", CHAT_SESSION_STARTED, when, payload)


def session_closed_event(info: Mapping[str, Any], now: float) -> TwinEvent:
    """ "Session closed" from a REST session object or ``sessionClosed`` fields (time: ``closedAt``,
    else ``now``). ``rating`` is TWIN's (ASSUMPTION, see docs/emulator.md) or None."""
    session_id = str(info.get("id") or info.get("sessionId"))
    required = info.get("sessionRatingRequired")
    payload = {
        "sessionId": session_id,
        "chatId": info.get("chatId"),
        "sessionRatingRequired": required if isinstance(required, bool) else None,
        "rating": _rating(info),
    }
    when = str(info.get("closedAt") or _now_iso(now))
    return TwinEvent(f"session:{session_id}:closed", CHAT_SESSION_CLOSED, when, payload)


def session_rated_event(info: Mapping[str, Any], now: float) -> TwinEvent | None:
    """ "Session rated" from a closed REST session object showing a ``rating`` (ASSUMPTION, see
    docs/emulator.md), else None. TWIN gives no time of the rating: the event's time is the
    close's (``closedAt``, else ``now``), the same text at every poll."""
    rating = _rating(info)
    if rating is None or not is_closed(info):
        return None
    session_id = str(info.get("id") or info.get("sessionId"))
    payload = {"sessionId": session_id, "chatId": info.get("chatId"), "rating": rating}
    when = str(info.get("closedAt") or _now_iso(now))
    return TwinEvent(f"session:{session_id}:rated", CHAT_SESSION_RATED, when, payload)


def client_message_event(message: Mapping[str, Any], info: Mapping[str, Any], now: float) -> TwinEvent:
    """ "A client wrote" from a session message (time: its ``createdAt``). No text in the payload."""
    message_id = str(message["id"])
    payload = {
        "sessionId": str(message.get("sessionId") or info.get("id")),
        "chatId": info.get("chatId"),
        "messageId": message_id,
    }
    when = str(message.get("createdAt") or _now_iso(now))
    return TwinEvent(f"chat-message:{message_id}", CHAT_CLIENT_MESSAGE, when, payload)


@dataclass
class _Known:
    """What a stream learnt of one session."""

    started: float
    last_message_at: str | None = None
    closed: bool = False


@dataclass
class ChatSessionEvents:
    """The chat events of ``flt``, polled over REST, with the realtime closes of open sessions.

    Keeps, per session of the window, its start, whether it is closed and the
    ``lastMessageCreatedAt`` whose messages were read; a session leaves once its start leaves
    the window. A new instance (after a restart) reads everything of the window again: the
    cursor drops what was emitted.
    """

    flt: ChatEventFilter
    _known: dict[str, _Known] = field(default_factory=dict, init=False, repr=False)

    def open_sessions(self) -> list[str]:
        """Ids of the sessions seen open (to listen to over the websocket), oldest first."""
        return [session_id for session_id, known in self._known.items() if not known.closed]

    async def poll(self, client: AsyncTwinClient, now: float | None = None) -> list[TwinEvent]:
        """:meth:`events` now (or at ``now``, seconds since the epoch)."""
        return await client.run(self.events(time.time() if now is None else now))

    def events(self, now: float) -> Procedure[list[TwinEvent]]:
        """One poll at ``now``: the events of the listed sessions, in listing order."""
        since = now - self.flt.created_within_seconds
        sessions: list[SessionInfo] = []
        window: dict[str, Any] = {"from": _now_iso(since)}
        call: ApiCall[SessionPage] | None = list_sessions(
            limit=SESSION_PAGE_SIZE, chatId=self.flt.chat_id, **window
        )
        while call is not None:
            page: SessionPage = yield call
            sessions.extend(
                info
                for info in page["items"]
                if isinstance(info.get("id"), str)
                and self._of_chat(info.get("chatId"))
                and epoch_of(info.get("startedAt"), now) >= since
            )
            call = next_page(call, page)
        events: list[TwinEvent] = []
        moved: list[SessionInfo] = []
        for info in sessions:
            known = self._known.setdefault(info["id"], _Known(epoch_of(info.get("startedAt"), now)))
            if self.flt.wants(SESSION_STARTED):
                events.append(session_started_event(info, now))
            last = info.get("lastMessageCreatedAt")
            if self.flt.wants(CLIENT_MESSAGE) and last and last != known.last_message_at:
                moved.append(info)
            if is_closed(info):
                known.closed = True
        read = yield from self._client_messages(moved, now)
        events.extend(read)
        if self.flt.wants(SESSION_CLOSED_KIND):
            events.extend(session_closed_event(info, now) for info in sessions if is_closed(info))
        if self.flt.wants(SESSION_RATED):
            rated = (session_rated_event(info, now) for info in sessions)
            events.extend(event for event in rated if event is not None)
        self._forget_before(since)
        return events

    def _client_messages(self, sessions: list[SessionInfo], now: float) -> Procedure[list[TwinEvent]]:
        """The client messages of ``sessions``: every page of each from the last message already
        read (all of a session read for the first time), :data:`MESSAGE_LISTINGS_AT_ONCE` listings
        at a time."""
        events: list[TwinEvent] = []
        pending = [(info, self._messages_after(info["id"])) for info in sessions]
        while pending:
            batch, pending = pending[:MESSAGE_LISTINGS_AT_ONCE], pending[MESSAGE_LISTINGS_AT_ONCE:]
            pages: list[SessionMessagePage] = yield Gather([call for _, call in batch])
            for (info, call), page in zip(batch, pages, strict=True):
                events.extend(
                    client_message_event(message, info, now)
                    for message in page["items"]
                    if str(message.get("authorType") or "").upper() == CLIENT_AUTHOR and message.get("id")
                )
                after = next_page(call, page)
                if after is not None:
                    pending.append((info, after))
                else:
                    last = info.get("lastMessageCreatedAt")
                    self._known[info["id"]].last_message_at = last if isinstance(last, str) else None
        return events

    def _messages_after(self, session_id: str) -> ApiCall[SessionMessagePage]:
        """The first page of the session's messages from the last one read (inclusive: TWIN's
        ``from`` is, and a message written in the same millisecond is not skipped)."""
        known = self._known.get(session_id)
        last = known.last_message_at if known is not None else None
        window: dict[str, Any] = {"from": last} if last else {}
        return session_messages(session_id, limit=SESSION_PAGE_SIZE, **window)

    def _forget_before(self, since: float) -> None:
        for session_id in [sid for sid, known in self._known.items() if known.started < since]:
            del self._known[session_id]

    def closed_event(self, event: ChatEvent, now: float | None = None) -> TwinEvent | None:
        """The "closed" event of a websocket ``sessionClosed`` of this stream, else None.

        Built from the event alone (no ``rating``: the websocket carries none, and the time is
        when it was heard); :meth:`realtime_closed` reads the session for both.
        """
        if not self._wanted_close(event):
            return None
        fields_ = {**event.payload, "sessionId": event.session_id}
        self._mark_closed(str(event.session_id))
        return session_closed_event(fields_, time.time() if now is None else now)

    async def realtime_closed(
        self, client: AsyncTwinClient, event: ChatEvent, now: float | None = None
    ) -> TwinEvent | None:
        """The "closed" event of a websocket ``sessionClosed``, as a poll would give it, else None.

        Reads the session (``GET /sessions/{id}``) for TWIN's ``closedAt`` and ``rating``; a
        session TWIN no longer knows is reported from the event alone (:meth:`closed_event`).
        """
        if not self._wanted_close(event):
            return None
        moment = time.time() if now is None else now
        try:
            info = await client.send(get_session(str(event.session_id)))
        except TwinNotFoundError:
            return self.closed_event(event, moment)
        self._mark_closed(str(event.session_id))
        return session_closed_event({**event.payload, **info}, moment)

    def _wanted_close(self, event: ChatEvent) -> bool:
        if event.name != SESSION_CLOSED or not event.session_id or not self.flt.wants(SESSION_CLOSED_KIND):
            return False
        return self._of_chat(event.payload.get("chatId"))

    def _of_chat(self, chat_id: Any) -> bool:
        """Whether a session of ``chat_id`` (None: not said) belongs to the filter's chat."""
        wanted = self.flt.chat_id
        return not (wanted and isinstance(chat_id, str) and chat_id.lower() != wanted.lower())

    def _mark_closed(self, session_id: str) -> None:
        known = self._known.get(session_id)
        if known is not None:
            known.closed = True


__all__ = [
    "CHAT_EVENT_KINDS",
    "CLIENT_AUTHOR",
    "CLIENT_MESSAGE",
    "DEFAULT_CREATED_WITHIN_SECONDS",
    "MESSAGE_LISTINGS_AT_ONCE",
    "SESSION_CLOSED_KIND",
    "SESSION_PAGE_SIZE",
    "SESSION_RATED",
    "SESSION_STARTED",
    "ChatEventFilter",
    "ChatSessionEvents",
    "client_message_event",
    "is_closed",
    "session_closed_event",
    "session_rated_event",
    "session_started_event",
]
