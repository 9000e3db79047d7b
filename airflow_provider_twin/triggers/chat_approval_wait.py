"""The TWIN side of a chat approval's wait: the approvers' sessions, their replies, the wake-ups.

:class:`ApprovalConversation` is what :class:`~.chat_approval.TwinChatApprovalTrigger` holds of
TWIN while it waits. Each round it lists the approvers' sessions once and reads their replies
since the last round (``ApprovalInbox``: a session counts once our tagged question is in it),
leaves a reply that names another request to that request, answers a reply that chooses no
option with the help text, and hands back the replies that do.

Between rounds it listens to those sessions on the connection's one chat websocket, shared with
the chat sensors and watchers (:mod:`.chat_event_socket`): TWIN publishes no event for a client's
message, but any event of an approver's session (the bot typing, a message) ends the pause, so
the next REST read comes at once. The REST read every ``poll_interval`` seconds is the floor:
without the ``realtime`` extra, or while the websocket is away, the wait only polls. An event
that names no session (typing) is told apart only while the websocket listens to that one
session; otherwise the next poll picks the reply up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from airflow_provider_twin.client import epoch_seconds, error_summary, send_chat
from airflow_provider_twin.client.chat import (
    INSTALL_HINT,
    ApprovalInbox,
    Approver,
    ApproverReply,
    chat_message,
    conversation_bulk_id,
    help_text,
    load_realtime,
    match_reply,
    without_request_tag,
)
from airflow_provider_twin.hooks.secret_masking import connection_secrets, redact
from airflow_provider_twin.triggers.chat_approval_settings import (
    ChatDecision,
    ConversationSettings,
    WaitFailed,
    cannot_work,
    permanent,
)
from airflow_provider_twin.triggers.chat_event_socket import RealtimeSessions
from airflow_provider_twin.triggers.connections import TwinConnection, shared_connection

log = logging.getLogger(__name__)


class ApprovalConversation:
    """The approvers' sessions on one borrowed TWIN connection, read round by round.

    :param connection: the triggerer's shared connection.
    :param settings: the request.
    :param realtime: listen to the sessions on the chat websocket between rounds.
    :param label: the wait in log lines.
    """

    def __init__(
        self, connection: TwinConnection, settings: ConversationSettings, *, realtime: bool, label: str
    ) -> None:
        self.connection = connection
        self.settings = settings
        self.label = label
        self._approvers = {approver.key: approver for approver in settings.approvers}
        self._sessions: dict[str, str] = {}  # approver key -> session id
        self.inbox = ApprovalInbox(
            connection.client,
            chat_id=settings.chat_id,
            sessions=dict(settings.session_names),
            approvers=list(settings.approvers),
            messenger_type=settings.messenger_type,
            asked_at=settings.asked_at,
            tag=settings.tag,
            options=settings.options,
        )
        self.realtime = self._realtime(connection, label) if realtime else None

    @staticmethod
    def _realtime(connection: TwinConnection, label: str) -> RealtimeSessions | None:
        try:
            load_realtime("async_hub")
        except ImportError:
            log.warning("%s: polling only, no websocket: %s", label, INSTALL_HINT)
            return None
        return RealtimeSessions(connection, connection.hook.twin_conn_id, label)

    @classmethod
    async def open(
        cls,
        stack: contextlib.AsyncExitStack,
        twin_conn_id: str,
        settings: ConversationSettings,
        *,
        realtime: bool,
        label: str,
    ) -> ApprovalConversation | None:
        """Borrow the connection (given back by ``stack``); None when TWIN is out of reach now.

        :raises WaitFailed: the connection cannot work (credentials, settings, none defined).
        """
        try:
            connection = await stack.enter_async_context(shared_connection(twin_conn_id))
        except Exception as exc:
            if permanent(exc):
                raise cannot_work(twin_conn_id, exc) from exc
            log.warning("%s: cannot reach TWIN (%s); trying again", label, error_summary(exc))
            return None
        conversation = cls(connection, settings, realtime=realtime, label=label)
        stack.push_async_callback(conversation.aclose)
        return conversation

    async def next_decision(self, until: float | None = None) -> ChatDecision | None:
        """The first new reply that chooses options, if any (a TWIN error: None, next round).

        :param until: only a reply TWIN created at or before this moment (epoch seconds): the
            last read at the timeout takes what came in time, nothing after.
        :raises WaitFailed: the connection cannot work.
        """
        try:
            decisions = await self.decisions(until)
        except Exception as exc:
            if permanent(exc):
                raise cannot_work(self.connection.hook.twin_conn_id, exc) from exc
            log.warning("%s: reading the replies failed (%s); trying again", self.label, error_summary(exc))
            return None
        return decisions[0] if decisions else None

    async def decisions(self, until: float | None = None) -> list[ChatDecision]:
        """The new replies that choose options, oldest first (created by ``until``, when given);
        the others before the first decision get the help text, those after it none (the
        question is decided).

        :raises Exception: a TWIN error reading the sessions or replies (the caller retries).
        """
        replies = await self.inbox.new_replies()  # one listing of the sessions, then their messages
        found = self.inbox.accepted_sessions()
        if found != self._sessions:
            shown = ", ".join(f"{key} in {session_id}" for key, session_id in found.items())
            log.info("%s: approver sessions: %s", self.label, shown)
            self._sessions = found
        while self.inbox.unaccepted:
            key, session_id, rounds = self.inbox.unaccepted.pop(0)
            log.warning(
                "%s: session %s of %s's name holds no message of ours after %d reads: TWIN did not show "
                "our question in it, so no reply there counts",
                self.label,
                session_id,
                self._approvers[key].name,
                rounds,
            )
        chosen: list[ChatDecision] = []
        settings = self.settings
        for reply in replies:
            if until is not None and epoch_seconds(reply.created_at) > until:
                break  # written after the timeout: too late
            approver = self._approvers.get(reply.approver_key)
            if approver is None:
                continue
            text = without_request_tag(reply.text, settings.tag, settings.options)
            options = match_reply(text, settings.options, multiple=settings.multiple)
            if options:
                chosen.append(ChatDecision(approver, reply, options))
            elif not chosen:
                await self.send_help(approver, reply)
        return chosen

    async def send_help(self, approver: Approver, reply: ApproverReply) -> None:
        """Answer a reply that chose nothing with how to answer (once per reply, redacted as the
        question is; errors logged)."""
        log.info("%s: %s's reply chooses no option; sending the help text", self.label, approver.name)
        settings = self.settings
        try:
            text = help_text(
                settings.options,
                settings.multiple,
                settings.language,
                subject=settings.subject,
                tag=settings.tag,
            )
            message = chat_message(
                approver,
                chat_id=settings.chat_id,
                session_name=settings.session_names[approver.key],
                text=redact(text, connection_secrets(self.connection.client.engine.config)),
                messenger_type=settings.messenger_type,
                bot_id=settings.bot_id,
                continue_session=True,
            )
            bulk_id = conversation_bulk_id(settings.request_key, approver, f"help:{reply.message_id}")
            await send_chat(self.connection.client, message, bulk_id)
        except Exception as exc:  # noqa: BLE001 - the approver may still answer well
            log.warning("%s: no help text sent to %s: %s", self.label, approver.name, error_summary(exc))

    async def pause(self, seconds: float) -> bool:
        """Wait up to ``seconds``, less when an approver's session has news; True when it had."""
        seconds = max(seconds, 0.0)
        follower = await self.realtime.current() if self.realtime is not None else None
        if follower is None:
            await asyncio.sleep(seconds)
            return False
        follower.follow(self._sessions.values())
        heard = await follower.next(seconds)
        while not follower.queue.empty():  # one REST read answers them all
            follower.queue.get_nowait()
        return heard is not None

    async def aclose(self) -> None:
        """Leave the sessions on the websocket (the connection stays with its other users)."""
        if self.realtime is not None:
            with contextlib.suppress(Exception):
                await self.realtime.aclose()


__all__ = ["ApprovalConversation", "ChatDecision", "ConversationSettings", "WaitFailed", "permanent"]
