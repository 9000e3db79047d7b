"""TWIN chat: start and read chat-bot sessions, and follow their realtime events.

* :mod:`.api`: the endpoint calls (twin-api.md §4), served from this package directly
  (``chat.start_session(...)``);
* :mod:`.session_body` and :mod:`.session_start`: the start request, checked before sending,
  and the procedure that starts a session exactly once;
* :mod:`.events`, :mod:`.wait_result` and :mod:`.session_check`: which events end a wait, how
  a wait ends, and whether REST says a session is closed;
* :mod:`.session_events`: sessions started, closed and rated and client messages as a stream of
  events (:class:`ChatSessionEvents`), over REST and the websocket's ``sessionClosed``;
* :mod:`.wait_arguments`: a wait's arguments checked where it is declared and when it runs,
  and the realtime transport (and so the extra) it needs;
* :mod:`.approval_replies`, :mod:`.approval_chat`, :mod:`.approval_texts` and
  :mod:`.approval_inbox`: a human approval over chat: which options a reply chooses, the
  approvers and the Notify messages that ask them (sent by the client face's
  ``send_chat`` / ``chat_message_procedure``), what the conversation says, and the approvers'
  replies read from their sessions;
* :mod:`.session_actions`: close a session (idempotent), read its transcript, list sessions
  by the documented filters; the calls ``close_session``, ``post_client_message`` (as the
  session's client: the only documented path) and ``mark_message_read`` are in :mod:`.api`;
* :mod:`.campaign_sessions`: the sessions a send's ``chat`` channel opened, found after the
  send for its summary;
* :mod:`.realtime`: following sessions over TWIN's websocket (its transports need the
  ``realtime`` extra and load on first use, see :func:`load_realtime`).
"""

from __future__ import annotations

from airflow_provider_twin.client.chat.api import (
    MAX_SESSION_TTL,
    close_session,
    continue_or_start_session,
    get_session,
    list_sessions,
    mark_message_read,
    post_client_message,
    session_messages,
    start_session,
)
from airflow_provider_twin.client.chat.approval_chat import (
    APPROVER_FIELDS,
    MAX_CHAT_TEXT,
    MAX_SESSION_NAME,
    Approver,
    approver_from_json,
    approvers_known_after_rendering,
    chat_message,
    check_chat_id,
    conversation_bulk_id,
    parse_approvers,
    request_tag,
    session_name,
)
from airflow_provider_twin.client.chat.approval_inbox import (
    CLOCK_SLACK_SECONDS,
    ApprovalInbox,
    ApproverReply,
)
from airflow_provider_twin.client.chat.approval_replies import (
    NO_WORDS,
    YES_WORDS,
    match_reply,
    without_request_tag,
)
from airflow_provider_twin.client.chat.approval_texts import (
    ANSWERED_IN,
    LANGUAGES,
    OUTCOME_KINDS,
    check_language,
    help_text,
    outcome_text,
    outcome_texts,
    question_text,
    session_lifetime_warning,
)
from airflow_provider_twin.client.chat.campaign_sessions import (
    DEFAULT_SESSION_LIMIT,
    DEFAULT_WAIT_SECONDS,
    CampaignChatSessions,
    CampaignSession,
    CampaignSessionsSummary,
)
from airflow_provider_twin.client.chat.events import (
    EVENT_NAMES,
    SESSION_CLOSED,
    ChatEvent,
    EventFilter,
    EventRule,
)
from airflow_provider_twin.client.chat.realtime import (
    DEFAULT_FALLBACK_INTERVAL,
    DEFAULT_RECHECK_INTERVAL,
    INSTALL_HINT,
    SessionChecker,
    TwinRealtimeError,
    wait_for_session_event,
)
from airflow_provider_twin.client.chat.realtime import extra_problem as realtime_extra_problem
from airflow_provider_twin.client.chat.realtime import load as load_realtime
from airflow_provider_twin.client.chat.session_actions import (
    DEFAULT_LISTED_SESSIONS,
    DEFAULT_TRANSCRIPT_MESSAGES,
    MAX_LISTED_SESSIONS,
    MAX_TRANSCRIPT_MESSAGES,
    SESSION_FILTERS,
    CloseOutcome,
    SessionFacts,
    SessionListing,
    Transcript,
    TranscriptMessage,
    author_type_set,
    close_once,
    find_sessions,
    read_transcript,
    session_filters,
    session_ref,
)
from airflow_provider_twin.client.chat.session_body import (
    BODY_FIELDS,
    SESSION_ID_NAMESPACE,
    build_body,
    session_id_for,
    start_request,
)
from airflow_provider_twin.client.chat.session_check import (
    CLOSED_STATUSES,
    SessionCheck,
    check_session,
    closed_result,
    closed_status_set,
)
from airflow_provider_twin.client.chat.session_events import (
    CHAT_EVENT_KINDS,
    ChatEventFilter,
    ChatSessionEvents,
)
from airflow_provider_twin.client.chat.session_start import REUSED_MESSAGES_LIMIT, start_once
from airflow_provider_twin.client.chat.wait_arguments import (
    check_wait_arguments,
    known_after_rendering,
    require_realtime,
    session_id_of,
    user_id_of,
    wait_transport,
)
from airflow_provider_twin.client.chat.wait_result import (
    ERROR_NOT_FOUND,
    ERROR_REALTIME,
    ERROR_REST,
    WaitResult,
    error_result,
    failed_result,
    timeout_result,
)

__all__ = [
    "ANSWERED_IN",
    "APPROVER_FIELDS",
    "BODY_FIELDS",
    "CHAT_EVENT_KINDS",
    "CLOCK_SLACK_SECONDS",
    "CLOSED_STATUSES",
    "DEFAULT_FALLBACK_INTERVAL",
    "DEFAULT_LISTED_SESSIONS",
    "DEFAULT_RECHECK_INTERVAL",
    "DEFAULT_SESSION_LIMIT",
    "DEFAULT_TRANSCRIPT_MESSAGES",
    "DEFAULT_WAIT_SECONDS",
    "ERROR_NOT_FOUND",
    "ERROR_REALTIME",
    "ERROR_REST",
    "EVENT_NAMES",
    "INSTALL_HINT",
    "LANGUAGES",
    "MAX_CHAT_TEXT",
    "MAX_LISTED_SESSIONS",
    "MAX_SESSION_NAME",
    "MAX_SESSION_TTL",
    "MAX_TRANSCRIPT_MESSAGES",
    "NO_WORDS",
    "OUTCOME_KINDS",
    "REUSED_MESSAGES_LIMIT",
    "SESSION_CLOSED",
    "SESSION_FILTERS",
    "SESSION_ID_NAMESPACE",
    "YES_WORDS",
    "ApprovalInbox",
    "Approver",
    "ApproverReply",
    "CampaignChatSessions",
    "CampaignSession",
    "CampaignSessionsSummary",
    "ChatEvent",
    "ChatEventFilter",
    "ChatSessionEvents",
    "CloseOutcome",
    "EventFilter",
    "EventRule",
    "SessionCheck",
    "SessionChecker",
    "SessionFacts",
    "SessionListing",
    "Transcript",
    "TranscriptMessage",
    "TwinRealtimeError",
    "WaitResult",
    "approver_from_json",
    "approvers_known_after_rendering",
    "author_type_set",
    "build_body",
    "chat_message",
    "check_chat_id",
    "check_language",
    "check_session",
    "check_wait_arguments",
    "close_once",
    "close_session",
    "closed_result",
    "closed_status_set",
    "continue_or_start_session",
    "conversation_bulk_id",
    "error_result",
    "failed_result",
    "find_sessions",
    "get_session",
    "help_text",
    "known_after_rendering",
    "list_sessions",
    "load_realtime",
    "mark_message_read",
    "match_reply",
    "outcome_text",
    "outcome_texts",
    "parse_approvers",
    "post_client_message",
    "question_text",
    "read_transcript",
    "realtime_extra_problem",
    "request_tag",
    "require_realtime",
    "session_filters",
    "session_id_for",
    "session_id_of",
    "session_lifetime_warning",
    "session_messages",
    "session_name",
    "session_ref",
    "start_once",
    "start_request",
    "start_session",
    "timeout_result",
    "user_id_of",
    "wait_for_session_event",
    "wait_transport",
    "without_request_tag",
]
