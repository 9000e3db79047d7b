"""Admin shortcuts that make many TWIN events at once, for benchmarks and load tests.

Each answers the time of every event it made (ISO and POSIX seconds on the emulator's clock), so a
benchmark can measure how long an event took to reach its consumer:

* ``POST /_emulator/messages`` — ``count`` messages that reach a chosen final ``status``;
* ``POST /_emulator/sessions/start-many`` — ``count`` chat sessions;
* ``POST /_emulator/sessions/client-messages`` — client messages into open sessions;
* ``POST /_emulator/sessions/close-many`` — close open sessions, optionally with a rating.

The events are the same as the product API's: messages go through the notify intake (listing,
counters, status webhooks), sessions through the session store (REST and realtime events).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .chat_session import DEFAULT_SESSION_TTL, MAX_SESSION_TTL, ChatSession
from .clock import iso
from .ids import is_uuid
from .outcomes import OutcomePicker
from .responses import json_response, read_json_object, validation_error
from .routes_admin import ADMIN_PREFIX, close_refusals
from .settings import CHANNEL_KEYS
from .state import EmulatorState, state_of
from .statuses import FINAL_OUTCOMES
from .validation import validate_batch

router = APIRouter(prefix=ADMIN_PREFIX)

#: Most events one call makes.
MAX_EVENTS = 100_000
#: The chat ``start-many`` uses when the body names none and every UUID is a chat.
DEFAULT_BENCH_CHAT = "2b1c5a9e-7a52-4a6f-9a3e-3d0c4f1e8b11"


def _count(body: dict[str, Any], details: dict[str, list[str]], default: int | None = None) -> int:
    value = body.get("count", default)
    if value is None and default is None:
        return MAX_EVENTS
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EVENTS:
        details["count"] = [f"Must be an integer from 1 to {MAX_EVENTS}."]
        return 0
    return value


def _optional_text(body: dict[str, Any], key: str, details: dict[str, list[str]]) -> str | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        details[key] = ["Must be null or a non-empty string."]
        return None
    return value


@router.post("/messages")
async def make_messages(request: Request) -> Response:
    """``count`` one-channel messages that reach ``status`` ``delivery_seconds`` after creation.

    Body: ``count`` (required), ``status`` (``DELIVERED``, ``UNDELIVERED``, ``ERROR``, ``EXPIRED``;
    default ``DELIVERED``), ``channel`` (default ``sms``), ``delivery_seconds`` (default the
    setting), ``bulk_id``, ``callback_url``, ``callback_data``. Answers ``201`` with the ``bulkId``,
    ``groupId``, message ``ids``, and ``created_at``/``final_at`` (when they reach ``status``).
    """
    state = state_of(request)
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    details: dict[str, list[str]] = {}
    count = _count(body, details, default=0)
    status = str(body.get("status") or "DELIVERED").upper()
    if status not in FINAL_OUTCOMES:
        details["status"] = [f"Must be one of {', '.join(FINAL_OUTCOMES)}."]
    channel = str(body.get("channel") or "sms").lower()
    if channel not in CHANNEL_KEYS:
        details["channel"] = [f"Must be one of {', '.join(sorted(CHANNEL_KEYS))}."]
    delivery = body.get("delivery_seconds")
    if delivery is not None and (
        isinstance(delivery, bool) or not isinstance(delivery, int | float) or delivery < 0
    ):
        details["delivery_seconds"] = ["Must be null or a number >= 0."]
    texts = {key: _optional_text(body, key, details) for key in ("bulk_id", "callback_url", "callback_data")}
    if details:
        return validation_error(details)
    with state.lock:
        first_phone = 70_000_000_000 + state.messages.records_created
        message: dict[str, Any] = {
            "destinations": [{"phone": str(first_phone + number)} for number in range(count)],
            "channels": {channel: {"text": f"Benchmark message ({status})"}},
            "callbackUrl": texts["callback_url"],
            "callbackData": texts["callback_data"],
        }
        plan, problems = validate_batch({"bulkId": texts["bulk_id"], "messages": [message]}, strict=False)
        if plan is None:
            return validation_error(problems)
        picker = OutcomePicker(state.settings, state.picker.rng)
        picker.fixed = status
        seconds = state.settings.delivery_seconds if delivery is None else float(delivery)
        now = state.now()
        state.messages.create(plan, now, seconds, picker, state.settings.time_ranges_utc_offset_minutes * 60)
        state.note_stored(count)
        records = state.messages.records
        first = len(records.segs) - count
        ids = [records.record_id(index) for index in range(first, len(records.segs))]
        env = records.envs[first]
        answer = {
            "bulkId": env.bulk_id,
            "groupId": env.group_id,
            "count": count,
            "status": status,
            "ids": ids,
            "created_at": iso(now),
            "final_at": iso(now + seconds),
            "created_ts": now,
            "final_ts": now + seconds,
        }
    return json_response(answer, 201)


@router.post("/sessions/start-many")
async def start_sessions(request: Request) -> Response:
    """Start ``count`` sessions of ``chat_id`` (body also ``ttl``, ``message_body``); answers ``201``
    with each session's ``id``, ``chatId``, ``clientId``, ``startedAt`` and ``started_ts``."""
    state = state_of(request)
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    details: dict[str, list[str]] = {}
    count = _count(body, details, default=0)
    chat = body.get("chat_id")
    ttl = body.get("ttl", DEFAULT_SESSION_TTL)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_SESSION_TTL:
        details["ttl"] = [f"Must be an integer from 1 to {MAX_SESSION_TTL}."]
    text = _optional_text(body, "message_body", details)
    with state.lock:
        chats = state.settings.chats
        if chat is None:
            chat = chats[0] if chats else DEFAULT_BENCH_CHAT
        if not is_uuid(chat) or (chats is not None and str(chat).lower() not in chats):
            details["chat_id"] = ["Must be null or the id of a chat that exists."]
        if details:
            return validation_error(details)
        now = state.now()
        items = []
        start_body = {} if text is None else {"messageBody": text}
        for _ in range(count):
            session = state.sessions.start(
                str(chat).lower(), start_body, ttl, now, state.settings.bot_greeting
            )
            items.append(
                {
                    "id": session.id,
                    "chatId": session.chat_id,
                    "clientId": session.client_id,
                    "startedAt": iso(now),
                    "started_ts": now,
                }
            )
    return json_response({"count": len(items), "items": items}, 201)


def _open_sessions(
    state: EmulatorState, body: dict[str, Any], details: dict[str, list[str]], now: float
) -> list[ChatSession]:
    """The open sessions a bulk call names: ``session_ids``, else those of ``chat_id``, else all."""
    ids = body.get("session_ids")
    chat = body.get("chat_id")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(item, str) for item in ids)):
        details["session_ids"] = ["Must be null or a list of session ids."]
        return []
    if chat is not None and not isinstance(chat, str):
        details["chat_id"] = ["Must be null or a chat id."]
        return []
    return state.sessions.search(
        now, session_ids=ids, chat_ids=None if chat is None else [chat], statuses=frozenset({"OPEN"})
    )


@router.post("/sessions/client-messages")
async def client_messages(request: Request) -> Response:
    """``per_session`` client messages (default 1, text ``body``) into each open session named by
    ``session_ids`` / ``chat_id`` (else all open ones), at most ``count`` sessions; answers ``201``
    with each message's ``sessionId``, ``id``, ``createdAt`` and ``created_ts``."""
    state = state_of(request)
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    details: dict[str, list[str]] = {}
    count = _count(body, details)
    per_session = body.get("per_session", 1)
    if isinstance(per_session, bool) or not isinstance(per_session, int) or not 1 <= per_session <= 100:
        details["per_session"] = ["Must be an integer from 1 to 100."]
    text = body.get("body", "Benchmark client message")
    if not isinstance(text, str) or not text:
        details["body"] = ["Must be a non-empty string."]
    with state.lock:
        now = state.now()
        state.sessions.sweep(now)
        sessions = _open_sessions(state, body, details, now)
        if details:
            return validation_error(details)
        items = []
        for session in sessions[:count]:
            for _ in range(per_session):
                message = state.sessions.add_client_message(session, text, now)
                item = {"sessionId": session.id, "id": message["id"], "createdAt": message["createdAt"]}
                items.append({**item, "created_ts": now})
    return json_response({"count": len(items), "items": items}, 201)


@router.post("/sessions/close-many")
async def close_sessions(request: Request) -> Response:
    """Close the open sessions named by ``session_ids`` / ``chat_id`` (else all open ones), at most
    ``count``, now or after ``after_seconds``, with ``rating_required`` and ``rating`` as the single
    close takes them; answers each session's ``id``, ``chatId``, ``closedAt``, ``closed_ts``,
    ``rating``."""
    state = state_of(request)
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    details: dict[str, list[str]] = {}
    count = _count(body, details)
    after = body.get("after_seconds", 0) or 0
    rating = body.get("rating")
    details.update(close_refusals(after, body.get("rating_required", False), rating))
    with state.lock:
        now = state.now()
        state.sessions.sweep(now)
        sessions = _open_sessions(state, body, details, now)
        if details:
            return validation_error(details)
        items = []
        for session in sessions[:count]:
            state.sessions.close(session, now, float(after), body.get("rating_required", False), rating)
            closed = session.closed_at()
            item = {"id": session.id, "chatId": session.chat_id, "closedAt": iso(closed)}
            items.append({**item, "closed_ts": closed, "rating": session.rating})
    if after > 0 and items:
        asyncio.get_running_loop().call_later(float(after) + 0.01, state.sweep_sessions)
    return json_response({"count": len(items), "items": items})


__all__ = ["DEFAULT_BENCH_CHAT", "MAX_EVENTS", "router"]
