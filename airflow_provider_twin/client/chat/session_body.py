"""The request that starts a chat session: its fields, checked before sending, and its id.

Every field of TWIN's start request (twin-api.md §4.2) has a snake_case name here, with the
check its value must pass; values may be rendered templates (strings), so numbers, booleans
and JSON objects are converted back. Every problem is reported at once. The session id is
chosen by the caller and derived from the task instance, so a repeat reuses the session
instead of starting another.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_twin.client.chat.api import MAX_SESSION_TTL
from airflow_provider_twin.client.core.problems import Problems

#: Namespace of the deterministic session ids (UUIDv5 of the task instance identity).
SESSION_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://twin24.ai/airflow-provider-twin/chat-session")

#: Client UTC offsets TWIN can mean, in minutes (UTC-12:00 to UTC+14:00).
TIMEZONE_RANGE = (-720, 840)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INVALID = "invalid chat session request"


def session_id_for(dag_id: str, run_id: str, task_id: str, map_index: int, key: str | None = None) -> str:
    """The deterministic ``sessionId`` of a task instance (and an optional key).

    The same on every try of the task instance, different for each run, task, mapped instance
    and key. A UUIDv5, so TWIN accepts it as a session id (twin-api.md §4.2).
    """
    parts = [dag_id, run_id, task_id, str(map_index)]
    if key:
        parts.append(key)
    return str(uuid.uuid5(SESSION_ID_NAMESPACE, "|".join(parts)))


# -- field checks: each returns the value to send and records what is wrong with it ----------------
Check = Callable[[str, Any, Problems], Any]


def _string(name: str, value: Any, problems: Problems) -> Any:
    if not isinstance(value, str):
        problems.add(f"{name}: must be a string, got {type(value).__name__}")
    return value


def _text_or_json(name: str, value: Any, problems: Problems) -> Any:
    """Callback data is a string in TWIN; an object or list is sent as its JSON text."""
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return _string(name, value, problems)


def _non_empty(name: str, value: Any, problems: Problems) -> Any:
    if not isinstance(value, str) or not value.strip():
        problems.add(f"{name}: must be a non-empty string")
    return value


def _uuid(name: str, value: Any, problems: Problems) -> Any:
    if not isinstance(value, str) or not _UUID.match(value):
        problems.add(f"{name}: must be a UUID, got {value!r}")
    return value


def _email(name: str, value: Any, problems: Problems) -> Any:
    if not isinstance(value, str) or not _EMAIL.match(value):
        problems.add(f"{name}: must be an e-mail address, got {value!r}")
    return value


def _integer(name: str, value: Any, problems: Problems, *, low: int, high: int, unit: str) -> Any:
    number = value
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        number = int(value)  # a rendered template is a string
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        problems.add(f"{name}: must be an integer from {low} to {high} {unit}, got {value!r}")
        return value
    return number


def _ttl(name: str, value: Any, problems: Problems) -> Any:
    return _integer(name, value, problems, low=1, high=MAX_SESSION_TTL, unit="seconds")


def _timezone(name: str, value: Any, problems: Problems) -> Any:
    low, high = TIMEZONE_RANGE
    return _integer(name, value, problems, low=low, high=high, unit="minutes (the client's UTC offset)")


def _boolean(name: str, value: Any, problems: Problems) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        problems.add(f"{name}: must be true or false, got {value!r}")
    return value


def _json_value(value: Any) -> Any:
    """A rendered template of a dict or list arrives as a JSON string: decode it."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _object(name: str, value: Any, problems: Problems) -> Any:
    value = _json_value(value)
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        problems.add(f"{name}: must be an object with string keys")
        return value
    return dict(value)


def _object_or_list(name: str, value: Any, problems: Problems) -> Any:
    value = _json_value(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return _object(name, value, problems)


def _strings(name: str, value: Any, problems: Problems) -> Any:
    value = _json_value(value)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        problems.add(f"{name}: must be a list of strings")
        return value
    return list(value)


#: Argument -> (TWIN body field, check), in twin-api.md §4.2 order.
BODY_FIELDS: dict[str, tuple[str, Check]] = {
    "name": ("name", _string),
    "bot_id": ("botId", _uuid),
    "session_ttl": ("sessionTtl", _ttl),
    "messenger_type": ("messengerType", _non_empty),
    "messenger_user_id": ("messengerUserId", _non_empty),
    "message_body": ("messageBody", _string),
    "message_attachments": ("messageAttachments", _strings),
    "client_name_for_operator": ("clientNameForOperator", _string),
    "client_id": ("clientId", _non_empty),
    "client_external_id": ("clientExternalId", _non_empty),
    "client_phone": ("clientPhone", _non_empty),
    "client_email": ("clientEmail", _email),
    "client_device_id": ("clientDeviceId", _non_empty),
    "client_timezone": ("clientTimezone", _timezone),
    "client_metadata": ("clientMetadata", _object),
    "return_answer_async": ("returnAnswerAsync", _boolean),
    "client_name": ("clientName", _string),
    "client_first_name": ("clientFirstName", _string),
    "client_middle_name": ("clientMiddleName", _string),
    "client_last_name": ("clientLastName", _string),
    "channel": ("channel", _string),
    "referer": ("referer", _string),
    "variables": ("variables", _object_or_list),
    "callback_url": ("callbackUrl", _non_empty),
    "callback_data": ("callbackData", _text_or_json),
    "bot_node_id": ("botNodeId", _non_empty),
    "event_callback_url": ("eventCallbackUrl", _non_empty),
    "event_callback_data": ("eventCallbackData", _text_or_json),
    "notify_on_events": ("notifyOnEvents", _strings),
    "reply_to_message_id": ("replyToMessageId", _non_empty),
}

#: Checks of body fields given through ``extra_body`` under their TWIN names.
_CHECKS_BY_TWIN_NAME: dict[str, Check] = {twin: check for twin, check in BODY_FIELDS.values()}


def _collect_body(values: Mapping[str, Any], extra_body: Any, problems: Problems) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for argument, (field, check) in BODY_FIELDS.items():
        value = values.get(argument)
        if value is None or value == "":
            continue  # not given (an empty rendered template too)
        body[field] = check(argument, value, problems)
    extra = _json_value(extra_body) if extra_body is not None else {}
    if not isinstance(extra, Mapping):
        problems.add("extra_body: must be an object of TWIN field -> value")
        extra = {}
    for field, value in extra.items():
        if field == "sessionId":
            problems.add("extra_body: set the session id with session_id, not sessionId")
        elif field in body:
            problems.add(f"extra_body: {field} is also given as an operator argument")
        elif value is not None:
            known = _CHECKS_BY_TWIN_NAME.get(field)
            body[field] = value if known is None else known(f"extra_body.{field}", value, problems)
    return body


def build_body(values: Mapping[str, Any], extra_body: Any = None) -> dict[str, Any]:
    """The start request body from arguments (None = not sent) and ``extra_body``.

    ``extra_body`` adds fields under their TWIN names (for fields TWIN adds later); a field
    given both ways is an error.

    :raises TwinInputError: listing every problem, each naming the field.
    """
    problems = Problems()
    body = _collect_body(values, extra_body, problems)
    if problems:
        raise problems.inline_error(_INVALID)
    return body


def start_request(
    chat_id: Any, session_id: str, values: Mapping[str, Any], extra_body: Any = None
) -> tuple[str, dict[str, Any]]:
    """The checked chat id and the start request body carrying ``session_id``.

    :raises TwinInputError: listing every problem (chat id, session id and body fields).
    """
    problems = Problems()
    _non_empty("chat_id", chat_id, problems)
    _uuid("session_id", session_id, problems)
    body = _collect_body(values, extra_body, problems)
    if problems:
        raise problems.inline_error(_INVALID)
    return str(chat_id), {"sessionId": session_id, **body}


__all__ = [
    "BODY_FIELDS",
    "SESSION_ID_NAMESPACE",
    "TIMEZONE_RANGE",
    "build_body",
    "session_id_for",
    "start_request",
]
