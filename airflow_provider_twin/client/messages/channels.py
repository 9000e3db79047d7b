"""The ``channels`` of a TWIN message: which channels exist, their fields, and TWIN's limits.

Channels are given in TWIN's fallback order (the first is tried first); unknown channels and
unknown channel fields are refused before anything is sent, because TWIN silently ignores
unknown fields and a typo ("form" for "from") would otherwise go unnoticed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_twin.client.core.problems import shown
from airflow_provider_twin.client.messages.models import CHANNELS
from airflow_provider_twin.client.messages.text_fitting import (
    MAX_SMS_PARTS,
    sms_capacity,
    sms_encoding,
    sms_units,
)

#: TWIN's documented limits (twin-api.md §3.2.6).
MIN_VALIDITY_PERIOD, MAX_VALIDITY_PERIOD = 1, 2880
MAX_VK_ATTACHMENTS = 10

#: The sender TWIN uses by default (seed 000: "Зарегистрированное имя отправителя, которое
#: используется в системе по умолчанию: TwinService"). The guide asks to fill ``from``, so a
#: channel without one is sent with this sender written out: every channel but ``chat``, whose
#: block in the guide has no sender, and ``email``, whose sender is ``fromEmail``/``fromName``
#: (ASSUMPTION: the guide's ``from`` is a sender name of SMS and messengers).
DEFAULT_SENDER = "TwinService"

#: Fields seed 000 asks to fill in the ``chat`` channel that have no stated default
#: (``botId`` and ``messengerType`` have one: the chat's bot, the messenger used last).
CHAT_REQUIRED = ("chatId", "chatSessionName")

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
    "required": bool,
}

_UUID_FIELDS = ("chatId", "botId")
_VK_ATTACHMENT = re.compile(r"^(photo|video|audio|doc|wall|market|poll)-?\d+_\d+$")


def is_uuid(value: Any) -> bool:
    """Whether ``value`` is a UUID string."""
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


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
                    f"{where}.attachments: {shown(bad[0])} is not <type><owner_id>_<media_id> "
                    "(type: photo, video, audio, doc, wall, market or poll)"
                )
    for key in _UUID_FIELDS:
        if isinstance(settings.get(key), str) and not is_uuid(settings[key]):
            problems.append(f"{where}.{key}: {shown(settings[key])} is not a UUID")
    return problems


#: Longest text per channel, in characters. ASSUMPTIONS: TWIN documents no text limit
#: (twin-api.md §3.2.6); these are the messengers' own limits (Telegram, WhatsApp and VK 4096,
#: Viber 1000), the same for TWIN's chat and Odnoklassniki, 2000 for a push notification, and
#: 500,000 for an e-mail body (well under the request size cap of :mod:`.chunks`). SMS is
#: limited in parts instead: :data:`MAX_SMS_PARTS`.
MAX_TEXT_LENGTH: Mapping[str, int] = {
    "email": 500_000,
    "push": 2000,
    "whatsapp": 4096,
    "viber": 1000,
    "telegram": 4096,
    "vkontakte": 4096,
    "odnoklassniki": 4096,
    "chat": 4096,
}


def text_problem(name: str, text: str) -> str | None:
    """The problem of a channel's text that is longer than the channel carries, or None."""
    if name == "sms":
        encoding = sms_encoding(text)
        capacity = sms_capacity(MAX_SMS_PARTS, encoding)
        if sms_units(text, encoding) > capacity:
            return (
                f"channels.sms.text: longer than {MAX_SMS_PARTS} SMS parts ({capacity} {encoding} "
                f"characters); shorten it or send it through another channel"
            )
        return None
    limit = MAX_TEXT_LENGTH[name]
    if len(text) > limit:
        return f"channels.{name}.text: {len(text)} characters, {name} carries at most {limit}"
    return None


def _filled(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def content_problems(
    channels: Mapping[str, Mapping[str, Any]], *, has_text: bool, has_template: bool
) -> list[str]:
    """The fields seed 000 requires that a channel lacks, each named ``channels.<name>.<field>``.

    * ``chat``: ``chatId`` and ``chatSessionName``, with or without a template.
    * every other channel: ``text`` (its own or the shared one) unless the message has a
      ``templateId``; a messenger ``templateName`` does not replace it (step 9 of the guide:
      "if you did not use a template, fill in text").
    * ``vkontakte``: ``templateName`` too, unless the message has a ``templateId`` (VK sends
      only approved templates).
    * ``from``: absent is TWIN's default sender; present, it must be filled.
    """
    problems: list[str] = []
    for name, settings in channels.items():
        where = f"channels.{name}"
        sender = settings.get("from")
        if isinstance(sender, str) and not sender.strip():
            problems.append(
                f"{where}.from: empty; name a registered sender, or leave it out for TWIN's "
                f"default sender {DEFAULT_SENDER}"
            )
        if name == "chat":
            problems.extend(
                f"{where}.{key}: required by the chat channel (TWIN's notify guide)"
                for key in CHAT_REQUIRED
                if not _filled(settings.get(key))
            )
            continue
        own = settings.get("text")
        if has_template:
            continue
        if not has_text and not _filled(own):
            problems.append(f"{where}.text: nothing to send; set text, template_id or the channel's own text")
        if name == "vkontakte" and not _filled(settings.get("templateName")):
            problems.append(
                f"{where}.templateName: VK sends only approved templates; name one, or set template_id"
            )
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
