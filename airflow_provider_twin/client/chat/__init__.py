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
* :mod:`.realtime`: following sessions over TWIN's websocket (its transports need the
  ``realtime`` extra and load on first use, see :func:`load_realtime`).
"""

from __future__ import annotations

from airflow_provider_twin.client.chat.api import (
    MAX_SESSION_TTL,
    continue_or_start_session,
    get_session,
    list_sessions,
    session_messages,
    start_session,
)
from airflow_provider_twin.client.chat.approval_chat import (
    APPROVER_FIELDS,
    MAX_CHAT_TEXT,
    MAX_SESSION_NAME,
    Approver,
    approver_from_json,
    chat_message,
    conversation_bulk_id,
    parse_approvers,
    session_name,
)
from airflow_provider_twin.client.chat.approval_inbox import (
    CLOCK_SLACK_SECONDS,
    ApprovalInbox,
    ApproverReply,
)
from airflow_provider_twin.client.chat.approval_replies import NO_WORDS, YES_WORDS, match_reply
from airflow_provider_twin.client.chat.approval_texts import (
    LANGUAGES,
    OUTCOME_KINDS,
    check_language,
    help_text,
    outcome_text,
    question_text,
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
    "APPROVER_FIELDS",
    "BODY_FIELDS",
    "CHAT_EVENT_KINDS",
    "CLOCK_SLACK_SECONDS",
    "CLOSED_STATUSES",
    "DEFAULT_FALLBACK_INTERVAL",
    "DEFAULT_RECHECK_INTERVAL",
    "ERROR_NOT_FOUND",
    "ERROR_REALTIME",
    "ERROR_REST",
    "EVENT_NAMES",
    "INSTALL_HINT",
    "LANGUAGES",
    "MAX_CHAT_TEXT",
    "MAX_SESSION_NAME",
    "MAX_SESSION_TTL",
    "NO_WORDS",
    "OUTCOME_KINDS",
    "REUSED_MESSAGES_LIMIT",
    "SESSION_CLOSED",
    "SESSION_ID_NAMESPACE",
    "YES_WORDS",
    "ApprovalInbox",
    "Approver",
    "ApproverReply",
    "ChatEvent",
    "ChatEventFilter",
    "ChatSessionEvents",
    "EventFilter",
    "EventRule",
    "SessionCheck",
    "SessionChecker",
    "TwinRealtimeError",
    "WaitResult",
    "approver_from_json",
    "build_body",
    "chat_message",
    "check_language",
    "check_session",
    "check_wait_arguments",
    "closed_result",
    "closed_status_set",
    "continue_or_start_session",
    "conversation_bulk_id",
    "error_result",
    "failed_result",
    "get_session",
    "help_text",
    "known_after_rendering",
    "list_sessions",
    "load_realtime",
    "match_reply",
    "outcome_text",
    "parse_approvers",
    "question_text",
    "realtime_extra_problem",
    "require_realtime",
    "session_id_for",
    "session_id_of",
    "session_messages",
    "session_name",
    "start_once",
    "start_request",
    "start_session",
    "timeout_result",
    "user_id_of",
    "wait_for_session_event",
    "wait_transport",
]
