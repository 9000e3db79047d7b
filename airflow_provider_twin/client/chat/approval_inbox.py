"""The approvers' replies to an approval question, read from their TWIN chat sessions.

Each approver is asked in a chat session whose name is theirs alone
(:func:`.approval_chat.session_name`). :class:`ApprovalInbox` finds those sessions
(``GET /sessions?chatId=&name=``, twin-api.md §4.4) and reads the messages the approvers wrote
there since the last read (``GET /sessions/{id}/messages?from=``, §4.5). TWIN publishes no
event for a client's message (§5.6), so this is how replies are heard; a caller polls, and
reads at once when the websocket says anything about a session.

An answer counts only when all of this holds (anything else is ignored):

* the session is of ``chat_id`` and its name is the approver's session name;
* it started at or after the question was asked (``asked_at``, less
  :data:`CLOCK_SLACK_SECONDS` for clocks that disagree), and so did the message;
* when the approver was given with a ``clientId`` and the session reports one, they are
  equal; when a messenger was asked for and the session reports one, they are equal
  (case-insensitive);
* the message's ``authorType`` is ``CLIENT`` (the bot's and operators' are not answers).

Cost: per read one session listing per approver (TWIN pages them, :data:`PAGE_SIZE` a page),
plus one message listing per session whose last message moved since it was last read,
``from`` the last message read (TWIN's ``from`` is inclusive: that message comes again and is
dropped by its id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_provider_twin.client.chat.api import list_sessions, session_messages
from airflow_provider_twin.client.chat.approval_chat import Approver
from airflow_provider_twin.client.chat.models import SessionMessagePage, SessionPage
from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.calls import ApiCall, next_page
from airflow_provider_twin.client.core.deadlines import epoch_seconds
from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.core.flows import Gather, Procedure

#: How far before ``asked_at`` a session's start or a message may lie and still count: TWIN's
#: clock and the worker's may disagree by this much.
CLOCK_SLACK_SECONDS = 60.0
#: Sessions and messages per listing page (TWIN's page size cap, twin-api.md §7.11).
PAGE_SIZE = 1000
#: The author type of a client's message (twin-api.md §4.5).
CLIENT_AUTHOR = "CLIENT"


@dataclass(frozen=True)
class ApproverReply:
    """One message an approver wrote in their session (``created_at``: TWIN's ISO time)."""

    approver_key: str
    session_id: str
    message_id: str
    text: str
    created_at: str


@dataclass
class _Followed:
    """One session of an approver: when it started, where reading resumes."""

    approver_key: str
    started: float
    cursor: str | None = None  # ``createdAt`` of the last message read
    read_up_to: str | None = None  # the session's ``lastMessageCreatedAt`` when last read whole


@dataclass
class _Read:
    """What one read found, kept apart until the read succeeds."""

    #: Replies with what orders them: TWIN's time, then the order they were read in.
    replies: list[tuple[float, int, ApproverReply]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    #: Session id -> the latest ``createdAt`` read (epoch, text).
    cursors: dict[str, tuple[float, str]] = field(default_factory=dict)
    #: Session id -> its ``lastMessageCreatedAt``, for sessions read to their last page.
    whole: dict[str, str | None] = field(default_factory=dict)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="milliseconds")


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return epoch_seconds(value)
    except ValueError:
        return None


def _same(left: Any, right: Any) -> bool:
    return isinstance(left, str) and isinstance(right, str) and left.strip().lower() == right.strip().lower()


class ApprovalInbox:
    """The replies of ``approvers`` in their sessions (see the module docstring).

    :param client: the async client the reads go through.
    :param chat_id: the chat the questions were sent in.
    :param sessions: approver key -> that approver's session name.
    :param approvers: the approvers (their ``client_id`` is checked against the sessions).
    :param messenger_type: the messenger asked for, or None.
    :param asked_at: when the question was sent (seconds since the epoch).
    :raises TwinInputError: when a session name belongs to no approver.
    """

    def __init__(
        self,
        client: AsyncTwinClient,
        *,
        chat_id: str,
        sessions: Mapping[str, str],
        approvers: Sequence[Approver],
        messenger_type: str | None,
        asked_at: float,
    ) -> None:
        by_key = {approver.key: approver for approver in approvers}
        unknown = sorted(set(sessions) - set(by_key))
        if unknown:
            raise TwinInputError(f"sessions: no approver has the key(s) {', '.join(unknown)}")
        self.client = client
        self.chat_id = chat_id
        self.names = dict(sessions)
        self.approvers = {key: by_key[key] for key in sessions}
        self.messenger_type = messenger_type
        self.asked_at = asked_at
        self.since = asked_at - CLOCK_SLACK_SECONDS
        self._followed: dict[str, _Followed] = {}
        self._moved: dict[str, str | None] = {}  # session id -> lastMessageCreatedAt listed
        self._seen: set[str] = set()

    def belongs(self, approver_key: str, info: Mapping[str, Any]) -> bool:
        """Whether a listed session is ``approver_key``'s session of this question."""
        if not isinstance(info.get("id"), str) or not info["id"]:
            return False
        if info.get("name") != self.names[approver_key] or not _same(info.get("chatId"), self.chat_id):
            return False
        started = _epoch(info.get("startedAt"))
        if started is None or started < self.since:
            return False
        client_id, reported = self.approvers[approver_key].client_id, info.get("clientId")
        if client_id and isinstance(reported, str) and reported and not _same(reported, client_id):
            return False
        messenger = info.get("messengerType")
        return not (
            self.messenger_type
            and isinstance(messenger, str)
            and messenger
            and not _same(messenger, self.messenger_type)
        )

    def session_ids(self) -> dict[str, list[str]]:
        """Every session found so far, per approver key, oldest first."""
        found: dict[str, list[str]] = {}
        ordered = sorted(self._followed.items(), key=lambda item: item[1].started)
        for session_id, followed in ordered:
            found.setdefault(followed.approver_key, []).append(session_id)
        return found

    async def find_sessions(self) -> dict[str, str]:
        """Approver key -> the id of their latest session of this question (approvers whose
        session TWIN does not show yet are absent)."""
        return await self.client.run(self.finding())

    async def new_replies(self) -> list[ApproverReply]:
        """The approvers' messages not returned before, oldest first (looks for their
        sessions again first: a session may open late, or anew after one expired)."""
        return await self.client.run(self.reading())

    def finding(self) -> Procedure[dict[str, str]]:
        """:meth:`find_sessions` as a procedure (for ``client.run``)."""
        pending: list[tuple[str, ApiCall[SessionPage]]] = [
            (key, list_sessions(limit=PAGE_SIZE, chatId=self.chat_id, name=name))
            for key, name in self.names.items()
        ]
        while pending:
            pages: list[SessionPage] = yield Gather([call for _, call in pending])
            after: list[tuple[str, ApiCall[SessionPage]]] = []
            for (key, call), page in zip(pending, pages, strict=True):
                for info in page["items"]:
                    if self.belongs(key, info):
                        self._follow(key, info)
                following = next_page(call, page)
                if following is not None:
                    after.append((key, following))
            pending = after
        return {key: ids[-1] for key, ids in self.session_ids().items()}

    def _follow(self, key: str, info: Mapping[str, Any]) -> None:
        session_id = str(info["id"])
        if session_id not in self._followed:
            self._followed[session_id] = _Followed(key, _epoch(info.get("startedAt")) or self.asked_at)
        last = info.get("lastMessageCreatedAt")
        self._moved[session_id] = last if isinstance(last, str) and last else None

    def reading(self) -> Procedure[list[ApproverReply]]:
        """:meth:`new_replies` as a procedure (for ``client.run``).

        What it read counts only once it returns: after a failed read the next one reads the
        same messages again, so no reply is lost.
        """
        yield from self.finding()
        pending = [
            (session_id, self._messages_from(session_id))
            for session_id, followed in self._followed.items()
            if self._moved.get(session_id) is None or self._moved[session_id] != followed.read_up_to
        ]
        read = _Read()
        while pending:
            pages: list[SessionMessagePage] = yield Gather([call for _, call in pending])
            after: list[tuple[str, ApiCall[SessionMessagePage]]] = []
            for (session_id, call), page in zip(pending, pages, strict=True):
                self._take(session_id, page["items"], read)
                following = next_page(call, page)
                if following is not None:
                    after.append((session_id, following))
                else:
                    read.whole[session_id] = self._moved.get(session_id)
            pending = after
        for session_id, cursor in read.cursors.items():
            self._followed[session_id].cursor = cursor[1]
        for session_id, last in read.whole.items():
            self._followed[session_id].read_up_to = last
        self._seen.update(reply.message_id for _, _, reply in read.replies)
        read.replies.sort(key=lambda item: item[:2])
        return [reply for _, _, reply in read.replies]

    def _messages_from(self, session_id: str) -> ApiCall[SessionMessagePage]:
        cursor = self._followed[session_id].cursor or _iso(self.since)
        window: dict[str, Any] = {"from": cursor}
        return session_messages(session_id, limit=PAGE_SIZE, **window)

    def _take(self, session_id: str, items: Sequence[Mapping[str, Any]], read: _Read) -> None:
        followed = self._followed[session_id]
        for message in items:
            created = message.get("createdAt")
            moment = _epoch(created)
            if moment is None:
                continue
            last = read.cursors.get(session_id)
            if last is None or moment > last[0]:
                read.cursors[session_id] = (moment, str(created))
            message_id = message.get("id")
            if (
                not isinstance(message_id, str)
                or not message_id
                or message_id in self._seen
                or message_id in read.ids
                or str(message.get("authorType") or "").upper() != CLIENT_AUTHOR
                or moment < self.since
            ):
                continue
            read.ids.add(message_id)
            body = message.get("body")
            reply = ApproverReply(
                approver_key=followed.approver_key,
                session_id=session_id,
                message_id=message_id,
                text=body if isinstance(body, str) else "",
                created_at=str(created),
            )
            read.replies.append((moment, len(read.replies), reply))


__all__ = [
    "CLIENT_AUTHOR",
    "CLOCK_SLACK_SECONDS",
    "PAGE_SIZE",
    "ApprovalInbox",
    "ApproverReply",
]
