"""Start a chat session exactly once, however often the start is repeated.

The start request carries a caller-chosen ``sessionId`` (twin-api.md §4.2), so a repeat cannot
start a second session: a retry first looks the id up, and TWIN refusing the id as taken
(``409``) means an earlier attempt started it. Either way the existing session is reused,
unless it belongs to another chat (an id collision).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_twin.client.chat.api import (
    continue_or_start_session,
    get_session,
    session_messages,
    start_session,
)
from airflow_provider_twin.client.chat.models import SessionInfo
from airflow_provider_twin.client.core.errors import TwinConflictError, TwinInputError, TwinNotFoundError
from airflow_provider_twin.client.core.flows import Procedure

#: How many bot/operator messages of a reused session are returned.
REUSED_MESSAGES_LIMIT = 20


def start_once(
    chat_id: str, body: Mapping[str, Any], *, continue_session: bool = False, look_first: bool = False
) -> Procedure[dict[str, Any]]:
    """Start the session ``body["sessionId"]`` in ``chat_id``, or reuse it if it exists.

    :param continue_session: ``PUT`` (continue the client's open session or start one, §4.3)
        instead of ``POST``.
    :param look_first: look the id up before starting (a retry: an earlier try may have started it).
    :returns: the session's ids, its bot messages and whether it was ``reused``
        (:func:`session_result`).
    :raises TwinInputError: the id belongs to a session of another chat.
    """
    session_id = str(body["sessionId"])
    if look_first:
        existing = yield from _existing(session_id)
        if existing is not None:
            return (yield from _reuse(chat_id, existing))
    call = continue_or_start_session if continue_session else start_session
    try:
        started = yield call(chat_id, body)
    except TwinConflictError:
        # The id is taken: a previous try (or a repeat of this request) started it.
        existing = yield from _existing(session_id)
        if existing is None:
            raise
        return (yield from _reuse(chat_id, existing))
    return session_result(chat_id, started, reused=False)


def _existing(session_id: str) -> Procedure[SessionInfo | None]:
    try:
        info: SessionInfo = yield get_session(session_id)
    except TwinNotFoundError:
        return None
    return info


def _reuse(chat_id: str, info: SessionInfo) -> Procedure[dict[str, Any]]:
    found_chat = str(info.get("chatId") or chat_id)
    if found_chat.lower() != chat_id.lower():
        raise TwinInputError(
            f"chat session {info.get('id')} already exists in chat {found_chat}, "
            f"not in {chat_id}; give another session_id or idempotency_key"
        )
    page = yield session_messages(str(info.get("id")), limit=REUSED_MESSAGES_LIMIT)
    items = page.get("items") if isinstance(page.get("items"), list) else []
    messages = [
        _message(item)
        for item in items or []
        if isinstance(item, Mapping) and str(item.get("authorType") or "").upper() != "CLIENT"
    ]
    started = {
        "id": info.get("id"),
        "clientId": info.get("clientId"),
        "startedAt": info.get("startedAt"),
        "ttl": info.get("ttl"),
        "messages": messages,
    }
    return session_result(chat_id, started, reused=True)


def _message(item: Mapping[str, Any]) -> dict[str, Any]:
    """A message in the start answer's shape (twin-api.md §4.2)."""
    return {
        "authorId": item.get("authorId"),
        "authorType": item.get("authorType"),
        "body": item.get("body"),
        "answers": item.get("answers") or [],
        "keyboard": item.get("keyboard"),
        "actions": item.get("actions") or {},
        "attachments": item.get("attachments") or [],
    }


def session_result(chat_id: str, started: Mapping[str, Any], *, reused: bool) -> dict[str, Any]:
    """The plain-JSON description of a started (or reused) session."""
    return {
        "session_id": started.get("id"),
        "chat_id": chat_id,
        "client_id": started.get("clientId"),
        "started_at": started.get("startedAt"),
        "ttl": started.get("ttl"),
        "messages": [dict(message) for message in started.get("messages") or []],
        "reused": reused,
    }


__all__ = ["REUSED_MESSAGES_LIMIT", "session_result", "start_once"]
