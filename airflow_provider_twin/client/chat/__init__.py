"""TWIN chat: start and read chat-bot sessions, and follow their realtime events.

The endpoint calls (twin-api.md §4) are served from this package directly
(``chat.start_session(...)``); :mod:`.realtime` follows sessions over TWIN's websocket.
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

__all__ = [
    "MAX_SESSION_TTL",
    "continue_or_start_session",
    "get_session",
    "list_sessions",
    "session_messages",
    "start_session",
]
