"""Typed shapes of the TWIN chat payloads the provider reads (twin-api.md §4).

Plain JSON-compatible dicts at run time, checked by type checkers; only keys the provider
relies on are declared.
"""

from __future__ import annotations

from typing import Any, TypedDict


class ChatMessage(TypedDict, total=False):
    """A bot or operator message in a chat session answer (twin-api.md §4.2)."""

    authorId: str
    authorType: str
    body: str
    answers: list[str]
    keyboard: dict[str, Any] | None
    actions: Any
    attachments: list[dict[str, Any]]


class StartedSession(TypedDict, total=False):
    """The answer to starting or continuing a chat session (twin-api.md §4.2)."""

    id: str
    clientId: str
    startedAt: str
    ttl: int
    messages: list[ChatMessage]


class SessionInfo(TypedDict, total=False):
    """A chat session as returned by ``GET /sessions/{id}`` (twin-api.md §4.4)."""

    id: str
    chatId: str
    name: str
    ttl: int
    status: str
    botStatus: str
    startedAt: str
    clientId: str
    channel: str
    messengerType: str
    closedAt: str | None
    sessionRatingRequired: bool


class SessionPage(TypedDict):
    """A page of ``GET /sessions``."""

    count: int
    items: list[SessionInfo]


class SessionMessagePage(TypedDict):
    """A page of ``GET /sessions/{id}/messages`` (twin-api.md §4.5)."""

    count: int
    items: list[dict[str, Any]]


class PostedMessage(TypedDict, total=False):
    """The answer to ``POST /sessions/{id}/clients/messages`` (twin-api.md §4.5)."""

    id: str
    createdAt: str
