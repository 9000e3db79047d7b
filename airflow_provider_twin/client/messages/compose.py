"""Compose TWIN messages from a campaign description, and validate everything before sending.

A campaign is described once (:class:`MessageSpec`: channels in fallback order, text or
template, send time, windows...) and applied to any number of recipients. Validation is
local and complete: :func:`compile_spec` checks the shared settings, :meth:`Campaign.destination`
checks and normalises one recipient, and problems name the field and the recipient index so
that a bad list is fixed in one round trip, before a single request is sent.

Recipient normalisation (said once here, relied upon everywhere):

* ``phone``: ``+``, spaces, dashes and parentheses are removed; what is left must be 10-15
  digits (international format with country code, as TWIN expects, e.g. ``79991234567``).
* ``email``: trimmed; must look like ``local@domain.tld`` (no spaces, one ``@``, a dot in the
  domain, at most 254 characters). Deliverability is not checked.
* ``variables``: an object of scalar values (string, number, boolean, null). Shared
  ``variables`` of the spec are merged under each recipient's own. Keys ``var_<name>`` of a
  recipient are read as ``variables[<name>]`` (the CSV convention, see :mod:`.recipients`).
* Empty values (``None``, ``""``) count as absent, so a CSV with blank cells just works.

This module is pure: no Airflow import, no I/O. The send operator and the notifier share it.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.core.problems import Problems
from airflow_provider_twin.client.messages.models import (
    CHANNELS,
    DESTINATION_FIELDS,
    Destination,
    MessageData,
)

Scalar = str | int | float | bool | None

#: TWIN's documented limits (twin-api.md §3.2.6).
MIN_VALIDITY_PERIOD, MAX_VALIDITY_PERIOD = 1, 2880
MAX_VK_ATTACHMENTS = 10
MAX_CALLBACK_URL_BYTES = 4000
MAX_CALLBACK_DATA_BYTES = 10240
MAX_EXTERNAL_ID_BYTES = 10240
#: Chat session lifetime limit (twin-api.md §3.2.6, §7.24).
MAX_SESSION_TTL = 43200

MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 10, 15
MAX_EMAIL_LENGTH = 254

#: Which destination fields each channel can deliver to.
#: ASSUMPTION (twin-api.md §3.2.3 does not pin this down): SMS needs a phone, e-mail an
#: address, push a device registration; messengers reach a user by phone or messenger user
#: id; the chat channel also by platform client or external id. ``clientId`` (a TWIN
#: platform client, whose contacts TWIN knows) is accepted by every channel.
CHANNEL_DESTINATIONS: Mapping[str, frozenset[str]] = {
    "sms": frozenset({"phone", "clientId"}),
    "email": frozenset({"email", "clientId"}),
    "push": frozenset({"pushRegistrationId", "clientId"}),
    "whatsapp": frozenset({"phone", "messengerUserId", "clientId"}),
    "viber": frozenset({"phone", "messengerUserId", "clientId"}),
    "telegram": frozenset({"messengerUserId", "phone", "clientId"}),
    "vkontakte": frozenset({"phone", "messengerUserId", "clientId"}),
    "odnoklassniki": frozenset({"phone", "messengerUserId", "clientId"}),
    "chat": frozenset({"phone", "messengerUserId", "clientId", "externalId"}),
}

#: Destination fields taken as they are (trimmed strings).
_PLAIN_FIELDS = frozenset({"clientId", "messengerUserId", "pushRegistrationId", "platform"})

#: Keys a recipient may carry (plus ``var_<name>``).
RECIPIENT_KEYS: frozenset[str] = frozenset({*DESTINATION_FIELDS, "platform", "variables"})

#: Per-channel fields and their JSON types (twin-api.md §3.2.4). Unknown fields are refused:
#: TWIN silently ignores them, so a typo ("form" for "from") would otherwise go unnoticed.
CHANNEL_FIELDS: Mapping[str, type | tuple[type, ...]] = {
    "provider": str,
    "from": str,
    "text": str,
    "validityPeriod": int,
    "subject": str,
    "fromEmail": str,
    "fromName": str,
    "replyTo": str,
    "imageUrl": str,
    "buttonUrl": str,
    "buttonText": str,
    "templateName": str,
    "templateNamespace": str,
    "templateData": (list, dict),
    "language": str,
    "mediaUrl": str,
    "documentFilename": str,
    "attachments": list,
    "chatId": str,
    "botId": str,
    "messengerType": str,
    "chatSessionName": str,
    "continueLastOrStartNewSession": bool,
    "sessionTtl": int,
    "required": bool,
}

_UUID_FIELDS = ("chatId", "botId")
_PHONE_JUNK = re.compile(r"[+\s\-()]")
_PHONE_DELETE = str.maketrans("", "", "+ -()\t\u00a0")
_EMAIL_MATCH = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+").fullmatch
_TIME_OF_DAY = re.compile(r"^(\d{1,2}):([0-5]\d):([0-5]\d)$")
_VK_ATTACHMENT = re.compile(r"^(photo|video|audio|doc|wall|market|poll)-?\d+_\d+$")
_SCALARS = (str, int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)
_SHOWN = 60


def _show(value: Any) -> str:
    """A short, log-safe rendering of a bad value."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def input_error(problems: Iterable[str], what: str) -> TwinInputError:
    """A :class:`TwinInputError` for ``problems``, listing the first 20 then a count."""
    collected = Problems()
    collected.extend(problems)
    return collected.error(what)


def normalize_phone(value: Any) -> str | None:
    """Digits of a phone number, or None when it is not one (see the module docstring)."""
    kind = type(value)
    if kind is str:
        digits: str = value
        if not (digits.isdigit() and digits.isascii()):
            digits = digits.translate(_PHONE_DELETE)
            if not (digits.isdigit() and digits.isascii()):
                digits = _PHONE_JUNK.sub("", digits)
                if not (digits.isdigit() and digits.isascii()):
                    return None
    elif kind is int and value > 0:
        digits = str(value)
    else:
        return None
    return digits if MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS else None


def normalize_email(value: Any) -> str | None:
    """The trimmed address, or None when it does not look like an e-mail address."""
    if type(value) is not str:
        return None
    address = value.strip()
    if len(address) > MAX_EMAIL_LENGTH or _EMAIL_MATCH(address) is None or address.index("@") > 64:
        return None
    return address


def is_uuid(value: Any) -> bool:
    """Whether ``value`` is a UUID string."""
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def format_send_at(value: Any) -> tuple[str | None, str | None]:
    """``(iso string, None)`` for a timezone-aware time, or ``(None, problem)``.

    Accepts ``datetime`` (pendulum's included) and ISO-8601 strings with an offset or ``Z``.
    A naive time is refused: "10:00" means something different on every worker.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            return None, f"{_show(value)} is not an ISO-8601 date-time (e.g. 2026-02-01T10:00:00+03:00)"
        value = parsed
    if not isinstance(value, datetime):
        return None, f"expected a timezone-aware datetime or ISO-8601 string, got {type(value).__name__}"
    if value.tzinfo is None or value.utcoffset() is None:
        return None, f"{value.isoformat()} has no timezone; give an aware time (e.g. with +03:00 or UTC)"
    return value.isoformat(timespec="seconds"), None


def _time_of_day(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    match = _TIME_OF_DAY.match(value.strip())
    if not match or int(match.group(1)) > 23:
        return None
    return f"{int(match.group(1)):02d}:{match.group(2)}:{match.group(3)}"


def normalize_time_ranges(value: Any) -> tuple[list[list[str]] | None, list[str]]:
    """``allowedTimeRanges`` as ``[["HH:MM:SS", "HH:MM:SS"], ...]`` and the problems found.

    One pair may be given without the outer list (``["09:00:00", "21:00:00"]``). A window must
    end after it starts; split windows that cross midnight into two.
    """
    if value is None:
        return None, []
    if isinstance(value, Sequence) and len(value) == 2 and all(isinstance(item, str) for item in value):
        value = [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        return None, [f"allowed_time_ranges: expected a list of [from, to] pairs, got {_show(value)}"]
    ranges: list[list[str]] = []
    problems: list[str] = []
    for index, pair in enumerate(value):
        where = f"allowed_time_ranges[{index}]"
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            problems.append(f"{where}: expected a [from, to] pair of HH:MM:SS times, got {_show(pair)}")
            continue
        start, end = _time_of_day(pair[0]), _time_of_day(pair[1])
        if start is None or end is None:
            problems.append(f"{where}: times must be HH:MM:SS (00:00:00-23:59:59), got {_show(list(pair))}")
        elif start >= end:
            problems.append(
                f"{where}: {start} is not before {end}; split a window that crosses midnight into two"
            )
        else:
            ranges.append([start, end])
    return ranges, problems


def _check_variables(value: Any, where: str) -> tuple[dict[str, Scalar] | None, list[str]]:
    if value is None:
        return None, []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None, [f"{where}: not a JSON object: {_show(value)}"]
    if not isinstance(value, Mapping):
        return None, [f"{where}: expected an object of scalar values, got {type(value).__name__}"]
    if type(value) is dict and all(
        type(name) is str and name and type(item) in _SCALAR_TYPES for name, item in value.items()
    ):
        return value, []  # the common case, checked without copying
    problems = []
    for name, item in value.items():
        if not isinstance(name, str) or not name:
            problems.append(f"{where}: variable names must be non-empty strings, got {_show(name)}")
        elif not isinstance(item, _SCALARS):
            problems.append(
                f"{where}.{name}: must be a string, number, boolean or null, got {type(item).__name__}"
            )
    return (None, problems) if problems else (dict(value), [])


def _check_channel(name: str, settings: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    for key, value in settings.items():
        if value is None:
            continue
        expected = CHANNEL_FIELDS.get(key)
        if expected is None:
            problems.append(
                f"{where}.{key}: unknown channel field; known fields: {', '.join(sorted(CHANNEL_FIELDS))}"
            )
        elif isinstance(value, bool) and expected is not bool:
            problems.append(f"{where}.{key}: must not be a boolean")
        elif not isinstance(value, expected):
            kind = expected.__name__ if isinstance(expected, type) else "list or object"
            problems.append(f"{where}.{key}: must be a {kind}, got {type(value).__name__}")
    period = settings.get("validityPeriod")
    if (
        isinstance(period, int)
        and not isinstance(period, bool)
        and not MIN_VALIDITY_PERIOD <= period <= MAX_VALIDITY_PERIOD
    ):
        problems.append(
            f"{where}.validityPeriod: {period} is outside {MIN_VALIDITY_PERIOD}-{MAX_VALIDITY_PERIOD} minutes"
        )
    ttl = settings.get("sessionTtl")
    if isinstance(ttl, int) and not isinstance(ttl, bool) and not 1 <= ttl <= MAX_SESSION_TTL:
        problems.append(f"{where}.sessionTtl: {ttl} is outside 1-{MAX_SESSION_TTL} seconds")
    attachments = settings.get("attachments")
    if isinstance(attachments, list):
        if not all(isinstance(item, str) for item in attachments):
            problems.append(f"{where}.attachments: must be a list of strings")
        elif name == "vkontakte":
            if len(attachments) > MAX_VK_ATTACHMENTS:
                problems.append(
                    f"{where}.attachments: {len(attachments)} attachments, "
                    f"VK allows at most {MAX_VK_ATTACHMENTS}"
                )
            bad = [item for item in attachments if not _VK_ATTACHMENT.match(item)]
            if bad:
                problems.append(
                    f"{where}.attachments: {_show(bad[0])} is not <type><owner_id>_<media_id> "
                    "(type: photo, video, audio, doc, wall, market or poll)"
                )
    for key in _UUID_FIELDS:
        if isinstance(settings.get(key), str) and not is_uuid(settings[key]):
            problems.append(f"{where}.{key}: {_show(settings[key])} is not a UUID")
    return problems


def normalize_channels(value: Any) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The ``channels`` map in fallback order, channel names lower-cased, and the problems.

    Accepts a mapping ``channel -> settings`` (``None`` = no settings) or a list of channel
    names. Order is TWIN's fallback order: the first channel is tried first.
    """
    if value is None:
        return {}, ["channels: name at least one channel, e.g. {'sms': {'from': 'MyShop'}}"]
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, Sequence):
        items = [(name, None) for name in value]
    else:
        return {}, [f"channels: expected a mapping channel -> settings, got {type(value).__name__}"]
    if not items:
        return {}, ["channels: name at least one channel, e.g. {'sms': {'from': 'MyShop'}}"]
    channels: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for raw_name, raw_settings in items:
        name = raw_name.strip().lower() if isinstance(raw_name, str) else raw_name
        where = f"channels.{raw_name}"
        if name not in CHANNELS:
            problems.append(f"{where}: unknown channel; use one of {', '.join(CHANNELS)}")
            continue
        if name in channels:
            problems.append(f"{where}: channel listed twice")
            continue
        settings = {} if raw_settings is None else raw_settings
        if not isinstance(settings, Mapping):
            problems.append(f"{where}: expected an object of channel fields, got {type(settings).__name__}")
            continue
        problems.extend(_check_channel(name, settings, where))
        channels[name] = {key: item for key, item in settings.items() if item is not None}
    return channels, problems


def _read_address(key: str, value: Any, where: str, problems: Problems) -> str | None:
    """One normalised destination field of a recipient, or None after recording a problem."""
    if key == "phone":
        phone = normalize_phone(value)
        if phone is None:
            problems.add(
                f"{where}.phone: {_show(value)} is not a phone number "
                f"({MIN_PHONE_DIGITS}-{MAX_PHONE_DIGITS} digits with country code)"
            )
        return phone
    if key == "email":
        email = normalize_email(value)
        if email is None:
            problems.add(f"{where}.email: {_show(value)} is not an e-mail address")
        return email
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        problems.add(f"{where}.{key}: must be a string, got {type(value).__name__}")
        return None
    text = str(value).strip()
    if key == "externalId" and len(text.encode()) > MAX_EXTERNAL_ID_BYTES:
        problems.add(f"{where}.externalId: longer than {MAX_EXTERNAL_ID_BYTES} bytes")
        return None
    return text or None


def _read_recipient(
    recipient: Mapping[Any, Any], where: str, problems: Problems
) -> tuple[dict[str, Any], dict[str, Scalar] | None]:
    """The destination fields and the variables of one recipient mapping (full checks)."""
    destination: dict[str, Any] = {}
    variables: dict[str, Scalar] | None = None
    prefixed: dict[str, Any] | None = None
    for key, value in recipient.items():
        if value is None or value == "":
            continue
        if key == "variables":
            variables, found = _check_variables(value, f"{where}.variables")
            problems.extend(found)
        elif isinstance(key, str) and key.startswith("var_") and len(key) > 4:
            if prefixed is None:
                prefixed = {}
            prefixed[key[4:]] = value
        elif key in RECIPIENT_KEYS:
            address = _read_address(key, value, where, problems)
            if address is not None:
                destination[key] = address
        else:
            problems.add(
                f"{where}.{key}: unknown recipient field; use {', '.join(DESTINATION_FIELDS)}, "
                "platform, variables or var_<name>"
            )
    if prefixed is not None:
        checked, found = _check_variables(prefixed, f"{where}.var_*")
        problems.extend(found)
        if checked:
            variables = {**checked, **(variables or {})}
    return destination, variables


def _fast_recipient(recipient: dict[Any, Any]) -> tuple[dict[str, Any], dict[str, Scalar] | None] | None:
    """The common, valid recipient read quickly; None when anything needs the full checks.

    A million-recipient send validates every recipient before the first request, so the
    usual shapes (well-formed phone/e-mail/ids, scalar variables) take this path.
    """
    destination: dict[str, Any] = {}
    variables: dict[str, Any] | None = None
    for key, value in recipient.items():
        if value is None or value == "":
            continue
        if key == "phone":
            phone = normalize_phone(value)
            if phone is None:
                return None
            destination["phone"] = phone
        elif key == "email":
            email = normalize_email(value)
            if email is None:
                return None
            destination["email"] = email
        elif key in _PLAIN_FIELDS:
            if type(value) is not str or value != value.strip():
                return None
            destination[key] = value
        elif key == "variables":
            if type(value) is not dict or variables is not None:
                return None
            for name, item in value.items():
                if type(name) is not str or not name or type(item) not in _SCALAR_TYPES:
                    return None
            variables = value
        elif type(key) is str and key.startswith("var_") and len(key) > 4 and type(value) in _SCALAR_TYPES:
            if variables is None:
                variables = {}
            elif "variables" in recipient:
                return None  # mixing both forms: let the full path merge them in order
            variables[key[4:]] = value
        else:
            return None
    return destination, variables


@dataclass(frozen=True)
class MessageSpec:
    """What to send to every recipient of a campaign step.

    :param channels: channel name -> channel fields (twin-api.md §3.2.4), in fallback order;
        ``{"required": True}`` in a channel sends through it even after an earlier channel
        delivered. A list of names means "these channels, no extra fields".
    :param text: message text, copied into every channel that has no ``text`` of its own
        (not into ``chat``, whose content comes from the bot).
    :param template_id: a stored TWIN template (UUID) instead of ``text``.
    :param variables: template variables shared by every recipient (theirs win).
    :param send_at: delayed send time: aware ``datetime``/pendulum or ISO-8601 string.
    :param allowed_time_ranges: send windows, ``[["09:00:00", "21:00:00"], ...]``.
    :param use_short_links: shorten links (SMS only, per TWIN).
    :param validity_period: minutes (1-2880) a message may wait for delivery, copied into
        every channel (except ``chat``) that has no ``validityPeriod`` of its own.
    :param callback_url: TWIN posts status changes there (twin-api.md §3.2.7).
    :param callback_data: echoed in every callback; an object is sent as compact JSON.
    :param group_id: TWIN ``groupId`` (UUID) shared by all messages of the campaign step.
    """

    channels: Mapping[str, Mapping[str, Any] | None] | Sequence[str] | None = None
    text: str | None = None
    template_id: str | None = None
    variables: Mapping[str, Scalar] | None = None
    send_at: datetime | str | None = None
    allowed_time_ranges: Sequence[Sequence[str]] | None = None
    use_short_links: bool | None = None
    validity_period: int | None = None
    callback_url: str | None = None
    callback_data: str | Mapping[str, Any] | None = None
    group_id: str | None = None


@dataclass(frozen=True)
class Campaign:
    """A validated :class:`MessageSpec`, ready to turn recipients into messages.

    ``template`` is the ``MessageData`` of every batch minus ``destinations``;
    ``reachable`` the destination fields at least one channel can use.
    """

    template: MessageData
    channels: tuple[str, ...]
    reachable: frozenset[str]
    variables: Mapping[str, Scalar] = field(default_factory=dict)

    def destination(
        self, index: int, recipient: Any, problems: Problems, where: str | None = None
    ) -> Destination | None:
        """The normalised destination of recipient ``index``; problems go to ``problems``.

        A plain string is read as an e-mail address when it has an ``@``, else as a phone.
        ``where`` overrides how problems name the recipient (default ``recipients[<index>]``).
        """
        fast = _fast_recipient(recipient) if type(recipient) is dict else None
        if fast is not None and not self.reachable.isdisjoint(fast[0]):
            destination, variables = fast
        else:
            if isinstance(recipient, str):
                recipient = {"email": recipient} if "@" in recipient else {"phone": recipient}
            if isinstance(recipient, int) and not isinstance(recipient, bool):
                recipient = {"phone": str(recipient)}
            where = where or f"recipients[{index}]"
            if not isinstance(recipient, Mapping):
                problems.add(
                    f"{where}: expected an object with phone, email, ... got {type(recipient).__name__}"
                )
                return None
            before = problems.count
            destination, variables = _read_recipient(recipient, where, problems)
            if problems.count == before and self.reachable.isdisjoint(destination):
                fields = ", ".join(sorted(self.reachable))
                problems.add(
                    f"{where}: no destination for channel(s) {', '.join(self.channels)}; give {fields}"
                )
            if problems.count != before:
                return None
        if self.variables:
            destination["variables"] = {**self.variables, **variables} if variables else dict(self.variables)
        elif variables:
            destination["variables"] = variables
        return destination  # type: ignore[return-value]

    def build_message(self, destinations: list[Destination]) -> MessageData:
        """One ``MessageData`` carrying the campaign settings and ``destinations``."""
        message: MessageData = {"destinations": destinations}
        message.update(self.template)
        return message

    def columns(self, recipients: Sequence[Any]) -> RecipientColumns | None:
        """Check ``recipients`` column by column; None when any of them needs the full checks.

        The fast way through a large, clean list: instead of reading one recipient after the
        other, each field is checked for all recipients at once (one pattern match over every
        phone number joined together, one set of the types of every variable...), so the
        per-recipient cost stays in C. The destinations are built later, a chunk at a time
        (:meth:`RecipientColumns.destinations`), while earlier chunks are on the wire.

        It accepts only what :meth:`destination` accepts, normalised the same way, and never
        reports a problem: on anything unusual (a bad or odd value, an unknown field, a
        recipient no channel can reach...) it answers None and the caller checks recipient by
        recipient, which names every problem.
        """
        return _read_columns(self, recipients)


# -- column-wise checks of a whole recipient list ---------------------------------------------------
#: Destination fields checked column-wise, in the order destinations are built with.
_COLUMN_FIELDS = (*DESTINATION_FIELDS, "platform")
_NONE_TYPE = type(None)
_STR_OR_NONE = frozenset({str, _NONE_TYPE})
_DICT_OR_NONE = frozenset({dict, _NONE_TYPE})
_PHONE_REMOVED = "+ -()\t\u00a0"  # exactly what _PHONE_DELETE deletes
_PHONES_MATCH = re.compile(
    rf"(?:[0-9]{{{MIN_PHONE_DIGITS},{MAX_PHONE_DIGITS}}},)*"
    rf"[0-9]{{{MIN_PHONE_DIGITS},{MAX_PHONE_DIGITS}}}"
).fullmatch
_EMAIL_PATTERN = r"[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+"
_EMAILS_MATCH = re.compile(rf"(?:{_EMAIL_PATTERN}\n)*{_EMAIL_PATTERN}").fullmatch


def _bulk_phones(values: list[str]) -> list[str] | None:
    """Every phone normalised, as :func:`normalize_phone` does, or None (check one by one)."""
    joined = ",".join(values)
    if joined.count(",") != len(values) - 1:
        return None  # a value holds the separator itself
    for char in _PHONE_REMOVED:
        if char in joined:
            joined = joined.replace(char, "")
    if _PHONES_MATCH(joined) is None:
        return None
    return joined.split(",")


def _bulk_emails(values: list[str]) -> list[str] | None:
    """The addresses when every one passes :func:`normalize_email` unchanged, else None."""
    joined = "\n".join(values)
    # No address may hold the separator, be too long, or need trimming (the pattern refuses
    # white space anywhere; ``\s`` is exactly what ``str.strip`` removes).
    if joined.count("\n") != len(values) - 1 or max(map(len, values)) > MAX_EMAIL_LENGTH:
        return None
    return values if _EMAILS_MATCH(joined) is not None else None


def _bulk_plain(values: list[str]) -> list[str] | None:
    """Identifiers as they are, when none needs trimming."""
    return values if list(map(str.strip, values)) == values else None


def _bulk_external_ids(values: list[str]) -> list[str] | None:
    # At most 4 bytes per character in UTF-8: short enough ids need no encoding to be checked.
    if max(map(len, values)) * 4 > MAX_EXTERNAL_ID_BYTES:
        return None
    return _bulk_plain(values)


_BULK_NORMALISERS = {
    "phone": _bulk_phones,
    "email": _bulk_emails,
    "externalId": _bulk_external_ids,
    "clientId": _bulk_plain,
    "messengerUserId": _bulk_plain,
    "pushRegistrationId": _bulk_plain,
    "platform": _bulk_plain,
}


def _address_column(key: str, values: list[Any]) -> list[str | None] | None:
    """One destination field of every recipient, normalised; None marks an absent value."""
    if not set(map(type, values)) <= _STR_OR_NONE:
        return None  # numbers, lists...: the full checks convert or name them
    dense = all(values)  # no None, no ""
    present = values if dense else list(filter(None, values))
    if not present:
        return [None] * len(values)
    normalised = _BULK_NORMALISERS[key](present)
    if normalised is None:
        return None
    if dense:
        return normalised  # type: ignore[return-value]
    found = iter(normalised)
    return [next(found) if value else None for value in values]


def _variables_column(values: list[Any]) -> list[dict[str, Scalar] | None] | None:
    """Every recipient's ``variables`` object, when each is a dict of scalars (or absent)."""
    if not set(map(type, values)) <= _DICT_OR_NONE:
        return None  # JSON strings and other shapes: the full checks read or name them
    present = list(filter(None, values))
    names = set().union(*present)
    if "" in names or not set(map(type, names)) <= {str}:
        return None
    kinds = set(map(type, itertools.chain.from_iterable(map(dict.values, present))))
    return values if kinds <= _SCALAR_TYPES else None


def _column(recipients: Sequence[dict[Any, Any]], key: str) -> list[Any]:
    """``recipient.get(key)`` of every recipient."""
    return list(map(dict.get, recipients, itertools.repeat(key)))


def _read_columns(campaign: Campaign, recipients: Sequence[Any]) -> RecipientColumns | None:
    count = len(recipients)
    if not count or set(map(type, recipients)) != {dict}:
        return None
    keys = set().union(*recipients)
    prefixed: list[str] = []
    for key in keys:
        if type(key) is not str:
            return None
        if key.startswith("var_") and len(key) > 4:
            prefixed.append(key)
        elif key not in RECIPIENT_KEYS:
            return None  # an unknown field: the full checks name it
    if prefixed and "variables" in keys:
        return None  # both forms: the full checks merge them in their documented order
    fields: list[str] = []
    columns: list[list[str | None]] = []
    for key in _COLUMN_FIELDS:
        if key not in keys:
            continue
        column = _address_column(key, _column(recipients, key))
        if column is None:
            return None
        if any(column):
            fields.append(key)
            columns.append(column)
    reachable = [column for key, column in zip(fields, columns, strict=True) if key in campaign.reachable]
    if not reachable:
        return None  # nobody can be reached: the full checks name every recipient
    if all(None in column for column in reachable) and not all(map(any, zip(*reachable, strict=True))):
        return None  # somebody no channel can reach: the full checks name them
    if "variables" in keys:
        variables = _variables_column(_column(recipients, "variables"))
        if variables is None:
            return None
        return RecipientColumns(tuple(fields), columns, campaign.variables, variables=variables)
    if not prefixed:
        return RecipientColumns(tuple(fields), columns, campaign.variables)
    prefixed.sort()
    named: list[list[Scalar]] = []
    for key in prefixed:
        values: list[Scalar] = _column(recipients, key)
        if not set(map(type, values)) <= _SCALAR_TYPES:
            return None
        named.append(values)
    return RecipientColumns(
        tuple(fields), columns, campaign.variables, named=(tuple(key[4:] for key in prefixed), named)
    )


def _dense_rows(fields: tuple[str, ...], columns: list[list[Any]]) -> list[dict[str, Any]]:
    """One dict per row of ``columns`` (every value present); literal dicts for the usual widths."""
    if len(fields) == 1:
        (first,) = fields
        return [{first: a} for a in columns[0]]
    if len(fields) == 2:  # e.g. phone and variables
        first, second = fields
        return [{first: a, second: b} for a, b in zip(*columns, strict=True)]
    if len(fields) == 3:
        first, second, third = fields
        return [{first: a, second: b, third: c} for a, b, c in zip(*columns, strict=True)]
    return list(map(dict, map(zip, itertools.repeat(fields), zip(*columns, strict=True))))


def _sparse_rows(fields: tuple[str, ...], columns: list[list[Any]]) -> list[dict[str, Any]]:
    """One dict per row of ``columns``, without the absent (None) values."""
    return [
        {key: value for key, value in zip(fields, row, strict=True) if value}
        for row in zip(*columns, strict=True)
    ]


def _present(value: Any) -> bool:
    return value is not None and value != ""


class RecipientColumns:
    """Recipients checked column-wise (:meth:`Campaign.columns`); destinations built on demand.

    :param fields: destination fields present, in build order.
    :param columns: one list per field: each recipient's normalised value, None when absent.
    :param shared: the campaign's variables, merged under each recipient's own.
    :param variables: each recipient's ``variables`` object (None or empty when it has none).
    :param named: variables given as ``var_<name>`` fields: the names and one list of values
        per name (None or ``""`` when a recipient has no such value).
    """

    def __init__(
        self,
        fields: tuple[str, ...],
        columns: list[list[str | None]],
        shared: Mapping[str, Scalar],
        *,
        variables: list[dict[str, Scalar] | None] | None = None,
        named: tuple[tuple[str, ...], list[list[Scalar]]] | None = None,
    ) -> None:
        self.total = len(columns[0])
        self.shared = shared
        self.named = named
        self.variables = variables
        if variables is not None and not shared:
            # Own variables go into the destination as they are: one more column.
            fields, columns = (*fields, "variables"), [*columns, variables]  # type: ignore[list-item]
            self.variables = None
        self.fields = fields
        self.columns = columns
        self._dense = all(map(all, columns))

    def _own_variables(self, start: int, stop: int) -> list[dict[str, Scalar] | None] | None:
        if self.variables is not None:
            return self.variables[start:stop]
        if self.named is None:
            return None
        names, columns = self.named
        rows = zip(*(column[start:stop] for column in columns), strict=True)
        if all(None not in column and "" not in column for column in columns):
            return list(map(dict, map(zip, itertools.repeat(names), rows)))  # every value present
        return [
            {name: value for name, value in zip(names, row, strict=True) if _present(value)} or None
            for row in rows
        ]

    def destinations(self, start: int, stop: int) -> list[Destination]:
        """Destinations of recipients ``start`` to ``stop - 1``, as :meth:`Campaign.destination`
        builds them."""
        fields = self.fields
        columns = [column[start:stop] for column in self.columns]
        built = _dense_rows(fields, columns) if self._dense else _sparse_rows(fields, columns)
        own = self._own_variables(start, stop)
        shared = self.shared
        if own is not None:
            for destination, mine in zip(built, own, strict=True):
                if mine:
                    destination["variables"] = {**shared, **mine} if shared else mine
                elif shared:
                    destination["variables"] = dict(shared)
        elif shared:
            for destination in built:
                destination["variables"] = dict(shared)
        return built  # type: ignore[return-value]


def compile_spec(spec: MessageSpec) -> Campaign:
    """Validate ``spec`` into a :class:`Campaign`.

    :raises TwinInputError: listing every problem, each naming its field.
    """
    problems = validate_spec(spec)
    if problems:
        raise input_error(problems, "the message settings")
    return _compile(spec)


def validate_spec(spec: MessageSpec) -> list[str]:
    """Every problem of the shared message settings (an empty list when they are valid)."""
    channels, problems = normalize_channels(spec.channels)
    # Values arrive from templates and XCom: check their types at run time.
    text: Any = spec.text
    if text is not None and not isinstance(text, str):
        problems.append(f"text: must be a string, got {type(text).__name__}")
    has_text = isinstance(text, str) and bool(text.strip())
    if spec.template_id is not None and spec.template_id != "":
        if not is_uuid(spec.template_id):
            problems.append(f"template_id: {_show(spec.template_id)} is not a TWIN template id (a UUID)")
        if has_text:
            problems.append("text: give text or template_id, not both (TWIN ignores text with a template)")
    elif not has_text:
        for name, settings in channels.items():
            own = settings.get("text") or settings.get("templateName")
            if not own and not (name == "chat" and settings.get("chatId")):
                where = "the chat's chatId" if name == "chat" else "its own text/templateName"
                problems.append(f"channels.{name}: nothing to send; set text, template_id or {where}")
    _, found = _check_variables(spec.variables, "variables")
    problems.extend(found)
    if spec.send_at is not None and spec.send_at != "":
        _, problem = format_send_at(spec.send_at)
        if problem:
            problems.append(f"send_at: {problem}")
    problems.extend(normalize_time_ranges(spec.allowed_time_ranges)[1])
    short_links: Any = spec.use_short_links
    if short_links is not None and not isinstance(short_links, bool):
        problems.append(f"use_short_links: must be a boolean, got {_show(short_links)}")
    period = spec.validity_period
    if period is not None and (
        isinstance(period, bool)
        or not isinstance(period, int)
        or not MIN_VALIDITY_PERIOD <= period <= MAX_VALIDITY_PERIOD
    ):
        problems.append(
            f"validity_period: must be {MIN_VALIDITY_PERIOD}-{MAX_VALIDITY_PERIOD} minutes, "
            f"got {_show(period)}"
        )
    url = spec.callback_url
    if url is not None and url != "":
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            problems.append(f"callback_url: {_show(url)} is not an http(s) URL")
        elif len(url.encode()) > MAX_CALLBACK_URL_BYTES:
            problems.append(f"callback_url: longer than {MAX_CALLBACK_URL_BYTES} bytes")
    data = _callback_data(spec.callback_data)
    if data is not None and not isinstance(data, str):
        problems.append(f"callback_data: must be a string or an object, got {type(data).__name__}")
    elif data is not None and len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
        problems.append(f"callback_data: longer than {MAX_CALLBACK_DATA_BYTES} bytes")
    if spec.group_id is not None and spec.group_id != "" and not is_uuid(spec.group_id):
        problems.append(f"group_id: {_show(spec.group_id)} is not a UUID")
    return problems


def _callback_data(value: Any) -> Any:
    if isinstance(value, Mapping):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return None if value == "" else value


def _compile(spec: MessageSpec) -> Campaign:
    channels, _ = normalize_channels(spec.channels)
    text = spec.text if isinstance(spec.text, str) and spec.text.strip() else None
    for name, settings in channels.items():
        if name == "chat":
            continue
        if text is not None and not spec.template_id and "text" not in settings:
            settings["text"] = text
        if spec.validity_period is not None and "validityPeriod" not in settings:
            settings["validityPeriod"] = spec.validity_period
    template: MessageData = {"channels": channels}
    if spec.template_id:
        template["templateId"] = spec.template_id
    if spec.group_id:
        template["groupId"] = spec.group_id
    if spec.send_at is not None and spec.send_at != "":
        send_at, _ = format_send_at(spec.send_at)
        if send_at:
            template["sendAt"] = send_at
    ranges, _ = normalize_time_ranges(spec.allowed_time_ranges)
    if ranges:
        template["allowedTimeRanges"] = ranges
    if spec.use_short_links is not None:
        template["useShortLinks"] = spec.use_short_links
    if spec.callback_url:
        template["callbackUrl"] = spec.callback_url
    data = _callback_data(spec.callback_data)
    if data is not None:
        template["callbackData"] = data
    reachable = frozenset().union(*(CHANNEL_DESTINATIONS[name] for name in channels))
    variables, _ = _check_variables(spec.variables, "variables")
    return Campaign(
        template=template,
        channels=tuple(channels),
        reachable=reachable,
        variables=variables or {},
    )


def validate_recipient(index: int, recipient: Any, campaign: Campaign) -> list[str]:
    """Every problem of one recipient (an empty list when it can be sent to)."""
    problems = Problems(keep=1000)
    campaign.destination(index, recipient, problems)
    return problems.first


def build_message(campaign: Campaign, destinations: list[Destination]) -> MessageData:
    """One ``MessageData`` for ``destinations`` with the campaign's settings."""
    return campaign.build_message(destinations)


def normalize_message(
    index: int, message: Any, problems: Problems, first_recipient: int = 0
) -> MessageData | None:
    """Validate and normalise one raw TWIN message object (twin-api.md §3.2.2).

    The message keeps full control over its fields; phones and e-mail addresses of its
    destinations are normalised as for recipients, and the same limits are checked.
    ``first_recipient`` numbers its destinations within the whole send, so problems name
    both the message and the recipient index.
    """
    where = f"messages[{index}]"
    if not isinstance(message, Mapping):
        problems.add(f"{where}: expected a TWIN message object, got {type(message).__name__}")
        return None
    before = problems.count
    known = set(MessageData.__annotations__)
    for key in message:
        if key not in known:
            problems.add(f"{where}.{key}: unknown message field; known fields: {', '.join(sorted(known))}")
    spec = MessageSpec(
        channels=message.get("channels"),
        template_id=message.get("templateId"),
        send_at=message.get("sendAt"),
        allowed_time_ranges=message.get("allowedTimeRanges"),
        use_short_links=message.get("useShortLinks"),
        callback_url=message.get("callbackUrl"),
        callback_data=message.get("callbackData"),
        group_id=message.get("groupId"),
    )
    for problem in validate_spec(spec):
        problems.add(f"{where}: {problem}")
    validate_flag = message.get("validate")
    if validate_flag is not None and not isinstance(validate_flag, bool):
        problems.add(f"{where}.validate: must be a boolean")
    if problems.count != before:
        return None
    campaign = _compile(spec)
    destinations = message.get("destinations")
    if isinstance(destinations, (str, bytes)) or not isinstance(destinations, Sequence) or not destinations:
        problems.add(f"{where}.destinations: expected a non-empty list of recipients")
        return None
    normalised: list[Destination] = []
    for offset, raw in enumerate(destinations):
        destination = campaign.destination(
            first_recipient + offset,
            raw,
            problems,
            f"{where}.destinations[{offset}] (recipient {first_recipient + offset})",
        )
        if destination is not None:
            normalised.append(destination)
    if problems.count != before:
        return None
    result: MessageData = {key: value for key, value in message.items() if key != "destinations"}  # type: ignore[assignment]
    result.update(campaign.template)
    result["destinations"] = normalised
    return result
