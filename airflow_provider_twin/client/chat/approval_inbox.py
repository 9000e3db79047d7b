"""The approvers' replies to an approval question, read from their TWIN chat sessions.

Each approver is asked in a chat session whose name is theirs alone
(:func:`.approval_chat.session_name`). :class:`ApprovalInbox` finds those sessions
(``GET /sessions?chatId=&name=``, twin-api.md §4.4) and reads the messages the approvers wrote
there since the last read (``GET /sessions/{id}/messages?from=``, §4.5). TWIN publishes no
event for a client's message (§5.6), so this is how replies are heard; a caller polls, and
reads at once when the websocket says anything about a session.

A name proves nothing: anyone may start a widget session of any name
(``POST /chats/{chatId}/sessions`` needs no credentials, §4.2) with a first message of their
own. So a session of the approver's name is theirs only when all of this holds:

* it is of ``chat_id`` and started at or after the question was asked (``asked_at``, less
  :data:`CLOCK_SLACK_SECONDS` for clocks that disagree);
* when the approver's ``clientId`` is known and the session reports one, they are equal; it is
  known when the approver was given with one, or else from the first session accepted (below)
  that reports one; when a messenger was asked for and the session reports one, they are
  equal (case-insensitive);
* it is accepted: it holds a message of the bot or an operator (``authorType`` ``BOT`` or
  ``OPERATOR``) that carries the request's tag (:func:`.approval_chat.request_tag`), which only
  TWIN delivering our question (or help, or outcome) puts there. Until then its messages are
  read again from the question's time every round.

Once a session is accepted, the client it reports (if any) is the approver's from then on: a
later session of another client is not theirs. And the approver may answer in another session
of theirs: with several questions open in the chat, each in a session of its own, they type
where they are. So, once the client is locked, the chat's sessions started since the question
(``GET /sessions?chatId=&from=``, at most :data:`MAX_CHAT_PAGES` pages) of that client are read
too. A ``CLIENT`` message, written after our question, is the approver's answer to this request
when it names our tag (anywhere), or quotes (``replyTo``) a message naming it; when it names
another request's tag seen in the bot's messages, it is that request's (left alone); otherwise
(no tag, or a ``#word`` of no known request) it is ours only when the latest message of the bot
or an operator before it that names a request (:func:`.approval_texts.heading_tags`) names ours.

Cost: per read one session listing per approver (TWIN pages them, :data:`PAGE_SIZE` a page),
one of the chat once a client is locked, plus one message listing of every session followed,
always (what a session's ``lastMessageCreatedAt`` means is not documented, so it decides
nothing). A listing starts
:data:`REREAD_SECONDS` before the last message read, whatever TWIN's ``from`` means (inclusive
or not): a message created in the same millisecond but listed later is not lost, and what comes
again is dropped by its id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_twin.client.chat.api import list_sessions, session_messages
from airflow_provider_twin.client.chat.approval_attribution import (
    CLIENT_AUTHOR,
    OUR_AUTHORS,
    Followed,
    answers,
    epoch_or_none,
    is_client,
    is_ours,
    iso,
    same,
    text_of,
)
from airflow_provider_twin.client.chat.approval_chat import Approver
from airflow_provider_twin.client.chat.approval_texts import heading_tags
from airflow_provider_twin.client.chat.models import SessionMessagePage, SessionPage
from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.calls import ApiCall, next_page
from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.core.flows import Gather, Procedure

#: How far before ``asked_at`` a session's start or a message may lie and still count: TWIN's
#: clock and the worker's may disagree by this much.
CLOCK_SLACK_SECONDS = 60.0
#: Sessions and messages per listing page (TWIN's page size cap, twin-api.md §7.11).
PAGE_SIZE = 1000
#: Pages of the chat's session listing read per round once a client is locked.
MAX_CHAT_PAGES = 5
#: Reads after which a session of the approver's name that holds no message of ours is reported
#: (:attr:`ApprovalInbox.unaccepted`): TWIN did not show our question in it.
UNACCEPTED_ROUNDS = 10
#: How far before the last message read the next listing of a session starts, in seconds.
REREAD_SECONDS = 0.001


@dataclass(frozen=True)
class ApproverReply:
    """One message an approver wrote in their session (``created_at``: TWIN's ISO time)."""

    approver_key: str
    session_id: str
    message_id: str
    text: str
    created_at: str


@dataclass
class _Read:
    """What one read found, kept apart until the read succeeds."""

    #: Session id -> its messages, in the order they were read.
    messages: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)


class ApprovalInbox:
    """The replies of ``approvers`` in their sessions (see the module docstring).

    :param client: the async client the reads go through.
    :param chat_id: the chat the questions were sent in.
    :param sessions: approver key -> that approver's session name.
    :param approvers: the approvers (their ``client_id`` is checked against the sessions).
    :param messenger_type: the messenger asked for, or None.
    :param asked_at: when the question was sent (seconds since the epoch).
    :param tag: the request's reference tag, which our messages carry (``request_tag``).
    :param options: the question's options (a piece of a reply that is one is never a tag).
    :raises TwinInputError: when a session name belongs to no approver, or the tag is empty.
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
        tag: str,
        options: Sequence[str] = (),
    ) -> None:
        by_key = {approver.key: approver for approver in approvers}
        unknown = sorted(set(sessions) - set(by_key))
        if unknown:
            raise TwinInputError(f"sessions: no approver has the key(s) {', '.join(unknown)}")
        if not isinstance(tag, str) or not tag.strip():
            raise TwinInputError("tag: the request's reference tag is needed to know its sessions")
        self.client = client
        self.chat_id = chat_id
        self.names = dict(sessions)
        self.approvers = {key: by_key[key] for key in sessions}
        self.messenger_type = messenger_type
        self.asked_at = asked_at
        self.tag = tag.strip().upper()
        self.options = tuple(options)
        self.since = asked_at - CLOCK_SLACK_SECONDS
        self._followed: dict[str, Followed] = {}
        self._seen: set[str] = set()
        #: Approver key -> the clientId of their first accepted session that reported one.
        self.locked_clients: dict[str, str] = {}
        #: Approver key -> createdAt of our first tagged message TWIN shows them (TWIN's clock).
        self.asked_in_twin: dict[str, float] = {}
        #: The tags of requests the bot's or operators' messages named (ours included).
        self.known_tags: set[str] = set()
        #: (approver key, session id, reads) of sessions of our name still unaccepted after
        #: :data:`UNACCEPTED_ROUNDS` reads, each once; the caller takes them out to warn.
        self.unaccepted: list[tuple[str, str, int]] = []

    def client_of(self, approver_key: str) -> str | None:
        """The clientId an approver's sessions must report (when they report one), if known."""
        return self.approvers[approver_key].client_id or self.locked_clients.get(approver_key)

    def belongs(self, approver_key: str, info: Mapping[str, Any]) -> bool:
        """Whether a listed session may be ``approver_key``'s session of this question (it still
        has to be accepted: hold our tagged message)."""
        if not isinstance(info.get("id"), str) or not info["id"]:
            return False
        if info.get("name") != self.names[approver_key] or not same(info.get("chatId"), self.chat_id):
            return False
        started = epoch_or_none(info.get("startedAt"))
        if started is None or started < self.since:
            return False
        client_id, reported = self.client_of(approver_key), info.get("clientId")
        if client_id and isinstance(reported, str) and reported and not same(reported, client_id):
            return False
        messenger = info.get("messengerType")
        return not (
            self.messenger_type
            and isinstance(messenger, str)
            and messenger
            and not same(messenger, self.messenger_type)
        )

    def session_ids(self) -> dict[str, list[str]]:
        """Every accepted session so far, per approver key, oldest first."""
        found: dict[str, list[str]] = {}
        ordered = sorted(self._followed.items(), key=lambda item: item[1].started)
        for session_id, followed in ordered:
            if followed.anchor is not None:
                found.setdefault(followed.approver_key, []).append(session_id)
        return found

    def accepted_sessions(self) -> dict[str, str]:
        """Approver key -> their latest accepted session, as the reads so far found them."""
        return {key: ids[-1] for key, ids in self.session_ids().items()}

    async def find_sessions(self) -> dict[str, str]:
        """Approver key -> the id of their latest listed session that may be theirs (not yet
        read: :meth:`accepted_sessions` tells which ones hold our question)."""
        return await self.client.run(self.finding())

    async def new_replies(self) -> list[ApproverReply]:
        """The approvers' messages not returned before, oldest first (looks for their
        sessions again first: a session may open late, or anew after one expired)."""
        return await self.client.run(self.reading())

    def locked(self) -> dict[str, str]:
        """Approver key -> their client, for those with an accepted session and a known client:
        their other sessions in the chat are read too."""
        return {key: client for key in self.asked_in_twin if (client := self.client_of(key)) is not None}

    def linked_to(self, info: Mapping[str, Any], locked: Mapping[str, str]) -> str | None:
        """The approver a session of the chat is another session of (their locked client's,
        started since the question), or None."""
        started = epoch_or_none(info.get("startedAt"))
        if not isinstance(info.get("id"), str) or not same(info.get("chatId"), self.chat_id):
            return None
        if started is None or started < self.since:
            return None
        reported = info.get("clientId")
        return next((key for key, client in locked.items() if same(reported, client)), None)

    def finding(self) -> Procedure[dict[str, str]]:
        """:meth:`find_sessions` as a procedure (for ``client.run``)."""
        pending: list[tuple[str, ApiCall[SessionPage]]] = [
            (key, list_sessions(limit=PAGE_SIZE, chatId=self.chat_id, name=name))
            for key, name in self.names.items()
        ]
        locked = self.locked()
        if locked:  # "" marks the chat's listing: the locked clients' other sessions
            since: dict[str, Any] = {"chatId": self.chat_id, "from": iso(self.since)}
            pending.append(("", list_sessions(limit=PAGE_SIZE, **since)))
        latest: dict[str, tuple[float, str]] = {}
        chat_pages = 0
        while pending:
            pages: list[SessionPage] = yield Gather([call for _, call in pending])
            after: list[tuple[str, ApiCall[SessionPage]]] = []
            for (key, call), page in zip(pending, pages, strict=True):
                for info in page["items"]:
                    if not key:
                        self._link(info, locked)
                    elif self.belongs(key, info):
                        followed = self._follow(key, info)
                        if key not in latest or followed.started >= latest[key][0]:
                            latest[key] = (followed.started, str(info["id"]))
                chat_pages += not key
                following = next_page(call, page)
                if following is not None and (key or chat_pages < MAX_CHAT_PAGES):
                    after.append((key, following))
            pending = after
        return {key: session_id for key, (_, session_id) in latest.items()}

    def _link(self, info: Mapping[str, Any], locked: Mapping[str, str]) -> None:
        key = self.linked_to(info, locked)
        if key is None or info["id"] in self._followed or info.get("name") == self.names[key]:
            return  # not theirs, followed already, or one of our name (its own listing has it)
        self._follow(key, info).linked = True

    def _follow(self, key: str, info: Mapping[str, Any]) -> Followed:
        session_id = str(info["id"])
        followed = self._followed.get(session_id)
        if followed is None:
            started = epoch_or_none(info.get("startedAt")) or self.asked_at
            followed = self._followed[session_id] = Followed(key, started)
        reported = info.get("clientId")
        if isinstance(reported, str) and reported:
            followed.client_id = reported
        return followed

    def reading(self) -> Procedure[list[ApproverReply]]:
        """:meth:`new_replies` as a procedure (for ``client.run``).

        What it read counts only once it returns: after a failed read the next one reads the
        same messages again, so no reply is lost.
        """
        yield from self.finding()
        pending = [(session_id, self._messages_from(session_id)) for session_id in self._followed]
        read = _Read()
        while pending:
            pages: list[SessionMessagePage] = yield Gather([call for _, call in pending])
            after: list[tuple[str, ApiCall[SessionMessagePage]]] = []
            for (session_id, call), page in zip(pending, pages, strict=True):
                read.messages.setdefault(session_id, []).extend(page["items"])
                following = next_page(call, page)
                if following is not None:
                    after.append((session_id, following))
            pending = after
        replies: list[tuple[float, int, ApproverReply]] = []
        started = {session_id: followed.started for session_id, followed in self._followed.items()}
        for session_id, messages in sorted(read.messages.items(), key=lambda item: started[item[0]]):
            self._take(session_id, messages, replies)  # the oldest session locks the client first
        replies.sort(key=lambda item: item[:2])
        return [reply for _, _, reply in replies]

    def _messages_from(self, session_id: str) -> ApiCall[SessionMessagePage]:
        cursor_at = self._followed[session_id].cursor_at
        window: dict[str, Any] = {
            "from": iso(self.since if cursor_at is None else cursor_at - REREAD_SECONDS)
        }
        return session_messages(session_id, limit=PAGE_SIZE, **window)

    def _accept(self, session_id: str, followed: Followed, anchor: float) -> None:
        """The session holds our tagged message: the approver's; their client is locked."""
        followed.anchor = anchor
        key = followed.approver_key
        self.asked_in_twin[key] = min(anchor, self.asked_in_twin.get(key, anchor))
        if followed.client_id and self.client_of(key) is None:
            self.locked_clients[key] = followed.client_id
        locked = self.client_of(key)
        for other_id, other in list(self._followed.items()):
            foreign = other.client_id and locked and not same(other.client_id, locked)
            if other_id != session_id and other.approver_key == key and foreign:
                del self._followed[other_id]  # a session of another client: not theirs

    def _take(
        self,
        session_id: str,
        items: Sequence[Mapping[str, Any]],
        replies: list[tuple[float, int, ApproverReply]],
    ) -> None:
        """Take what a successful read found in one session: acceptance, cursor, replies."""
        followed = self._followed.get(session_id)
        if followed is None:
            return
        locked = self.client_of(followed.approver_key)
        if followed.client_id and locked and not same(followed.client_id, locked):
            del self._followed[session_id]  # another client's, as an accepted session showed
            return
        dated = [(epoch_or_none(message.get("createdAt")), message) for message in items]
        ordered = sorted(
            ((moment, message) for moment, message in dated if moment is not None),
            key=lambda item: (item[0], is_client(item[1])),  # ours first at the same time
        )
        for moment, message in ordered:
            message_id = message.get("id")
            if not isinstance(message_id, str) or not message_id or message_id in self._seen:
                continue
            if not is_client(message):
                self._seen.add(message_id)
                self._heard(session_id, followed, moment, message)
                continue
            key = followed.approver_key
            asked = self.asked_in_twin.get(key) if followed.linked else followed.anchor
            if asked is None:
                continue  # an unaccepted session: read again from the question's time until it is
            self._seen.add(message_id)
            if (
                moment < asked
                or moment < self.since
                or not answers(message, self.tag, self.options, self.known_tags, followed.last_tag)
            ):
                continue
            reply = ApproverReply(
                approver_key=followed.approver_key,
                session_id=session_id,
                message_id=message_id,
                text=text_of(message.get("body")),
                created_at=str(message["createdAt"]),
            )
            replies.append((moment, len(replies), reply))
        if followed.anchor is None and not followed.linked:  # read again from the question's time
            followed.rounds += 1
            if followed.rounds == UNACCEPTED_ROUNDS:
                self.unaccepted.append((followed.approver_key, session_id, followed.rounds))
            return
        latest = max((moment for moment, _ in ordered), default=None)
        if latest is not None and (followed.cursor_at is None or latest > followed.cursor_at):
            followed.cursor_at = latest  # read on from the last message

    def _heard(self, session_id: str, followed: Followed, moment: float, message: Mapping[str, Any]) -> None:
        """A message not the client's: when the bot's or an operator's, which request it names
        (ours accepts the session); any other author type counts for nothing."""
        if not is_ours(message):
            return
        body = text_of(message.get("body"))
        if self.tag in body:
            followed.last_tag = self.tag
            if followed.anchor is None and not followed.linked:
                self._accept(session_id, followed, moment)
        elif named := heading_tags(body):
            followed.last_tag = named[0]
        self.known_tags.update(heading_tags(body))


__all__ = [
    "CLIENT_AUTHOR",
    "CLOCK_SLACK_SECONDS",
    "MAX_CHAT_PAGES",
    "OUR_AUTHORS",
    "PAGE_SIZE",
    "REREAD_SECONDS",
    "UNACCEPTED_ROUNDS",
    "ApprovalInbox",
    "ApproverReply",
]
