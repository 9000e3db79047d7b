"""Whose a chat message is: the pieces of :mod:`.approval_inbox` that read one message alone.

A session the inbox follows (:class:`Followed`), the author types of TWIN's chat messages
(twin-api.md §4.5), and :func:`answers`: whether an approver's message answers a given request,
when they may have several questions open in the chat (each message of ours names its request
by its tag, :func:`.approval_texts.heading`). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_provider_twin.client.chat.approval_replies import reply_tags
from airflow_provider_twin.client.chat.approval_texts import heading_tags
from airflow_provider_twin.client.core.deadlines import epoch_seconds

#: The author type of a client's message (twin-api.md §4.5).
CLIENT_AUTHOR = "CLIENT"
#: The author types of the messages that may carry our tag: the bot's (the chat channel's
#: texts) and an operator's.
OUR_AUTHORS = frozenset({"BOT", "OPERATOR"})


@dataclass
class Followed:
    """One session of an approver: when it started, whose it is, where reading resumes, which
    request its latest bot or operator message named."""

    approver_key: str
    started: float
    client_id: str | None = None  # the clientId the session reports
    anchor: float | None = None  # createdAt of our first tagged message there: accepted
    cursor_at: float | None = None  # ``createdAt`` of the last message read (epoch seconds)
    linked: bool = False  # found as a session of the locked client, not by our name
    last_tag: str | None = None  # the request the latest bot/operator message named
    rounds: int = 0  # reads of it while unaccepted


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="milliseconds")


def epoch_or_none(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return epoch_seconds(value)
    except ValueError:
        return None


def same(left: Any, right: Any) -> bool:
    return isinstance(left, str) and isinstance(right, str) and left.strip().lower() == right.strip().lower()


def is_client(message: Mapping[str, Any]) -> bool:
    return str(message.get("authorType") or "").upper() == CLIENT_AUTHOR


def is_ours(message: Mapping[str, Any]) -> bool:
    return str(message.get("authorType") or "").upper() in OUR_AUTHORS


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def answers(
    message: Mapping[str, Any],
    tag: str,
    options: Sequence[str],
    known_tags: Collection[str],
    last_tag: str | None,
) -> bool:
    """Whether a client message answers the request tagged ``tag``: it names ``tag`` (outside the
    pieces that are an option's text), or quotes (``replyTo``) a message naming it; not when it
    names another request of ``known_tags`` or quotes a message naming one; otherwise (no tag,
    or a ``#word`` of no known request) when the latest bot or operator message before it that
    names a request (``last_tag``) names this one."""
    tags = reply_tags(text_of(message.get("body")), options)
    if tag in tags:
        return True
    quoted = message.get("replyTo")
    quoted_body = text_of(quoted.get("body")) if isinstance(quoted, Mapping) else ""
    if tag in quoted_body:
        return True
    if any(named in known_tags for named in tags) or heading_tags(quoted_body):
        return False  # another request's
    return last_tag == tag


__all__ = [
    "CLIENT_AUTHOR",
    "OUR_AUTHORS",
    "Followed",
    "answers",
    "epoch_or_none",
    "is_client",
    "is_ours",
    "iso",
    "same",
    "text_of",
]
