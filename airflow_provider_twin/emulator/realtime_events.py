"""TWIN's realtime chat events (twin-api.md §5.6): their names and payloads."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from typing import Any

from .chat_session import BOT_AUTHOR_ID, BOT_AUTHOR_NAME
from .clock import iso

#: Events TWIN documents (twin-api.md §5.6).
EVENT_NAMES: tuple[str, ...] = (
    "showTypingIndicator",
    "chatMessageCreated",
    "operatorChanged",
    "chatMessageRead",
    "sessionClosed",
)

#: Stable id of the emulated operator, author of the operator events the admin API emits.
OPERATOR_AUTHOR_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://twin24.ai/emulator/operator"))

_AVATAR_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<circle cx="32" cy="32" r="32" fill="#8a94a6"/></svg>'
)
#: The emulated operator's avatar. Seed 003 marks ``operatorChanged.avatar`` REQUIRED ("URL аватара
#: нового оператора"), so it is a URL: a ``data:`` URL (RFC 2397) of a small grey disc, which a
#: client can show without the network the emulator does not have.
OPERATOR_AVATAR = "data:image/svg+xml;base64," + base64.b64encode(_AVATAR_SVG.encode()).decode()


def default_payload(
    name: str, session_id: str, now: float, fields_given: Mapping[str, Any]
) -> dict[str, Any]:
    """The event fields TWIN documents for ``name`` (twin-api.md §5.6), overridden by ``fields_given``."""
    base: dict[str, Any]
    if name == "showTypingIndicator":
        base = {"authorType": "BOT"}
    elif name == "chatMessageCreated":
        base = {
            "id": str(uuid.uuid4()),
            "authorType": "OPERATOR",
            "authorId": OPERATOR_AUTHOR_ID,
            "authorName": "Operator",
            "body": "",
            "answers": [],
            "keyboard": None,
            "createdAt": iso(now),
            "sessionId": session_id,
            "attachments": [],
            "actions": [],
            "type": "REGULAR",
        }
    elif name == "operatorChanged":
        base = {
            "operatorId": OPERATOR_AUTHOR_ID,
            "operatorName": "Operator",
            "avatar": OPERATOR_AVATAR,
            "previousOperatorId": BOT_AUTHOR_ID,
            "previousOperatorName": BOT_AUTHOR_NAME,
            # Seed 003's own example gives null here: the bot had no avatar.
            "previousOperatorAvatar": None,
        }
    elif name == "chatMessageRead":
        base = {"messageId": str(uuid.uuid4())}
    else:
        base = {"sessionId": session_id, "chatId": None, "sessionRatingRequired": False}
    base.update(fields_given)
    return base


def message_event(message: Mapping[str, Any]) -> dict[str, Any]:
    """A stored chat message as a ``chatMessageCreated`` payload (twin-api.md §5.6)."""
    actions = message.get("actions")
    return {
        "id": message.get("id"),
        "authorType": message.get("authorType"),
        "authorId": message.get("authorId"),
        "authorName": message.get("authorName"),
        "body": message.get("body") or "",
        "answers": list(message.get("answers") or []),
        "keyboard": message.get("keyboard"),
        "createdAt": message.get("createdAt"),
        "sessionId": message.get("sessionId"),
        "attachments": list(message.get("attachments") or []),
        "actions": actions if isinstance(actions, list) else [],
        "type": message.get("type") or "REGULAR",
    }


__all__ = ["EVENT_NAMES", "OPERATOR_AUTHOR_ID", "OPERATOR_AVATAR", "default_payload", "message_event"]
