"""An approval conversation over TWIN chat: who is asked, what they are told, and the Notify
message that tells them.

The question reaches each approver through Notify ``POST /messages`` with a ``chat`` channel
(twin-api.md §3.2.4): TWIN opens (or, with ``continueLastOrStartNewSession``, continues) a
chat session named ``chatSessionName`` with that client. The session's name carries a digest
of the request and the approver (:func:`session_name`). A name alone proves nothing (anyone may
start a widget session of any name, ``POST /chats/{chatId}/sessions`` needs no credentials), so
every message the approvers get carries the request's reference tag (:func:`request_tag`): a
session is the approver's only once TWIN put a message of ours, with that tag, in it
(:mod:`.approval_inbox` reads the replies after it).

Approvers are given as phones (``"+7 999 123-45-67"``) or as objects with one of ``phone``,
``messengerUserId``, ``clientId``, ``externalId`` (the destinations the chat channel reaches)
and an optional ``name``. Phones are normalised as the send operator does
(:func:`~..core.phones.normalize_phone`).

What the messages say is :mod:`.approval_texts`. Pure: no I/O.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_twin.client.chat.wait_arguments import known_after_rendering
from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.core.phones import MAX_PHONE_DIGITS, MIN_PHONE_DIGITS, normalize_phone
from airflow_provider_twin.client.core.problems import Problems, shown

#: The destination fields the chat channel reaches an approver by, in the order that names the
#: approver's key when several are given.
APPROVER_FIELDS: tuple[str, ...] = ("phone", "messengerUserId", "clientId", "externalId")
#: Longest chat session name, in characters.
MAX_SESSION_NAME = 255
#: Longest text the chat channel carries, in characters (the messengers' 4096).
MAX_CHAT_TEXT = 4096
#: TWIN's limit of an external id (twin-api.md §3.2.6).
MAX_EXTERNAL_ID_BYTES = 10240
#: Namespace of the conversation's deterministic ``bulkId`` s (UUIDv5).
APPROVAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://twin24.ai/airflow-provider-twin/chat-approval")


_BLANKS = re.compile(r"\s+")
_TRUNCATION_MARKER = "…"


@dataclass(frozen=True)
class Approver:
    """One person asked to approve.

    :param key: stable identity, ``<field>:<value>`` of the first of :data:`APPROVER_FIELDS`
        given (e.g. ``phone:79001234567``).
    :param name: how Airflow and the other approvers see them.
    :param destination: the TWIN destination (twin-api.md §3.2.3) the chat channel reaches.
    :param client_id: the approver's TWIN ``clientId`` when given: a session reporting another
        client is not theirs.
    """

    key: str
    name: str
    destination: dict[str, str] = field(hash=False)
    client_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON values (a trigger's kwargs); :func:`approver_from_json` reads them back."""
        return {
            "key": self.key,
            "name": self.name,
            "destination": dict(self.destination),
            "client_id": self.client_id,
        }


def approver_from_json(data: Mapping[str, Any] | str) -> Approver:
    """Inverse of :meth:`Approver.to_json` (a JSON string of it is read too).

    :raises TwinInputError: when ``data`` is not what :meth:`Approver.to_json` gives.
    """
    values = json.loads(data) if isinstance(data, str) else data
    if not isinstance(values, Mapping) or set(values) != {"key", "name", "destination", "client_id"}:
        raise TwinInputError(f"approver: expected key, name, destination and client_id, got {shown(values)}")
    destination = values["destination"]
    client_id = values["client_id"]
    if (
        not isinstance(values["key"], str)
        or not isinstance(values["name"], str)
        or not isinstance(destination, Mapping)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in destination.items())
        or not (client_id is None or isinstance(client_id, str))
    ):
        raise TwinInputError(f"approver: malformed {shown(values)}")
    return Approver(values["key"], values["name"], dict(destination), client_id)


def _listed(value: Any) -> list[Any]:
    """Approvers as a list: a list or tuple, one approver, or a string holding a JSON list or
    phones separated by commas, semicolons or lines (what a rendered template gives)."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("[", "{")):
            try:
                return _listed(json.loads(text))
            except ValueError:
                pass
        return [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _approver(index: int, raw: Any, problems: Problems) -> Approver | None:
    where = f"approvers[{index}]"
    if isinstance(raw, str) and "@" in raw:
        raw = {"email": raw}  # refused below: the chat channel reaches no e-mail address
    elif isinstance(raw, (str, int)) and not isinstance(raw, bool):
        raw = {"phone": raw}
    if not isinstance(raw, Mapping):
        fields = ", ".join(APPROVER_FIELDS)
        problems.add(f"{where}: expected a phone or an object with {fields}, got {type(raw).__name__}")
        return None
    before = problems.count
    destination: dict[str, str] = {}
    name: str | None = None
    for key, value in raw.items():
        if value is None or value == "":
            continue
        if key == "name":
            if isinstance(value, str) and value.strip():
                name = _BLANKS.sub(" ", value.strip())
            else:
                problems.add(f"{where}.name: must be a non-empty string, got {shown(value)}")
        elif key == "phone":
            phone = normalize_phone(value)
            if phone is None:
                problems.add(
                    f"{where}.phone: {shown(value)} is not a phone number "
                    f"({MIN_PHONE_DIGITS}-{MAX_PHONE_DIGITS} digits with country code)"
                )
            else:
                destination["phone"] = phone
        elif key in APPROVER_FIELDS:
            if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
                problems.add(f"{where}.{key}: must be a non-empty string, got {shown(value)}")
            elif key == "externalId" and len(str(value).strip().encode()) > MAX_EXTERNAL_ID_BYTES:
                problems.add(f"{where}.externalId: longer than {MAX_EXTERNAL_ID_BYTES} bytes")
            else:
                destination[key] = str(value).strip()
        else:
            problems.add(
                f"{where}.{key}: the chat channel cannot reach an approver by {key!r}; "
                f"use {', '.join(APPROVER_FIELDS)} (and name)"
            )
    if problems.count != before:
        return None
    if not destination:
        problems.add(f"{where}: give one of {', '.join(APPROVER_FIELDS)}")
        return None
    first = next(key for key in APPROVER_FIELDS if key in destination)
    shown_as = f"+{destination['phone']}" if first == "phone" else destination[first]
    return Approver(
        f"{first}:{destination[first]}", name or shown_as, destination, destination.get("clientId")
    )


def approvers_known_after_rendering(value: Any) -> bool:
    """True when the approvers are known only once Airflow renders them: a template anywhere in
    them (``["{{ var.value.boss }}"]``, ``[{"phone": "{{ params.phone }}"}]``) or a reference
    such as another task's output. :func:`parse_approvers` checks them then."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, Mapping):
        return any(approvers_known_after_rendering(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(approvers_known_after_rendering(item) for item in value)
    return value is not None and not isinstance(value, (int, float, bool))


def parse_approvers(value: Any) -> list[Approver]:
    """The approvers of ``value``: a list (or one, or a rendered list) of phones and objects.

    :raises TwinInputError: listing every problem, each naming ``approvers[<i>]`` and its field.
    """
    problems = Problems()
    approvers: list[Approver] = []
    seen: dict[str, int] = {}
    listed = _listed(value)
    if not listed:
        problems.add("approvers: name at least one approver (a phone or an object with phone, ...)")
    for index, raw in enumerate(listed):
        approver = _approver(index, raw, problems)
        if approver is None:
            continue
        if approver.key in seen:
            problems.add(f"approvers[{index}]: the same approver as approvers[{seen[approver.key]}]")
            continue
        seen[approver.key] = index
        approvers.append(approver)
    if problems:
        raise problems.error("approvers", outcome="")
    return approvers


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def request_tag(request_key: str) -> str:
    """The request's reference tag, e.g. ``#K7QZ``: ``#``, a letter and three more characters of
    base32 of SHA-256 of ``request_key``, the same for every approver and message of the request.

    Every text the approvers get shows it ("ref #K7QZ"): the inbox accepts a session only once
    a message of ours carrying it is there, and an approver with several questions open starts
    the answer with it. Starting with a letter, it never reads as an option number (``#2``).
    """
    digest = hashlib.sha256(request_key.encode()).digest()
    letter = chr(ord("A") + digest[0] % 26)
    return f"#{letter}{base64.b32encode(digest[1:]).decode()[:3]}"


def session_name(request_key: str, approver: Approver, label: str) -> str:
    """The chat session name of ``approver``'s conversation about request ``request_key``:
    ``Airflow approval · <label> · <12 hex>`` (at most :data:`MAX_SESSION_NAME` characters).

    The hex is the start of SHA-256 of the request key and the approver's key. The request key
    names the task instance and its try (``<ti id>#<try>``), so every try asks in sessions of
    new names. Commas of ``label`` become spaces (TWIN's list filters, ``GET /sessions?name=``
    among them, read commas as separators).
    """
    tail = f" · {_digest(request_key, approver.key)[:12]}"
    head = "Airflow approval"
    text = _BLANKS.sub(" ", str(label or "").replace(",", " ")).strip()
    room = MAX_SESSION_NAME - len(head) - len(tail) - len(" · ")
    if text and room > 0:
        if len(text) > room:
            text = text[: room - 1].rstrip() + _TRUNCATION_MARKER
        head = f"{head} · {text}"
    return head + tail


def conversation_bulk_id(request_key: str, approver: Approver, purpose: str) -> str:
    """The ``bulkId`` of one message of the conversation (``question``, ``help:<message id>``,
    ``outcome``...): UUIDv5, the same on every repetition, so a message is sent at most once."""
    return str(uuid.uuid5(APPROVAL_NAMESPACE, "\n".join((request_key, approver.key, purpose))))


def check_chat_id(value: Any) -> str:
    """The chat id as a UUID string (a template or a reference is passed on unchanged, checked
    once rendered).

    :raises TwinInputError: naming ``chat_id``.
    """
    if known_after_rendering(value):
        return value  # type: ignore[no-any-return]
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        return str(uuid.UUID(value.strip()))
    raise TwinInputError(f"chat_id: the TWIN chat's id (a UUID) is needed, got {shown(value)}")


def _uuid_problem(name: str, value: Any) -> str | None:
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return f"{name}: {shown(value)} is not a UUID"
    return None


def chat_message(
    approver: Approver,
    *,
    chat_id: str,
    session_name: str,
    text: str,
    messenger_type: str | None = None,
    bot_id: str | None = None,
    continue_session: bool,
) -> dict[str, Any]:
    """One Notify message (twin-api.md §3.2.2) to ``approver`` through the ``chat`` channel
    only: it opens (``continue_session=False``) or continues the session ``session_name`` of
    chat ``chat_id``. The text is cut to :data:`MAX_CHAT_TEXT` characters. The message passes
    the send operator's checks of a raw message unchanged.

    :raises TwinInputError: naming ``chat_id``, ``bot_id``, ``messenger_type``,
        ``session_name`` or ``text``.
    """
    problems = [
        problem
        for problem in (
            _uuid_problem("chat_id", chat_id),
            None if bot_id is None else _uuid_problem("bot_id", bot_id),
        )
        if problem
    ]
    if messenger_type is not None and (not isinstance(messenger_type, str) or not messenger_type.strip()):
        problems.append(
            f"messenger_type: must be a messenger name such as WHATSAPP, got {shown(messenger_type)}"
        )
    if not isinstance(session_name, str) or not session_name.strip() or len(session_name) > MAX_SESSION_NAME:
        problems.append(f"session_name: must be 1-{MAX_SESSION_NAME} characters, got {shown(session_name)}")
    if not isinstance(text, str) or not text.strip():
        problems.append("text: nothing to send")
    if problems:
        found = Problems()
        found.extend(problems)
        raise found.inline_error("chat message")
    if len(text) > MAX_CHAT_TEXT:
        text = text[: MAX_CHAT_TEXT - len(_TRUNCATION_MARKER)] + _TRUNCATION_MARKER
    channel: dict[str, Any] = {
        "chatId": chat_id,
        "chatSessionName": session_name,
        "text": text,
        "continueLastOrStartNewSession": bool(continue_session),
    }
    if messenger_type is not None:
        channel["messengerType"] = messenger_type.strip()
    if bot_id is not None:
        channel["botId"] = bot_id
    return {"destinations": [dict(approver.destination)], "channels": {"chat": channel}}


__all__ = [
    "APPROVAL_NAMESPACE",
    "APPROVER_FIELDS",
    "MAX_CHAT_TEXT",
    "MAX_SESSION_NAME",
    "Approver",
    "approver_from_json",
    "approvers_known_after_rendering",
    "chat_message",
    "check_chat_id",
    "conversation_bulk_id",
    "parse_approvers",
    "request_tag",
    "session_name",
]
