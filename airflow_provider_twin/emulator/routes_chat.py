"""Chat service: start/continue bot sessions, read, list and close them, post client messages and
mark messages read (twin-api.md §4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .chat_session import DEFAULT_SESSION_TTL, MAX_SESSION_TTL, ChatSession, start_response
from .clock import parse_aware_datetime
from .ids import is_uuid
from .list_requests import Page, time_bounds
from .query_params import QueryError
from .responses import (
    MalformedJSONError,
    error_response,
    json_response,
    malformed_json,
    not_found,
    read_json,
    validation_error,
)
from .route_requests import answer_authorised, answer_page, authorised_body
from .session_filters import further_filtered
from .session_store import SessionExistsError
from .state import EmulatorState, state_of

CHAT_PREFIX = "/chat/api/v1"

router = APIRouter(prefix=CHAT_PREFIX)
_STRING_FIELDS = (
    "name",
    "botId",
    "messengerType",
    "messengerUserId",
    "messageBody",
    "clientNameForOperator",
    "clientId",
    "clientExternalId",
    "clientPhone",
    "clientEmail",
    "clientDeviceId",
    "channel",
    "referer",
)


def _validate_start(body: Any) -> tuple[int, dict[str, list[str]]]:
    """Check a start/continue body; returns the session ttl and error details."""
    if not isinstance(body, dict):
        return DEFAULT_SESSION_TTL, {"body": ["Must be a JSON object."]}
    details: dict[str, list[str]] = {}
    ttl = body.get("sessionTtl")
    if ttl is None:
        ttl = DEFAULT_SESSION_TTL
    elif isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_SESSION_TTL:
        details["sessionTtl"] = [f"Must be an integer number of seconds from 1 to {MAX_SESSION_TTL}."]
    session_id = body.get("sessionId")
    if session_id is not None and not is_uuid(session_id):
        details["sessionId"] = ["Must be a UUID."]
    for key in _STRING_FIELDS:
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            details[key] = ["Must be a string."]
    return (ttl if isinstance(ttl, int) else DEFAULT_SESSION_TTL), details


def _known_chat(state: EmulatorState, chat_id: str) -> bool:
    if not is_uuid(chat_id):
        return False
    chats = state.settings.chats
    return chats is None or chat_id.lower() in chats


async def _start_or_continue(request: Request, chat_id: str, allow_continue: bool) -> Response:
    """Shared body of the start (POST) and continue-or-start (PUT) calls.

    Session start is documented without auth while the SDK sends a bearer token (twin-api.md §2.3,
    ASSUMPTION §7.14): the header is accepted and not required.
    """
    state = state_of(request)
    if not _known_chat(state, chat_id):
        return not_found()
    try:
        body = await read_json(request, empty={})
    except MalformedJSONError:
        return malformed_json()
    ttl, details = _validate_start(body)
    if details:
        return validation_error(details)
    chat = chat_id.lower()
    with state.lock:
        now = state.now()
        store = state.sessions
        store.sweep(now)
        if allow_continue:
            existing = _session_to_continue(state, chat, body, now)
            if existing is not None:
                count_before = len(existing.messages)
                store.continue_session(existing, body, now)
                replies = [m for m in existing.messages[count_before:] if m["authorType"] != "CLIENT"]
                return json_response(start_response(existing, replies), 200)
        try:
            session = store.start(chat, body, ttl, now, state.settings.bot_greeting)
        except SessionExistsError:
            # ASSUMPTION: TWIN's answer to a reused sessionId is not documented.
            return error_response("Session already exists", 409)
        replies = [m for m in session.messages if m["authorType"] == "BOT"]
        return json_response(start_response(session, replies), 201)


def _session_to_continue(
    state: EmulatorState, chat: str, body: dict[str, Any], now: float
) -> ChatSession | None:
    """The open session named by ``sessionId``, else the client's last open session of the chat."""
    requested = body.get("sessionId")
    if isinstance(requested, str):
        candidate = state.sessions.get(requested)
        if candidate is not None and candidate.chat_id == chat and candidate.is_open(now):
            return candidate
    return state.sessions.find_open_for_client(chat, body, now)


@router.post("/chats/{chatId}/sessions")
async def start_session(chatId: str, request: Request) -> Response:
    """Start a new bot session; 201 with the bot's first messages (twin-api.md §4.2)."""
    return await _start_or_continue(request, chatId, allow_continue=False)


@router.put("/chats/{chatId}/sessions")
async def continue_session(chatId: str, request: Request) -> Response:
    """Continue the client's last open session (200) or start a new one (201) (twin-api.md §4.3)."""
    return await _start_or_continue(request, chatId, allow_continue=True)


@router.get("/sessions")
async def list_sessions(request: Request) -> Response:
    """Sessions filtered by ``sessionId``, ``status``, ``chatId``, ``name``, ``from``/``to`` on
    ``startedAt`` and the further filters of :mod:`.session_filters` (twin-api.md §4.4)."""

    def listed(state: EmulatorState, page: Page) -> Response:
        query = page.query
        bounds = time_bounds(query)
        if isinstance(bounds, Response):
            return bounds
        now = state.now()
        state.sessions.sweep(now)
        found = state.sessions.search(
            now,
            session_ids=query.csv("sessionId"),
            statuses=query.upper_set("status"),
            chat_ids=query.csv("chatId"),
            names=query.csv("name"),
            started_from=bounds[0],
            started_to=bounds[1],
        )
        found = further_filtered(found, query, now)
        try:
            query.raise_errors()
        except QueryError as exc:
            return validation_error(exc.details)
        items = [session.info(now) for session in page.window(found)]
        return json_response({"count": len(found), "items": items})

    return answer_page(request, listed)


def within(created_at: Any, lower: float | None, upper: float | None) -> bool:
    """Whether an ISO ``createdAt`` lies within the inclusive bounds (None: unbounded)."""
    if lower is None and upper is None:
        return True
    moment = parse_aware_datetime(created_at) if isinstance(created_at, str) else None
    if moment is None:
        return False
    return (lower is None or moment >= lower) and (upper is None or moment <= upper)


@router.get("/sessions/{sessionId}")
async def get_session(sessionId: str, request: Request) -> Response:
    """One session; 404 ``Entity not found`` when unknown."""

    def found(state: EmulatorState) -> Response:
        now = state.now()
        state.sessions.sweep(now)
        session = state.sessions.get(sessionId)
        return not_found() if session is None else json_response(session.info(now))

    return answer_authorised(request, found)


@router.get("/sessions/{sessionId}/messages")
async def session_messages(sessionId: str, request: Request) -> Response:
    """Messages of a session, oldest first, ``from``/``to`` on ``createdAt`` (inclusive; twin-api.md
    §4.5)."""

    def listed(state: EmulatorState, page: Page) -> Response:
        bounds = time_bounds(page.query)
        if isinstance(bounds, Response):
            return bounds
        session = state.sessions.get(sessionId)
        if session is None:
            return not_found()
        messages = [m for m in session.messages if within(m.get("createdAt"), *bounds)]
        return json_response({"count": len(messages), "items": page.window(messages)})

    return answer_page(request, listed)


def close_body_details(body: dict[str, Any], strict: bool) -> dict[str, list[str]]:
    """What is wrong with a ``DELETE /sessions/{id}`` body (twin-api.md §4.1, §8: ``{"result": string}``).

    Strict mode asks for the documented ``result`` string; lenient mode also takes an empty body
    (ASSUMPTION: TWIN's need of it is undocumented beyond the SDK sending it).
    """
    result = body.get("result")
    if result is None and not strict:
        return {}
    if not isinstance(result, str):
        return {"result": ["Must be a string."]}
    return {}


@router.delete("/sessions/{sessionId}")
async def close_session(sessionId: str, request: Request) -> Response:
    """Close a session now; 204 (ASSUMPTION twin-api.md §7.23), also when it was closed already.

    Body ``{"result": string}`` (twin-api.md §4.1): required in strict mode, optional otherwise;
    the result is accepted and not shown (the session object of §4.4 has no field for it).
    """
    checked = await authorised_body(request, allow_empty=True)
    if isinstance(checked, Response):
        return checked
    state, body = checked
    with state.lock:
        details = close_body_details(body, state.settings.strict)
        if details:
            return validation_error(details)
        session = state.sessions.get(sessionId)
        if session is None:
            return not_found()
        state.sessions.close(session, state.now(), 0.0, False)
    return Response(status_code=204)


#: The fields of a chat message's attachment (twin-api.md §4.5; ``sugestedExtension`` is TWIN's spelling).
_ATTACHMENT_FIELDS = ("id", "isPrivate", "createdAt", "name", "baseName", "extension", "path", "size", "url")


def _attachment(state: EmulatorState, base_url: str, file_id: str) -> dict[str, Any] | None:
    """The §4.5 attachment object of the stored file ``file_id``, or None (no such live file).

    ASSUMPTION (emulator): a chat attachment id is the id of a file in IAM's file storage (§2.6).
    """
    stored = state.files.get(file_id, state.now())
    if stored is None:
        return None
    metadata = stored.metadata(base_url)
    item = {key: metadata[key] for key in _ATTACHMENT_FIELDS}
    item["sugestedExtension"] = metadata["suggestedExtension"]
    item["downloadLink"] = metadata["downloadLink"]
    return item


def _client_message_extra(
    session: ChatSession,
    body: dict[str, Any],
    details: dict[str, list[str]],
    attachment: Callable[[str], dict[str, Any] | None] | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Check a client message body; returns its ``attachments`` and ``replyTo`` as stored.

    ``attachment(id)`` gives a stored file's attachment object (None: unknown); strict mode
    refuses an unknown id (``attachments[i]``), lenient mode keeps it as ``{"id"}``.
    """
    text = body.get("body")
    attachments = body.get("attachments")
    if attachments is None:
        attachments = []
    if not isinstance(attachments, list) or not all(isinstance(item, str) for item in attachments):
        details["attachments"] = ["Must be a list of attachment ids (strings)."]
        attachments = []
    if not isinstance(text, str) or (not text and not attachments):
        details["body"] = ["Must be a non-empty string (or an empty one with attachments)."]
    reply_to: dict[str, Any] | None = None
    wanted = body.get("replyToMessageId")
    if wanted is not None:
        found = [m for m in session.messages if isinstance(wanted, str) and m["id"] == wanted.lower()]
        if not found:
            details["replyToMessageId"] = ["Must be the id of a message of this session."]
        else:
            keys = ("id", "sessionId", "body", "authorType", "attachments", "createdAt", "authorName")
            reply_to = {key: found[0][key] for key in keys}
    filled: list[dict[str, Any]] = []
    for index, item in enumerate(attachments):
        stored = attachment(item) if attachment is not None else None
        if stored is None and strict:
            details[f"attachments[{index}]"] = ["Must be the id of a stored file (POST /files)."]
        filled.append(stored if stored is not None else {"id": item})
    return {"attachments": filled, "replyTo": reply_to}


@router.post("/sessions/{sessionId}/clients/messages")
async def post_client_message(sessionId: str, request: Request) -> Response:
    """A client message into an open session: ``201 {"id", "createdAt"}`` (twin-api.md §4.5).

    Body ``{"body", "attachments", "replyToMessageId"}``. ASSUMPTION (emulator): a closed session
    refuses it with 422; the status of the answer (201) is not documented.
    """
    checked = await authorised_body(request, allow_empty=False)
    if isinstance(checked, Response):
        return checked
    state, body = checked
    with state.lock:
        now = state.now()
        state.sessions.sweep(now)
        session = state.sessions.get(sessionId)
        if session is None:
            return not_found()
        details: dict[str, list[str]] = {}
        base_url = str(request.base_url)
        extra = _client_message_extra(
            session,
            body,
            details,
            lambda file_id: _attachment(state, base_url, file_id),
            state.settings.strict,
        )
        if not session.is_open(now):
            details["sessionId"] = ["The session is closed."]
        if details:
            return validation_error(details)
        message = state.sessions.add_client_message(session, body["body"], now, extra)
    return json_response({"id": message["id"], "createdAt": message["createdAt"]}, 201)


@router.patch("/messages/{messageId}/read")
async def mark_message_read(messageId: str, request: Request) -> Response:
    """Mark a chat message read (twin-api.md §4.1): ``200`` with the message, its ``readAt`` set.

    ASSUMPTIONS (undocumented): the answer is the message object (twin-api.md §7.23: 200 with JSON
    for PATCH); a message read before keeps its first ``readAt``; an unknown id answers ``404``.
    """

    def read(state: EmulatorState) -> Response:
        message = state.sessions.mark_read(messageId, state.now())
        return not_found() if message is None else json_response(message)

    return answer_authorised(request, read)
