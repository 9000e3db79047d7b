"""The further filters of ``GET /sessions`` (twin-api.md §4.4), beyond id, status, chat, name and time.

TWIN's SDK names them (``SessionQueryRequest``) without saying how they match; the emulator reads them
as follows (ASSUMPTION twin-api.md §4.4, each written in docs/emulator.md "Chat sessions"):

* ``botStatus``: one or several values (comma list), compared case-insensitively with the session's
  ``botStatus`` (``ACTIVE`` while open, ``FINISHED`` once closed);
* ``markedAsSpam``, ``clientBanned``: ``1``/``0``/``true``/``false``; emulated sessions are never
  spam nor banned, so ``1`` matches none and ``0`` all;
* ``operatorId``, ``operatorType``, ``tags``: emulated sessions have no operator and no tags, so a
  given value matches none;
* ``keyword``: case-insensitive substring of the session's name or of one of its message bodies;
* ``groupByClientId``: ``1`` keeps the latest started session of each client (of those matching).
"""

from __future__ import annotations

from collections.abc import Sequence

from .chat_session import ChatSession
from .query_params import Query

#: The filters this module reads.
FURTHER_FILTERS = (
    "botStatus",
    "markedAsSpam",
    "clientBanned",
    "operatorId",
    "operatorType",
    "tags",
    "keyword",
    "groupByClientId",
)


def _flag(query: Query, key: str) -> bool | None:
    """A boolean filter: None when absent (the query records a malformed value as an error)."""
    return None if query.text(key) is None else query.flag(key)


def further_filtered(sessions: Sequence[ChatSession], query: Query, now: float) -> list[ChatSession]:
    """``sessions`` (in creation order) that pass the further filters of ``query``.

    Malformed boolean values are recorded as errors of ``query`` (``query.raise_errors()`` tells).
    """
    bot_statuses = query.upper_set("botStatus")
    spam, banned, grouped = (
        _flag(query, "markedAsSpam"),
        _flag(query, "clientBanned"),
        _flag(query, "groupByClientId"),
    )
    keyword = (query.text("keyword") or "").strip().lower()
    if any(query.text(key) for key in ("operatorId", "operatorType", "tags")) or spam or banned:
        return []
    kept: list[ChatSession] = []
    for session in sessions:
        if (
            bot_statuses is not None
            and ("ACTIVE" if session.is_open(now) else "FINISHED") not in bot_statuses
        ):
            continue
        if keyword and not _mentions(session, keyword):
            continue
        kept.append(session)
    if grouped:
        latest: dict[str, ChatSession] = {}
        for session in kept:
            known = latest.get(session.client_id)
            if known is None or session.started_at >= known.started_at:
                latest[session.client_id] = session
        chosen = {id(session) for session in latest.values()}
        kept = [session for session in kept if id(session) in chosen]
    return kept


def _mentions(session: ChatSession, keyword: str) -> bool:
    if session.name and keyword in session.name.lower():
        return True
    return any(keyword in str(message.get("body") or "").lower() for message in session.messages)


__all__ = ["FURTHER_FILTERS", "further_filtered"]
