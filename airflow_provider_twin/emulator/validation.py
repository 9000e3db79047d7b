"""Validation of ``POST /messages`` bodies, producing a ready-to-store plan.

The checks mirror what TWIN documents (twin-api.md §3.2) plus the limits listed as ASSUMPTIONs in
§7.24. Errors are reported as ``{json path: [messages]}``, e.g.
``{"messages[0].channels.vkontakte.attachments": ["At most 10 attachments are allowed."]}``
(ASSUMPTION twin-api.md §7.10). A valid body becomes a :class:`BatchPlan` whose per-message parts
(normalised channel list, parsed send time and windows) are reused by the store, so nothing is parsed
twice on the hot path.
"""

from __future__ import annotations

from typing import Any

from .clock import iso, parse_aware_datetime
from .settings import CHANNEL_KEYS
from .strict_notify import strict_channel_problems
from .time_windows import Window, parse_time_of_day

#: Destination fields that identify a recipient (at least one is required).
IDENTITY_FIELDS: tuple[str, ...] = (
    "phone",
    "email",
    "clientId",
    "externalId",
    "messengerUserId",
    "pushRegistrationId",
)
_IDENTITY = frozenset(IDENTITY_FIELDS)
_STRING_DESTINATION_FIELDS = _IDENTITY | {"platform"}
_SCALARS = (str, int, float, bool, type(None))
_MAX_ERRORS = 200
_MAX_VK_ATTACHMENTS = 10
_STRING_CHANNEL_FIELDS = frozenset(
    {
        "provider",
        "from",
        "text",
        "subject",
        "fromEmail",
        "fromName",
        "replyTo",
        "imageUrl",
        "buttonUrl",
        "buttonText",
        "templateName",
        "templateNamespace",
        "language",
        "mediaUrl",
        "documentFilename",
        "chatId",
        "botId",
        "messengerType",
        "chatSessionName",
    }
)
_GSM_SINGLE, _GSM_MULTI, _UCS2_SINGLE, _UCS2_MULTI = 160, 153, 70, 67


class ChannelPlan:
    """One entry of a message's ``channels`` map, normalised."""

    __slots__ = ("key", "obj", "part_count", "required", "template_name", "upper")

    def __init__(self, key: str, obj: dict[str, Any]) -> None:
        self.key = key
        self.upper = key.upper()
        self.obj = obj
        self.required = obj.get("required") is True
        name = obj.get("templateName")
        self.template_name: str | None = name if isinstance(name, str) else None
        text = obj.get("text")
        self.part_count = sms_part_count(text) if key == "sms" and isinstance(text, str) else 1


class MessagePlan:
    """One element of ``messages[]`` after validation."""

    __slots__ = (
        "callback_data",
        "callback_url",
        "channels",
        "destinations",
        "group_id",
        "send_at",
        "send_at_iso",
        "template_channels",
        "template_id",
        "windows",
    )

    def __init__(self, message: dict[str, Any], channels: list[ChannelPlan]) -> None:
        self.destinations: list[dict[str, Any]] = message["destinations"]
        self.channels = channels
        group = message.get("groupId")
        self.group_id: str | None = group if isinstance(group, str) and group else None
        template = message.get("templateId")
        self.template_id: str | None = template if isinstance(template, str) and template else None
        #: The channels of the stored template ``template_id`` names (set by the route).
        self.template_channels: dict[str, dict[str, Any]] | None = None
        self.callback_url: str | None = message.get("callbackUrl")
        self.callback_data: str | None = message.get("callbackData")
        self.send_at: float | None = None
        self.send_at_iso: str | None = None
        self.windows: list[Window] | None = None


class BatchPlan:
    """A validated ``POST /messages`` body."""

    __slots__ = ("bulk_id", "company_id", "destination_count", "messages", "task_id")

    def __init__(self, body: dict[str, Any], messages: list[MessagePlan], destination_count: int) -> None:
        bulk = body.get("bulkId")
        self.bulk_id: str | None = bulk if isinstance(bulk, str) and bulk else None
        task = body.get("taskId")
        self.task_id: str | None = None if task is None else str(task)
        self.company_id: Any = body.get("companyId")
        self.messages = messages
        self.destination_count = destination_count


def sms_part_count(text: str) -> int:
    """Number of SMS parts for ``text`` (GSM-7 for ASCII text, UCS-2 otherwise)."""
    if text.isascii():
        single, multi = _GSM_SINGLE, _GSM_MULTI
    else:
        single, multi = _UCS2_SINGLE, _UCS2_MULTI
    length = len(text)
    if length <= single:
        return 1
    return -(-length // multi)


class _Errors:
    """Collects ``path -> [messages]`` and stops growing after a limit."""

    __slots__ = ("count", "details")

    def __init__(self) -> None:
        self.details: dict[str, list[str]] = {}
        self.count = 0

    def add(self, path: str, message: str) -> None:
        self.count += 1
        if self.count <= _MAX_ERRORS:
            self.details.setdefault(path, []).append(message)

    @property
    def full(self) -> bool:
        return self.count >= _MAX_ERRORS


def validate_batch(body: Any, *, strict: bool = False) -> tuple[BatchPlan | None, dict[str, list[str]]]:
    """Validate a decoded ``POST /messages`` body; returns ``(plan, {})`` or ``(None, details)``.

    ``strict`` adds what seed 000 asks of each channel (:mod:`.strict_notify`).
    """
    errors = _Errors()
    if not isinstance(body, dict):
        errors.add("body", "Must be a JSON object.")
        return None, errors.details
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        errors.add("messages", "Must be a non-empty list of messages.")
        return None, errors.details
    company = body.get("companyId")
    if company is not None and (isinstance(company, bool) or not isinstance(company, str | int)):
        errors.add("companyId", "Must be a string, an integer or null.")
    for key in ("taskId", "bulkId"):
        value = body.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            errors.add(key, "Must be a non-empty string or null.")
    plans: list[MessagePlan] = []
    destination_count = 0
    for index, message in enumerate(messages):
        if errors.full:
            break
        plan = _validate_message(errors, message, f"messages[{index}]", strict)
        if plan is not None:
            plans.append(plan)
            destination_count += len(plan.destinations)
    if errors.count:
        return None, errors.details
    return BatchPlan(body, plans, destination_count), {}


def validate_template(body: dict[str, Any], *, strict: bool, partial: bool) -> dict[str, list[str]]:
    """Problems of a ``POST``/``PUT /templates`` body (twin-api.md §3.7), ``{field: [messages]}``.

    ``channels`` and ``allowedTimeRanges`` are checked as in a message without ``templateId``:
    the template is what gives the message its text. ``partial`` (PUT) makes ``name`` optional.
    """
    errors = _Errors()
    name = body.get("name")
    if (name is not None or not partial) and (type(name) is not str or not name.strip()):
        errors.add("name", "Required: a non-empty string.")
    if body.get("channels") is not None:
        _validate_channels(errors, body["channels"], "", False, strict)
    _validate_windows(errors, body.get("allowedTimeRanges"), "allowedTimeRanges")
    return {key.lstrip("."): messages for key, messages in errors.details.items()}


def _validate_message(errors: _Errors, message: Any, path: str, strict: bool) -> MessagePlan | None:
    if type(message) is not dict:
        errors.add(path, "Must be an object.")
        return None
    before = errors.count
    has_template = False
    send_at: float | None = None
    windows: list[Window] | None = None
    # One pass over the keys actually present: most messages carry only destinations and channels.
    for key, value in message.items():
        if value is None or key in {"destinations", "channels"}:
            continue
        if key in {"templateId", "groupId"}:
            if type(value) is not str or not value:
                errors.add(f"{path}.{key}", "Must be a non-empty string or null.")
            elif key == "templateId":
                has_template = True
        elif key in {"callbackUrl", "callbackData"}:
            limit = 4000 if key == "callbackUrl" else 10240
            if type(value) is not str:
                errors.add(f"{path}.{key}", "Must be a string or null.")
            elif len(value) * 4 > limit and len(value.encode()) > limit:
                errors.add(f"{path}.{key}", f"Must not exceed {limit} bytes.")
        elif key in {"useShortLinks", "validate"}:
            if type(value) is not bool:
                errors.add(f"{path}.{key}", "Must be a boolean.")
        elif key == "sendAt":
            send_at = parse_aware_datetime(value) if type(value) is str else None
            if send_at is None:
                errors.add(
                    f"{path}.sendAt",
                    "Must be an ISO-8601 date-time with a UTC offset, e.g. 2026-02-01T10:00:00+03:00.",
                )
        elif key == "allowedTimeRanges":
            windows = _validate_windows(errors, value, f"{path}.allowedTimeRanges")

    channels = _validate_channels(errors, message.get("channels"), path, has_template, strict)
    _validate_destinations(errors, message.get("destinations"), path)
    if errors.count != before or channels is None:
        return None
    plan = MessagePlan(message, channels)
    if send_at is not None:
        plan.send_at = send_at
        plan.send_at_iso = iso(send_at)
    plan.windows = windows
    return plan


def _validate_channels(
    errors: _Errors, channels: Any, message_path: str, has_template: bool, strict: bool
) -> list[ChannelPlan] | None:
    if type(channels) is not dict or not channels:
        errors.add(
            f"{message_path}.channels", "Must be a non-empty object mapping a channel name to its settings."
        )
        return None
    result: list[ChannelPlan] = []
    seen: set[str] = set()
    ok = True
    for name, obj in channels.items():
        key = name.lower()
        if key not in CHANNEL_KEYS:
            errors.add(
                f"{message_path}.channels.{name}",
                f"Unknown channel. Use one of: {', '.join(sorted(CHANNEL_KEYS))}.",
            )
            ok = False
        elif key in seen:
            errors.add(f"{message_path}.channels.{name}", "The channel is listed twice.")
            ok = False
        elif type(obj) is not dict:
            errors.add(f"{message_path}.channels.{name}", "Must be an object.")
            ok = False
        elif _validate_channel_fields(
            errors, key, obj, message_path=message_path, name=name, has_template=has_template, strict=strict
        ):
            seen.add(key)
            result.append(ChannelPlan(key, obj))
        else:
            ok = False
    return result if ok else None


def _validate_channel_fields(
    errors: _Errors,
    key: str,
    obj: dict[str, Any],
    *,
    message_path: str,
    name: str,
    has_template: bool,
    strict: bool,
) -> bool:
    before = errors.count
    for field, value in obj.items():
        if value is None:
            continue
        if field in _STRING_CHANNEL_FIELDS:
            if type(value) is not str:
                errors.add(f"{message_path}.channels.{name}.{field}", "Must be a string.")
        elif field in ("required", "continueLastOrStartNewSession"):
            if type(value) is not bool:
                errors.add(f"{message_path}.channels.{name}.{field}", "Must be a boolean.")
        elif field == "validityPeriod":
            if type(value) is not int or not 1 <= value <= 2880:
                errors.add(
                    f"{message_path}.channels.{name}.validityPeriod",
                    "Must be an integer number of minutes from 1 to 2880.",
                )
        elif field == "attachments":
            where = f"{message_path}.channels.{name}.attachments"
            if type(value) is not list or not all(type(item) is str for item in value):
                errors.add(where, "Must be a list of strings.")
            elif key == "vkontakte" and len(value) > _MAX_VK_ATTACHMENTS:
                errors.add(where, f"At most {_MAX_VK_ATTACHMENTS} attachments are allowed.")
    if strict:
        for field, message in strict_channel_problems(key, obj, has_template):
            errors.add(f"{message_path}.channels.{name}.{field}", message)
    elif not has_template:
        text, template_name = obj.get("text"), obj.get("templateName")
        has_content = (type(text) is str and text) or (type(template_name) is str and template_name)
        # A chat-channel entry starts a bot session; its content comes from the chat's bot.
        if not has_content and not (key == "chat" and type(obj.get("chatId")) is str):
            errors.add(
                f"{message_path}.channels.{name}.text",
                "Either templateId on the message or text/templateName in the channel is required.",
            )
    return errors.count == before


def _validate_destinations(errors: _Errors, destinations: Any, message_path: str) -> None:
    path = f"{message_path}.destinations"
    if type(destinations) is not list or not destinations:
        errors.add(path, "Must be a non-empty list of recipients.")
        return
    identity = _IDENTITY
    string_fields = _STRING_DESTINATION_FIELDS
    scalars = _SCALARS
    for index, destination in enumerate(destinations):
        if type(destination) is not dict:
            errors.add(f"{path}[{index}]", "Must be an object.")
            continue
        identified = False
        for key, value in destination.items():
            if key in string_fields:
                if type(value) is not str:
                    if value is not None:
                        errors.add(f"{path}[{index}].{key}", "Must be a string.")
                elif value and key in identity:
                    identified = True
            elif key == "variables" and value is not None:
                if type(value) is not dict:
                    errors.add(f"{path}[{index}].variables", "Must be an object of scalar values.")
                    continue
                for name, item in value.items():
                    if not isinstance(item, scalars):
                        errors.add(
                            f"{path}[{index}].variables.{name}", "Must be a string, number or boolean."
                        )
        if not identified:
            errors.add(
                f"{path}[{index}]",
                "Needs at least one of " + ", ".join(IDENTITY_FIELDS) + ".",
            )
        external_id = destination.get("externalId")
        if isinstance(external_id, str) and len(external_id) > 2560 and len(external_id.encode()) > 10240:
            errors.add(f"{path}[{index}].externalId", "Must not exceed 10240 bytes.")
        if errors.full:
            return


def _validate_windows(errors: _Errors, ranges: Any, path: str) -> list[Window] | None:
    if ranges is None:
        return None
    if not isinstance(ranges, list):
        errors.add(path, "Must be a list of [from, to] pairs.")
        return None
    windows: list[Window] = []
    for index, pair in enumerate(ranges):
        if not isinstance(pair, list) or len(pair) != 2:
            errors.add(f"{path}[{index}]", "Must be a [from, to] pair of H:MM:SS or HH:MM:SS times.")
            continue
        start, end = parse_time_of_day(pair[0]), parse_time_of_day(pair[1])
        if start is None or end is None:
            errors.add(f"{path}[{index}]", "Must be a [from, to] pair of H:MM:SS or HH:MM:SS times.")
            continue
        windows.append((start, end))
    return windows or None
