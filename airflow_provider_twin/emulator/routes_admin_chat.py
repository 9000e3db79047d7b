"""Admin API to play a chat client: ``POST /_emulator/chat/replies`` writes the client's reply.

A test of a flow that asks a person something over a TWIN chat (for instance a question sent through
the ``chat`` channel of ``POST /messages``) needs that person to answer. This call finds the person's
open session and adds a ``CLIENT`` message to it, exactly as ``POST /sessions/{id}/clients/messages``
would (the reply is stored, counts as client activity, and the bot "types" on the realtime channel).

Body: ``body`` (required, the text) and at least one way to find the session, all given ones must
match (AND):

* ``sessionId`` — the session itself;
* ``sessionName`` — the session's ``name`` (e.g. the ``chatSessionName`` of a Notify message);
* a client identity: ``phone`` (compared digit by digit, so ``+7 900 123-45-67`` finds
  ``79001234567``), ``messengerUserId``, ``clientId`` or ``externalId`` (the session's
  ``clientExternalId``);
* ``chatId`` narrows any of them to one chat.

Several open sessions match: the latest started gets the reply. Answers ``201 {"id", "createdAt",
"sessionId"}``; ``404 {"error": ...}`` when no open session matches; ``422`` naming the field for bad
input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .chat_session import ChatSession
from .responses import error_response, json_response, read_json_object, validation_error
from .routes_admin import ADMIN_PREFIX
from .state import state_of

router = APIRouter(prefix=ADMIN_PREFIX)

#: Body fields that find the session (``chatId`` only narrows the others).
FINDERS: tuple[str, ...] = ("sessionId", "sessionName", "phone", "messengerUserId", "clientId", "externalId")
_OPTIONAL_TEXTS: tuple[str, ...] = (*FINDERS, "chatId")


def _digits(phone: str | None) -> str:
    return "".join(char for char in phone or "" if char.isdigit())


def _criteria(wanted: dict[str, str]) -> list[Callable[[ChatSession], bool]]:
    """One test per given field; a session matches when it passes all of them."""
    tests: list[Callable[[ChatSession], bool]] = []
    if "sessionId" in wanted:
        session_id = wanted["sessionId"].lower()
        tests.append(lambda session: session.id == session_id)
    if "chatId" in wanted:
        chat_id = wanted["chatId"].lower()
        tests.append(lambda session: session.chat_id == chat_id)
    if "sessionName" in wanted:
        name = wanted["sessionName"]
        tests.append(lambda session: session.name == name)
    if "phone" in wanted:
        phone = _digits(wanted["phone"]) or wanted["phone"]
        tests.append(lambda session: (_digits(session.client_phone) or session.client_phone) == phone)
    if "messengerUserId" in wanted:
        user = wanted["messengerUserId"]
        tests.append(lambda session: session.messenger_user_id == user)
    if "clientId" in wanted:
        client = wanted["clientId"]
        tests.append(lambda session: session.client_id == client)
    if "externalId" in wanted:
        external = wanted["externalId"]
        tests.append(lambda session: session.client_external_id == external)
    return tests


def _read_reply(body: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, list[str]]]:
    """The reply text, the given finders and what is wrong with the body."""
    details: dict[str, list[str]] = {}
    text = body.get("body")
    if not isinstance(text, str) or not text:
        details["body"] = ["Required: the text of the client's reply (a non-empty string)."]
        text = ""
    wanted: dict[str, str] = {}
    for key in _OPTIONAL_TEXTS:
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            details[key] = ["Must be null or a non-empty string."]
        else:
            wanted[key] = value
    if not any(key in wanted or key in details for key in FINDERS):
        details["sessionId"] = ["Give one of " + ", ".join(FINDERS) + " to find the session."]
    return text, wanted, details


@router.post("/chat/replies")
async def reply_in_chat(request: Request) -> Response:
    """The client of an open chat session replies: a ``CLIENT`` message, found by session id, session
    name or client identity (optionally within ``chatId``); answers ``201 {"id", "createdAt",
    "sessionId"}``, ``404`` when no open session matches, ``422`` naming the bad field."""
    state = state_of(request)
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    text, wanted, details = _read_reply(body)
    if details:
        return validation_error(details)
    tests = _criteria(wanted)
    with state.lock:
        now = state.now()
        state.sessions.sweep(now)
        found = [
            session
            for session in state.sessions.search(now, statuses=frozenset({"OPEN"}))
            if all(test(session) for test in tests)
        ]
        if not found:
            given = ", ".join(f"{key}={value!r}" for key, value in wanted.items())
            return error_response(f"No open chat session matches {given}.", 404)
        # max() keeps the first of equal start times; the list is in creation order.
        session = max(reversed(found), key=lambda candidate: candidate.started_at)
        message = state.sessions.add_client_message(session, text, now)
    answer = {"id": message["id"], "createdAt": message["createdAt"], "sessionId": session.id}
    return json_response(answer, 201)


__all__ = ["FINDERS", "router"]
