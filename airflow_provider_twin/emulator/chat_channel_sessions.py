"""Chat sessions opened by the ``chat`` channel of Notify ``POST /messages`` (twin-api.md §3.2.4).

Seed 000 says chat sessions are started through the ``chat`` channel of ``POST /messages``: the channel
names the chat (``chatId``), the session (``chatSessionName``), optionally the messenger
(``messengerType``), another bot (``botId``) and whether to continue the client's open session
(``continueLastOrStartNewSession``). The emulator opens (or continues) such a session for every
destination of the message whose chat attempt is made and delivered:

* ASSUMPTION (twin-api.md §3.2.4, seed 000): the session comes into being at the attempt's send time
  (its ``sentAt``: at once, or when ``sendAt``/``allowedTimeRanges`` allow, or when an earlier channel
  of the fallback chain failed). A message cancelled before that (or a fallback attempt dropped by a
  cancel) opens nothing, and neither does an attempt whose drawn outcome is not ``DELIVERED`` (the
  client never got it). Like statuses, this is lazy: the session store opens the due sessions before
  every lookup (:attr:`.SessionStore.settle`), and the session's times are the send time.
* ASSUMPTION (twin-api.md §3.2.4, seed 000): the session is the one ``POST /chats/{chatId}/sessions``
  would start with ``name`` = ``chatSessionName``, ``messengerType`` and ``botId`` from the channel
  (absent: none), the default ttl, and the client named by the destination: ``phone`` ->
  ``clientPhone``, ``email`` -> ``clientEmail``, ``messengerUserId``, ``clientId``, ``externalId`` ->
  ``clientExternalId``. The client id is derived as for a REST start, so the same person has the same
  ``clientId`` in every session of the chat.
* ASSUMPTION (twin-api.md §3.2.4, seed 000): the channel's ``text`` is the bot's message in the
  session (a ``BOT`` message, published as ``chatMessageCreated``); no greeting is added. A channel
  without ``text`` lets the chat's bot speak: its greeting (setting ``bot_greeting``), if any.
* ASSUMPTION (twin-api.md §3.2.4, seed 000): ``continueLastOrStartNewSession: true`` appends the text
  to the client's open session of the chat (several open: the latest started with the same name, else
  the latest started); the session's ttl is not restarted (a bot message is not client activity).
  ``false`` or absent always opens a new session.
* A ``chatId`` that is not a UUID, or not one of the chats of the setting ``chats``, opens nothing.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from .chat_session import DEFAULT_SESSION_TTL
from .ids import is_uuid
from .message_records import DELIVERED_CODE, RecordTable, Segment
from .session_store import SessionStore
from .settings import EmulatorSettings

CHAT_CHANNEL = "chat"

#: Destination field -> session start field naming the client.
DESTINATION_IDENTITY: tuple[tuple[str, str], ...] = (
    ("phone", "clientPhone"),
    ("email", "clientEmail"),
    ("messengerUserId", "messengerUserId"),
    ("clientId", "clientId"),
    ("externalId", "clientExternalId"),
)
#: Chat channel field -> session start field.
CHANNEL_SESSION_FIELDS: tuple[tuple[str, str], ...] = (
    ("chatSessionName", "name"),
    ("messengerType", "messengerType"),
    ("botId", "botId"),
)


def session_start_body(channel: dict[str, Any], destination: dict[str, Any]) -> dict[str, Any]:
    """The ``POST /chats/{chatId}/sessions`` body equivalent to one chat attempt."""
    body: dict[str, Any] = {}
    for source, target in CHANNEL_SESSION_FIELDS:
        value = channel.get(source)
        if isinstance(value, str) and value:
            body[target] = value
    for source, target in DESTINATION_IDENTITY:
        value = destination.get(source)
        if isinstance(value, str) and value:
            body[target] = value
    return body


class ChatChannelSessions:
    """Chat attempts waiting for their send time, and the sessions they open. Not thread-safe."""

    def __init__(
        self,
        records: RecordTable,
        sessions: SessionStore,
        settings: Callable[[], EmulatorSettings],
        clock: Callable[[], float],
    ) -> None:
        self.records = records
        self.sessions = sessions
        self._settings = settings
        self._clock = clock
        self._opening = False
        self.reset()

    def reset(self) -> None:
        """Forget the waiting attempts (the records they point at are gone)."""
        self._due: list[tuple[float, int, Segment]] = []
        #: Sessions opened and continued so far.
        self.opened = 0
        self.continued = 0

    def add_segments(self, segments: Iterable[Segment]) -> None:
        """Remember the chat attempts of a stored batch until their send time."""
        for seg in segments:
            if seg.key == CHAT_CHANNEL:
                heapq.heappush(self._due, (seg.start_at, seg.seq, seg))

    def settle(self) -> None:
        """Open the sessions due by the emulator's time (the session store's lookup hook)."""
        if self._due and self._due[0][0] <= self._clock():
            self.open_due(self._clock())

    def open_due(self, now: float) -> int:
        """Open or continue the sessions of the chat attempts sent by ``now``; returns how many."""
        if self._opening:
            return 0
        self._opening = True
        done = 0
        try:
            while self._due and self._due[0][0] <= now:
                start_at, _, seg = heapq.heappop(self._due)
                for index in seg.indexes:
                    done += self._open(index, start_at)
        finally:
            self._opening = False
        return done

    def _open(self, index: int, at: float) -> int:
        records = self.records
        if records.outcomes[index] != DELIVERED_CODE:
            return 0
        if index in records.cancelled or index in records.dropped:
            return 0
        channel = records.chans[index].obj
        chat = channel.get("chatId")
        settings = self._settings()
        if not is_uuid(chat):
            return 0
        chat = str(chat).lower()
        if settings.chats is not None and chat not in settings.chats:
            return 0
        body = session_start_body(channel, records.dests[index])
        text = channel.get("text")
        text = text if isinstance(text, str) and text else settings.bot_greeting
        store = self.sessions
        if channel.get("continueLastOrStartNewSession") is True:
            session = store.find_open_for_client(chat, body, at, name=body.get("name"))
            if session is not None:
                if text:
                    store.add_bot_message(session, text, at)
                self.continued += 1
                return 1
        session = store.start(chat, body, DEFAULT_SESSION_TTL, at, greeting="")
        if text:
            store.add_bot_message(session, text, at)
        self.opened += 1
        return 1


__all__ = [
    "CHANNEL_SESSION_FIELDS",
    "CHAT_CHANNEL",
    "DESTINATION_IDENTITY",
    "ChatChannelSessions",
    "session_start_body",
]
