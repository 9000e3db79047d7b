"""TWIN's realtime chat events (twin-api.md §5.6): their names and payloads."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from .chat_session import BOT_AUTHOR_ID
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
            "avatar": None,
            "previousOperatorId": BOT_AUTHOR_ID,
            "previousOperatorName": "Bot",
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
        "body": message.get("body") or "",
        "answers": list(message.get("answers") or []),
        "keyboard": message.get("keyboard"),
        "createdAt": message.get("createdAt"),
        "sessionId": message.get("sessionId"),
        "attachments": list(message.get("attachments") or []),
        "actions": actions if isinstance(actions, list) else [],
        "type": message.get("type") or "REGULAR",
    }


__all__ = ["EVENT_NAMES", "OPERATOR_AUTHOR_ID", "default_payload", "message_event"]
