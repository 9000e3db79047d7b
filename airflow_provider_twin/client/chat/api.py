"""Chat calls: start or continue a bot session, read, list and close sessions, post a client
message and mark a message read (twin-api.md §4)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast
from urllib.parse import quote

from airflow_provider_twin.client.chat.models import (
    PostedMessage,
    SessionInfo,
    SessionMessagePage,
    SessionPage,
    StartedSession,
)
from airflow_provider_twin.client.core.calls import ApiCall, expect_object, query_params
from airflow_provider_twin.client.core.errors import TwinInputError, TwinProtocolError

T = TypeVar("T")

#: Longest chat session TWIN allows, in seconds (twin-api.md §4.2: 12 h).
MAX_SESSION_TTL = 43200


def _started(body: Any) -> StartedSession:
    data = expect_object(body)
    if not isinstance(data.get("id"), str):
        raise TwinProtocolError("TWIN chat answered a session start without a session id")
    return cast("StartedSession", data)


def _session(body: Any) -> SessionInfo:
    return cast("SessionInfo", expect_object(body))


def _session_page(body: Any) -> SessionPage:
    data = expect_object(body)
    if not isinstance(data.get("count"), int) or not isinstance(data.get("items"), list):
        raise TwinProtocolError("TWIN chat answered a session list without count/items")
    return cast("SessionPage", data)


def _message_page(body: Any) -> SessionMessagePage:
    data = expect_object(body)
    if not isinstance(data.get("items"), list):
        raise TwinProtocolError("TWIN chat answered a message list without items")
    return cast("SessionMessagePage", data)


def _segment(value: str, name: str) -> str:
    if not value or not isinstance(value, str):
        raise TwinInputError(f"{name} must be a non-empty string")
    return quote(value, safe="")


def _start_payload(body: Mapping[str, Any]) -> dict[str, Any]:
    ttl = body.get("sessionTtl")
    if ttl is not None and (
        isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_SESSION_TTL
    ):
        raise TwinInputError(
            f"sessionTtl must be an integer from 1 to {MAX_SESSION_TTL} seconds, got {ttl!r}"
        )
    return {key: value for key, value in body.items() if value is not None}


def _chat_call(
    method: str, path: str, description: str, parse: Callable[[Any], T], **options: Any
) -> ApiCall[T]:
    return ApiCall(method=method, service="chat", path=path, description=description, parse=parse, **options)


def _sessions_of(chat_id: str) -> str:
    return f"/chats/{_segment(chat_id, 'chat_id')}/sessions"


def _session_path(session_id: str) -> str:
    return f"/sessions/{_segment(session_id, 'session_id')}"


def start_session(chat_id: str, body: Mapping[str, Any]) -> ApiCall[StartedSession]:
    """``POST /chats/{chatId}/sessions``: start a bot session (twin-api.md §4.2).

    With a caller-chosen ``sessionId`` in ``body`` a repeat cannot start a second session
    (TWIN refuses a taken id), so the call is retried after an ambiguous failure.
    """
    payload = _start_payload(body)
    description = f"start a chat session in chat {chat_id}"
    idempotent = bool(payload.get("sessionId"))
    return _chat_call(
        "POST", _sessions_of(chat_id), description, _started, json=payload, idempotent=idempotent
    )


def continue_or_start_session(chat_id: str, body: Mapping[str, Any]) -> ApiCall[StartedSession]:
    """``PUT /chats/{chatId}/sessions``: continue the client's open session or start one (§4.3)."""
    description = f"continue or start a chat session in chat {chat_id}"
    payload = _start_payload(body)
    return _chat_call("PUT", _sessions_of(chat_id), description, _started, json=payload, idempotent=True)


def get_session(session_id: str) -> ApiCall[SessionInfo]:
    """``GET /sessions/{sessionId}`` (twin-api.md §4.4)."""
    return _chat_call("GET", _session_path(session_id), f"read chat session {session_id}", _session)


def list_sessions(*, limit: int = 100, offset: int = 0, **filters: Any) -> ApiCall[SessionPage]:
    """``GET /sessions`` with filters such as ``sessionId``, ``status``, ``chatId`` (§4.4)."""
    params = query_params(limit=limit, offset=offset, **filters)
    return _chat_call("GET", "/sessions", "list chat sessions", _session_page, params=params)


def session_messages(
    session_id: str, *, limit: int = 100, offset: int = 0, **filters: Any
) -> ApiCall[SessionMessagePage]:
    """``GET /sessions/{sessionId}/messages``: the session's messages, oldest first, with filters
    such as ``from``/``to`` on ``createdAt`` (ISO-8601, inclusive; §4.5)."""
    path = f"{_session_path(session_id)}/messages"
    description = f"read the messages of chat session {session_id}"
    params = query_params(limit=limit, offset=offset, **filters)
    return _chat_call("GET", path, description, _message_page, params=params)


def _nothing(body: Any) -> None:
    """Answers whose body the provider does not read (TWIN documents none, §7.23)."""
    return None


def _posted(body: Any) -> PostedMessage:
    data = expect_object(body)
    if not isinstance(data.get("id"), str):
        raise TwinProtocolError("TWIN chat answered a posted message without a message id")
    return cast("PostedMessage", data)


def close_session(session_id: str, result: str) -> ApiCall[None]:
    """``DELETE /sessions/{sessionId}`` with body ``{"result": result}``: close a session now.

    The path and the body are the SDK's (twin-api.md §4.1, §8); TWIN documents no answer body
    (ASSUMPTION §7.23: ``204``). ``result`` is the close's outcome label (the chat's ``results``
    settings name them, §4.6); TWIN's SDK always sends it, so it is required here too.
    """
    if not isinstance(result, str):
        raise TwinInputError(f"result must be a string, got {result!r}")
    description = f"close chat session {session_id}"
    return _chat_call("DELETE", _session_path(session_id), description, _nothing, json={"result": result})


def post_client_message(
    session_id: str,
    body: str,
    *,
    attachments: list[str] | None = None,
    reply_to_message_id: str | None = None,
) -> ApiCall[PostedMessage]:
    """``POST /sessions/{sessionId}/clients/messages``: a message **as the session's client**.

    The only documented way to post into a session (twin-api.md §4.5). TWIN's SDK posts its
    "operator message" to the same path, so the real operator path is unknown (§4.1): what this
    posts counts as the client's words (it restarts the session's ttl). To send our own text
    to a person in chat, use the ``chat`` channel of ``POST /messages`` (§3.2.4) instead.
    Not repeated after an ambiguous failure (a POST: it could post twice).
    """
    if not isinstance(body, str) or (not body and not attachments):
        raise TwinInputError("body must be a non-empty string (or empty with attachments)")
    payload: dict[str, Any] = {"body": body, "attachments": list(attachments or [])}
    if reply_to_message_id:
        payload["replyToMessageId"] = reply_to_message_id
    path = f"{_session_path(session_id)}/clients/messages"
    description = f"post a client message into chat session {session_id}"
    return _chat_call("POST", path, description, _posted, json=payload)


def mark_message_read(message_id: str) -> ApiCall[None]:
    """``PATCH /messages/{messageId}/read``: mark a chat message read (twin-api.md §4.1).

    Marking twice is harmless (the message stays read), so the call is repeated after an
    ambiguous failure. TWIN documents no answer body.
    """
    path = f"/messages/{_segment(message_id, 'message_id')}/read"
    return _chat_call("PATCH", path, f"mark chat message {message_id} read", _nothing, idempotent=True)
