"""What a DAG does with chat sessions: close one, read its transcript, list sessions by filters.

Each is a procedure (run with ``TwinClient.run`` or ``await AsyncTwinClient.run``) over the
documented chat calls (twin-api.md §4.1, §4.4, §4.5):

* :func:`close_once`: ``DELETE /sessions/{id}`` with ``{"result": …}``, idempotent: a session
  already closed (by TWIN, the client or an earlier try) is a success with ``closed=False``;
* :func:`read_transcript`: every page of ``GET /sessions/{id}/messages``, as a typed list,
  optionally only some authors (``CLIENT``, ``BOT``…), bounded in count and size, with no
  attachment links (they may be signed URLs);
* :func:`find_sessions`: ``GET /sessions`` with the documented filters (§4.4), every page up to
  a bound, as ids and compact session facts.

ASSUMPTION (twin-api.md §7.15): TWIN does not document the session ``status`` enum; "closed" is
judged with :data:`~.session_check.CLOSED_STATUSES` (the emulator's ``CLOSED``), settable per call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, TypedDict

from airflow_provider_twin.client.chat.api import close_session, get_session, list_sessions, session_messages
from airflow_provider_twin.client.chat.models import SessionInfo, SessionMessagePage, SessionPage
from airflow_provider_twin.client.chat.session_check import CLOSED_STATUSES, closed_result
from airflow_provider_twin.client.core.calls import ApiCall, next_page
from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.core.flows import Procedure

#: Default and largest number of messages a transcript holds.
DEFAULT_TRANSCRIPT_MESSAGES = 500
MAX_TRANSCRIPT_MESSAGES = 10000
#: Default and largest size of a transcript's messages, in characters of their JSON (XCom bound).
DEFAULT_TRANSCRIPT_CHARS = 1_000_000
MAX_TRANSCRIPT_CHARS = 50_000_000
#: Longest message body a transcript keeps, in characters (the messengers' 4096); longer ends in "…".
MAX_BODY_CHARS = 4096
#: Default and largest number of sessions a listing returns.
DEFAULT_LISTED_SESSIONS = 100
MAX_LISTED_SESSIONS = 10000
#: Items per request (TWIN's page limit is undocumented; 100 is what the provider asks elsewhere).
PAGE_SIZE = 100

#: The filters of ``GET /sessions`` (twin-api.md §4.4), by their snake_case and TWIN names.
SESSION_FILTERS: dict[str, str] = {
    "session_id": "sessionId",
    "from": "from",
    "started_from": "from",
    "to": "to",
    "started_to": "to",
    "marked_as_spam": "markedAsSpam",
    "operator_id": "operatorId",
    "operator_type": "operatorType",
    "bot_status": "botStatus",
    "status": "status",
    "name": "name",
    "chat_id": "chatId",
    "group_by_client_id": "groupByClientId",
    "tags": "tags",
    "client_banned": "clientBanned",
    "keyword": "keyword",
}
_TWIN_FILTERS = frozenset(SESSION_FILTERS.values())
_BOOLEAN_FILTERS = frozenset({"markedAsSpam", "groupByClientId", "clientBanned"})
#: Attachment fields a transcript keeps: no ``url``, ``downloadLink`` or ``path`` (links may be signed).
_ATTACHMENT_FIELDS = ("id", "name", "contentType", "extension", "size")


class CloseOutcome(TypedDict):
    """What :func:`close_once` did: ``closed`` is True when this call closed the session."""

    session_id: str
    closed: bool
    status: str | None
    result: str


class TranscriptMessage(TypedDict):
    """One message of a transcript (from TWIN's chat message, twin-api.md §4.5)."""

    id: str | None
    author_type: str | None
    author_name: str | None
    body: str
    created_at: str | None
    read_at: str | None
    reply_to_id: str | None
    attachments: list[dict[str, Any]]


class Transcript(TypedDict):
    """A session's messages, oldest first, and whether the bound cut some off."""

    session_id: str
    messages: list[TranscriptMessage]
    count: int
    truncated: bool


class SessionFacts(TypedDict):
    """The compact facts of a listed session."""

    session_id: str
    chat_id: str | None
    name: str | None
    status: str | None
    bot_status: str | None
    started_at: str | None
    closed_at: str | None
    client_id: str | None
    messenger_type: str | None
    last_message_at: str | None


class SessionListing(TypedDict):
    """What :func:`find_sessions` found: ids, facts, TWIN's total and whether the bound cut some off."""

    session_ids: list[str]
    sessions: list[SessionFacts]
    total: int
    truncated: bool


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _bound(value: Any, name: str, largest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= largest:
        raise TwinInputError(f"{name} must be an integer from 1 to {largest}, got {value!r}")
    return value


def session_ref(value: Any) -> str:
    """The session id a session action was given: an id, a start operator's result
    (``{"session_id": …}``) or a close sensor's payload (``{"sessionId": …}``), so mapping over
    either hands each action its session.

    :raises TwinInputError: when no non-empty session id is found.
    """
    if isinstance(value, Mapping):
        value = value.get("session_id", value.get("sessionId"))
    if not isinstance(value, str) or not value.strip():
        raise TwinInputError(f"session_id must be a non-empty string, got {value!r}")
    return value.strip()


def close_once(
    session_id: str, result: str = "", closed_statuses: Iterable[str] = CLOSED_STATUSES
) -> Procedure[CloseOutcome]:
    """Close ``session_id`` unless it is closed already (``closed=False`` then).

    :param result: the close's outcome label sent as ``{"result": …}`` (TWIN's chat settings name
        the results, twin-api.md §4.6); empty by default.
    :raises TwinNotFoundError: there is no such session.
    """
    statuses = tuple(closed_statuses)
    if not isinstance(result, str):
        raise TwinInputError(f"result must be a string, got {result!r}")
    info: SessionInfo = yield get_session(session_id)
    if closed_result(session_id, info, statuses) is not None:
        return CloseOutcome(
            session_id=session_id, closed=False, status=_text(info.get("status")), result=result
        )
    yield close_session(session_id, result)
    after: SessionInfo = yield get_session(session_id)
    return CloseOutcome(session_id=session_id, closed=True, status=_text(after.get("status")), result=result)


def author_type_set(author_types: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """``author_types`` as a user gives them (one or several, any case), upper-cased; None = all.

    :raises TwinInputError: naming ``author_types`` when it is empty or holds a blank value.
    """
    if author_types is None:
        return None
    values = [author_types] if isinstance(author_types, str) else list(author_types)
    if not values or any(not isinstance(value, str) or not value.strip() for value in values):
        raise TwinInputError(f"author_types must list author types such as 'CLIENT', got {author_types!r}")
    return tuple(dict.fromkeys(value.strip().upper() for value in values))


def transcript_message(item: Mapping[str, Any]) -> TranscriptMessage:
    """A TWIN chat message (twin-api.md §4.5) as a transcript keeps it."""
    raw = item.get("body")
    body = raw if isinstance(raw, str) else ""
    if len(body) > MAX_BODY_CHARS:
        body = body[: MAX_BODY_CHARS - 1] + "…"
    reply = item.get("replyTo")
    attachments = item.get("attachments") if isinstance(item.get("attachments"), list) else []
    return TranscriptMessage(
        id=_text(item.get("id")),
        author_type=_text(item.get("authorType")),
        author_name=_text(item.get("authorName")),
        body=body,
        created_at=_text(item.get("createdAt")),
        read_at=_text(item.get("readAt")),
        reply_to_id=_text(reply.get("id")) if isinstance(reply, Mapping) else None,
        attachments=[
            {key: entry[key] for key in _ATTACHMENT_FIELDS if key in entry}
            for entry in attachments or []
            if isinstance(entry, Mapping)
        ],
    )


def read_transcript(
    session_id: str,
    *,
    author_types: str | Iterable[str] | None = None,
    max_messages: int = DEFAULT_TRANSCRIPT_MESSAGES,
    max_chars: int | None = None,
) -> Procedure[Transcript]:
    """Every message of ``session_id`` (all pages), oldest first, at most ``max_messages`` and
    at most ``max_chars`` characters of JSON in all (default :data:`DEFAULT_TRANSCRIPT_CHARS`,
    about 1 MB: the transcript goes to XCom); ``truncated`` says when either bound left some out.

    :param author_types: keep only these authors (``"CLIENT"``, ``["CLIENT", "BOT"]``); None: all.
        TWIN has no such filter, so the pages are read whole and filtered here.
    :raises TwinNotFoundError: there is no such session.
    """
    wanted = author_type_set(author_types)
    limit = _bound(max_messages, "max_messages", MAX_TRANSCRIPT_MESSAGES)
    room = _bound(
        DEFAULT_TRANSCRIPT_CHARS if max_chars is None else max_chars, "max_chars", MAX_TRANSCRIPT_CHARS
    )
    kept: list[TranscriptMessage] = []
    truncated = False
    call: ApiCall[SessionMessagePage] | None = session_messages(session_id, limit=PAGE_SIZE)
    while call is not None:
        page = yield call
        for item in page["items"]:
            if not isinstance(item, Mapping):
                continue
            if wanted is not None and str(item.get("authorType") or "").upper() not in wanted:
                continue
            message = transcript_message(item)
            room -= len(json.dumps(message, ensure_ascii=False))
            if len(kept) >= limit or room < 0:
                truncated = True
                break
            kept.append(message)
        if truncated:
            break
        call = next_page(call, page)
    return Transcript(session_id=session_id, messages=kept, count=len(kept), truncated=truncated)


def session_filters(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """The filters of ``GET /sessions`` by TWIN's names, checked (snake_case names are read too).

    Dates and date-times become ISO-8601; booleans TWIN's ``1``/``0``; lists comma-joined.

    :raises TwinInputError: naming an unknown filter or a boolean filter that is not a boolean.
    """
    chosen: dict[str, Any] = {}
    for key, value in (filters or {}).items():
        name = key if key in _TWIN_FILTERS else SESSION_FILTERS.get(key)
        if name is None:
            known = ", ".join(sorted(_TWIN_FILTERS))
            raise TwinInputError(f"filters: unknown session filter {key!r} (twin-api.md §4.4: {known})")
        if value is None or value == "":
            continue
        if name in _BOOLEAN_FILTERS and not isinstance(value, bool):
            raise TwinInputError(f"filters.{key} must be true or false, got {value!r}")
        chosen[name] = value.isoformat() if isinstance(value, (date, datetime)) else value
    return chosen


def session_facts(info: Mapping[str, Any]) -> SessionFacts:
    """The compact facts of a TWIN session object (twin-api.md §4.4)."""
    return SessionFacts(
        session_id=str(info.get("id")),
        chat_id=_text(info.get("chatId")),
        name=_text(info.get("name")),
        status=_text(info.get("status")),
        bot_status=_text(info.get("botStatus")),
        started_at=_text(info.get("startedAt")),
        closed_at=_text(info.get("closedAt")),
        client_id=_text(info.get("clientId")),
        messenger_type=_text(info.get("messengerType")),
        last_message_at=_text(info.get("lastMessageCreatedAt")),
    )


def find_sessions(
    filters: Mapping[str, Any] | None = None, *, max_sessions: int = DEFAULT_LISTED_SESSIONS
) -> Procedure[SessionListing]:
    """The sessions matching ``filters`` (:func:`session_filters`), every page up to ``max_sessions``.

    ``total`` is TWIN's count of all matches; ``truncated`` says the bound left some out.
    """
    params = session_filters(filters)
    limit = _bound(max_sessions, "max_sessions", MAX_LISTED_SESSIONS)
    found: list[SessionFacts] = []
    total = 0
    call: ApiCall[SessionPage] | None = list_sessions(limit=min(PAGE_SIZE, limit), **params)
    while call is not None and len(found) < limit:
        page = yield call
        total = int(page.get("count") or 0)
        for info in page["items"]:
            if isinstance(info, Mapping) and isinstance(info.get("id"), str) and len(found) < limit:
                found.append(session_facts(info))
        call = next_page(call, page)
    return SessionListing(
        session_ids=[facts["session_id"] for facts in found],
        sessions=found,
        total=max(total, len(found)),
        truncated=max(total, len(found)) > len(found),
    )


__all__ = [
    "DEFAULT_LISTED_SESSIONS",
    "DEFAULT_TRANSCRIPT_MESSAGES",
    "MAX_BODY_CHARS",
    "MAX_LISTED_SESSIONS",
    "MAX_TRANSCRIPT_MESSAGES",
    "SESSION_FILTERS",
    "CloseOutcome",
    "SessionFacts",
    "SessionListing",
    "Transcript",
    "TranscriptMessage",
    "author_type_set",
    "close_once",
    "find_sessions",
    "read_transcript",
    "session_facts",
    "session_filters",
    "session_ref",
    "transcript_message",
]
