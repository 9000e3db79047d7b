"""A notification, planned: a notifier's settings turned into one TWIN message, sent at most once.

The notifier renders its templates (Airflow's part) and hands the result here to be redacted,
cut to fit each channel (:mod:`.text_fitting`), validated and addressed with a ``bulkId`` that
is the same for every repetition of the same event, so that TWIN can say whether it was sent.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_twin.client.core.flows import Procedure
from airflow_provider_twin.client.core.problems import Problems
from airflow_provider_twin.client.messages.campaign import MessageSpec, compile_spec, validate_spec
from airflow_provider_twin.client.messages.channels import MAX_TEXT_LENGTH, normalize_channels
from airflow_provider_twin.client.messages.chunks import batch_message, bulk_id_for
from airflow_provider_twin.client.messages.create_once import (
    DEFAULT_SETTLE_SECONDS,
    CreateOnceBudget,
    Creation,
    create_once,
)
from airflow_provider_twin.client.messages.models import MessageData
from airflow_provider_twin.client.messages.recipient_columns import built
from airflow_provider_twin.client.messages.text_fitting import (
    MAX_SMS_PARTS,
    MIN_MAX_LENGTH,
    fit_sms,
    truncate,
)

#: Attempts a notification may be given at most: it must not hold up its caller.
MAX_ATTEMPTS_LIMIT = 5


def recipient_list(value: Any) -> list[Any]:
    """Recipients as a list, whatever shape a rendered template gave them.

    Accepts a list or tuple; a single phone, e-mail or recipient dict; and strings holding a
    JSON or Python list (``{{ var.json.on_call }}`` renders to one) or a comma-, semicolon- or
    newline-separated list of phones and e-mail addresses.
    """
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text[0] in "[{":
            for parse in (json.loads, ast.literal_eval):
                try:
                    parsed = parse(text)
                except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                    continue
                return [parsed] if isinstance(parsed, str) else recipient_list(parsed)
        return [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def settings_fingerprint(*values: Any) -> str:
    """A short stable digest of a notifier's settings (part of its ``bulkId``)."""
    try:
        raw = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        raw = repr(values)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def notification_bulk_id(identity: Sequence[str] | None, fingerprint: str) -> tuple[str, bool]:
    """The ``bulkId`` of a notification and whether it may have been sent before.

    Deterministic for an identifiable event (``identity``) and notifier (``fingerprint``);
    random otherwise, in which case there is nothing to check.
    """
    if identity is None:
        return str(uuid.uuid4()), False
    return bulk_id_for("twin-notifier", *identity, fingerprint), True


def limit_problems(
    *,
    max_sms_parts: Any,
    max_length: Any,
    max_attempts: Any,
    timeouts: Mapping[str, Any],
    twin_conn_id: Any,
) -> list[str]:
    """Every problem of a notifier's limits: SMS parts, length, attempts, timeouts, connection."""
    problems: list[str] = []

    def is_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not is_int(max_sms_parts) or not 1 <= max_sms_parts <= MAX_SMS_PARTS:
        problems.append(f"max_sms_parts: must be an integer from 1 to {MAX_SMS_PARTS}")
    if not is_int(max_length) or max_length < MIN_MAX_LENGTH:
        problems.append(f"max_length: must be an integer of at least {MIN_MAX_LENGTH}")
    if not is_int(max_attempts) or not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT:
        problems.append(f"max_attempts: must be an integer from 1 to {MAX_ATTEMPTS_LIMIT}")
    for name, value in timeouts.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            problems.append(f"{name}: must be a positive number of seconds (finite)")
    if not isinstance(twin_conn_id, str) or not twin_conn_id:
        problems.append("twin_conn_id: must be a connection id")
    return problems


def settings_problems(
    *,
    recipients: Any,
    channels: Any,
    text: Any,
    template_id: Any,
    variables: Any,
    templated: Callable[[Any], bool],
) -> list[str]:
    """Every problem of a notifier's message settings that can be seen before rendering.

    Values ``templated`` calls templates are left for the rendered settings to show.
    """
    problems: list[str] = []
    listed = None if templated(recipients) else recipient_list(recipients)
    if listed is not None and not listed:
        problems.append("recipients: name at least one recipient (a phone, an e-mail or a dict)")
    if templated(channels):
        return problems
    if templated(template_id):
        # The content is checked once rendered.
        text, template_id = ("rendered later" if text is None else text), None
    if templated(text):
        text = "rendered later"  # Jinja's {{ }} are no TWIN variables: checked once rendered
    spec = MessageSpec(
        channels=channels,
        text=text,
        template_id=template_id,
        variables=None if templated(variables) else variables,
    )
    spec_problems = validate_spec(spec)
    problems.extend(spec_problems)
    if spec_problems or not listed:
        return problems
    campaign = compile_spec(spec)
    found = Problems(keep=1000)  # a notifier has few recipients: keep every problem
    for index, recipient in enumerate(listed):
        if not templated(recipient):
            campaign.destination(index, recipient, found)
    problems.extend(found.first)
    return problems


@dataclass(frozen=True)
class NotificationPlan:
    """A notification ready to send: the message, its ``bulkId`` and what to log about it."""

    message: MessageData
    bulk_id: str
    check_existing: bool
    recipients: int
    channels: tuple[str, ...]
    preview: str

    def procedure(
        self, max_attempts: int, settle_seconds: float = DEFAULT_SETTLE_SECONDS
    ) -> Procedure[Creation]:
        """Sending it at most once, within ``max_attempts`` (see :mod:`.create_once`)."""
        budget = CreateOnceBudget.alert(max_attempts, settle_seconds, check_first=self.check_existing)
        return create_once([self.message], self.bulk_id, budget)


def plan_notification(
    *,
    recipients: Any,
    channels: Any,
    text: str | None,
    template_id: str | None,
    variables: Any,
    redact: Callable[[Any], Any],
    max_sms_parts: int,
    max_length: int,
    bulk_id: str,
    check_existing: bool,
) -> NotificationPlan:
    """Redact, cut and validate rendered settings into the message to send.

    :param redact: replaces every secret in a value (strings inside dicts and lists too).
    :raises TwinInputError: when the rendered recipients or settings are invalid.
    """
    text = None if text is None else str(redact(str(text)))
    template_id = str(template_id).strip() if template_id else None
    normalized, problems = normalize_channels(channels)
    _raise_if_any(problems, "settings")
    fitted: dict[str, dict[str, Any]] = {}
    for name, raw_settings in normalized.items():
        settings: dict[str, Any] = redact(raw_settings)
        own = settings.get("text")
        if isinstance(own, str):
            settings["text"] = _fit(name, own, max_sms_parts, max_length)
        elif text and not template_id:
            settings["text"] = _fit(name, text, max_sms_parts, max_length)
        fitted[name] = settings
    if isinstance(variables, Mapping):
        variables = redact(variables)
    spec = MessageSpec(channels=fitted, template_id=template_id, variables=variables)
    _raise_if_any(validate_spec(spec), "settings")
    campaign = compile_spec(spec)
    found = Problems()
    destinations = built(campaign.check(recipient_list(recipients), found))
    if found:
        raise found.error("the rendered recipients", outcome="")
    if not destinations:
        _raise_if_any(["recipients: the rendered recipients are empty"], "recipients")
    preview = next((s["text"] for s in fitted.values() if isinstance(s.get("text"), str)), "")
    return NotificationPlan(
        message=batch_message(campaign.template, destinations),
        bulk_id=bulk_id,
        check_existing=check_existing,
        recipients=len(destinations),
        channels=tuple(fitted),
        preview=preview or f"template {template_id}",
    )


def _fit(channel: str, text: str, max_sms_parts: int, max_length: int) -> str:
    if channel == "sms":
        return fit_sms(text, max_sms_parts)
    return truncate(text, min(max_length, MAX_TEXT_LENGTH[channel]))


def _raise_if_any(problems: list[str], what: str) -> None:
    if problems:
        found = Problems()
        found.extend(problems)
        raise found.error(f"the rendered {what}", outcome="")
