"""Typed shapes of the TWIN payloads the provider builds and reads (twin-api.md §3, §4).

They are ``TypedDict`` s: plain JSON-compatible dicts at run time (cheap, XCom-friendly),
checked by type checkers. Only keys the provider relies on are declared; TWIN may add more.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

#: Channel keys of the ``channels`` map (twin-api.md §3.2.4, §7.5). Order in a message = fallback order.
CHANNELS: tuple[str, ...] = (
    "sms",
    "email",
    "push",
    "whatsapp",
    "viber",
    "telegram",
    "vkontakte",
    "odnoklassniki",
    "chat",
)

ChannelName = Literal[
    "sms", "email", "push", "whatsapp", "viber", "telegram", "vkontakte", "odnoklassniki", "chat"
]

#: Destination fields that address a recipient (twin-api.md §3.2.3).
DESTINATION_FIELDS: tuple[str, ...] = (
    "phone",
    "email",
    "clientId",
    "externalId",
    "messengerUserId",
    "pushRegistrationId",
)


class Destination(TypedDict, total=False):
    """One recipient of a message (twin-api.md §3.2.3)."""

    phone: str
    email: str
    clientId: str
    externalId: str
    messengerUserId: str
    pushRegistrationId: str
    platform: str
    variables: dict[str, str | int | float | bool | None]


class ChannelSettings(TypedDict, total=False):
    """Settings of one channel inside a message's ``channels`` map (twin-api.md §3.2.4)."""

    provider: str
    # ``from`` is a Python keyword: build it as a plain dict key, e.g. {"from": "TwinService"}.
    text: str
    validityPeriod: int
    subject: str
    fromEmail: str
    fromName: str
    replyTo: str
    imageUrl: str
    buttonUrl: str
    buttonText: str
    templateName: str
    templateNamespace: str
    templateData: list[Any] | dict[str, Any]
    language: str
    mediaUrl: str
    documentFilename: str
    attachments: list[str]
    chatId: str
    botId: str
    messengerType: str
    chatSessionName: str
    continueLastOrStartNewSession: bool
    required: bool


class MessageData(TypedDict, total=False):
    """One element of ``messages[]`` in a batch (twin-api.md §3.2.2)."""

    destinations: list[Destination]
    channels: dict[str, dict[str, Any]]
    templateId: str
    groupId: str
    callbackUrl: str
    callbackData: str
    useShortLinks: bool
    validate: bool
    allowedTimeRanges: list[list[str]]
    sendAt: str


class BatchError(TypedDict, total=False):
    """A per-item error of a batch answer (twin-api.md §3.2.8)."""

    message: str
    file: str
    line: int
    trace: list[str]


class BatchItem(TypedDict):
    """One item of the answer to ``POST /messages`` (twin-api.md §3.2.8)."""

    id: str | None
    bulkId: str
    groupId: str
    flowId: str | None
    status: str | None
    channel: str | None
    error: BatchError | None


class MessageItem(TypedDict, total=False):
    """One message as listed by ``GET /messages`` (twin-api.md §3.3)."""

    id: str
    bulkId: str
    groupId: str
    flowId: str
    status: str
    statusCode: int
    statusDescription: str
    partCount: int
    network: str | None
    channel: str
    templateId: str | None
    templateName: str | None
    destination: Destination
    message: dict[str, Any]
    templateVariables: dict[str, Any] | None
    tracks: dict[str, Any]
    createdAt: str
    sentAt: str | None
    deliveredAt: str | None
    sendAt: str | None
    expiredAt: str | None


class MessagePage(TypedDict):
    """A page of ``GET /messages``: ``count`` is the total number of matches."""

    count: int
    items: list[MessageItem]


class CancelItem(TypedDict, total=False):
    """One item of the answer to ``DELETE /messages`` (twin-api.md §3.4)."""

    id: str
    bulkId: str
    groupId: str
    flowId: str
    status: str
    channel: str
    error: BatchError | None
