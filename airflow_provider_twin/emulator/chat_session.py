"""One chat-bot session: its lifetime, its messages and its REST shapes (twin-api.md §4).

A session is OPEN until it is closed by the admin API (now or after a delay) or until its ``ttl``
elapses since the client's last activity (start, continue or a client message). ASSUMPTION
(twin-api.md §7.15): the status values are ``OPEN`` and ``CLOSED``; the bot status is ``ACTIVE``
while open and ``FINISHED`` afterwards.

ASSUMPTION (emulator): TWIN documents only ``sessionRatingRequired``; a session object also carries
``rating``, the client's rating 1-5 or ``null`` (none given), set by the admin close.
"""

from __future__ import annotations

import uuid
from typing import Any

from .clock import iso
from .ids import random_uuid

OPEN = "OPEN"
CLOSED = "CLOSED"
DEFAULT_SESSION_TTL = 3600
MAX_SESSION_TTL = 43200

#: Stable author id and name of the emulated bot.
BOT_AUTHOR_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://twin24.ai/emulator/bot"))
BOT_AUTHOR_NAME = "Bot"


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
        "rating",
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
        self.rating: int | None = None
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

    def add_message(
        self, author_type: str, body: str, now: float, author_id: str, author_name: str | None
    ) -> dict[str, Any]:
        """Append a message in its REST form (twin-api.md §4.5) and return it.

        The form has every field TWIN's PHP SDK reads (twin-api.md §8): ``authorName``, ``type``
        (``REGULAR``), ``readAt`` (unread), ``updatedAt`` (never edited: its creation) and
        ``replyTo`` (not a reply).
        """
        created = iso(now)
        message: dict[str, Any] = {
            "id": random_uuid(),
            "sessionId": self.id,
            "authorId": author_id,
            "authorType": author_type,
            "authorName": author_name,
            "type": "REGULAR",
            "body": body,
            "answers": [],
            "keyboard": None,
            "actions": {},
            "attachments": [],
            "readAt": None,
            "createdAt": created,
            "updatedAt": created,
            "replyTo": None,
        }
        self.messages.append(message)
        return message

    def closed_event_data(self) -> dict[str, Any]:
        """The fields of the session's ``sessionClosed`` event (twin-api.md §5.6)."""
        return {
            "sessionId": self.id,
            "chatId": self.chat_id,
            "sessionRatingRequired": self.rating_required,
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
            "unreadClientMessageCount": sum(
                1 for m in self.messages if m["authorType"] == "CLIENT" and m.get("readAt") is None
            ),
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
            "rating": self.rating,
        }


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


__all__ = [
    "BOT_AUTHOR_ID",
    "BOT_AUTHOR_NAME",
    "CLOSED",
    "DEFAULT_SESSION_TTL",
    "MAX_SESSION_TTL",
    "OPEN",
    "ChatSession",
    "start_response",
]
