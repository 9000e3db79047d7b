"""Emulator configuration: accounts, delivery model, token policy, chat defaults.

Settings live in one dataclass, :class:`EmulatorSettings`. The admin API exposes them as JSON
(``GET /_emulator/settings``) and changes them with partial updates (``PATCH /_emulator/settings``);
both directions go through :func:`settings_to_dict` and :func:`settings_from_dict`, so a value set in
Python and a value set over HTTP are validated by the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from .ids import is_uuid
from .statuses import FINAL_OUTCOMES
from .strict_mode import StrictSwitchError, strict_from_environment
from .webhook_settings import WEBHOOK_SETTING_NAMES, check_webhook_settings, webhook_values

#: Channel keys accepted in ``POST /messages`` (ASSUMPTION twin-api.md §7.5: lower-case names).
CHANNEL_KEYS: frozenset[str] = frozenset(
    {"sms", "email", "push", "whatsapp", "viber", "telegram", "vkontakte", "odnoklassniki", "chat"}
)

DEFAULT_BOT_GREETING = "Hello! This is the TWIN demo bot. How can I help you?"

#: Settings that describe where the server listens; they cannot change while it runs.
READ_ONLY_SETTINGS: frozenset[str] = frozenset({"host", "port", "request_log_size"})


class SettingsError(ValueError):
    """Raised with per-field messages when settings are invalid."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in details.items()))
        self.details = details


@dataclass(frozen=True)
class Account:
    """A login the IAM endpoint accepts."""

    email: str
    password: str
    company_id: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The account in its JSON form (an item of the setting ``accounts``)."""
        return {"email": self.email, "password": self.password, "company_id": self.company_id}


@dataclass(frozen=True)
class OutcomeRule:
    """A deterministic delivery outcome for matching channel attempts.

    Every criterion that is set must match (``None`` matches anything); the first matching rule of
    ``EmulatorSettings.outcome_rules`` wins. Example: ``OutcomeRule(status="UNDELIVERED",
    channel="whatsapp")`` makes every WhatsApp attempt fail so the next channel is tried.
    """

    status: str
    channel: str | None = None
    phone_suffix: str | None = None
    email_suffix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The rule in its JSON form (an item of the setting ``outcome_rules``)."""
        return {
            "channel": self.channel,
            "phone_suffix": self.phone_suffix,
            "email_suffix": self.email_suffix,
            "status": self.status,
        }


#: The documented demo login of the emulator (not a secret: the emulator only listens on loopback).
DEFAULT_ACCOUNT = Account(email="demo@twin.local", password="twin-demo", company_id=1)  # noqa: S106


def _strict_default() -> bool:
    try:
        return strict_from_environment()
    except StrictSwitchError as exc:
        raise SettingsError({"strict": [str(exc)]}) from exc


@dataclass
class EmulatorSettings:
    """Everything that shapes the emulator's behaviour.

    :ivar host: interface to listen on; loopback by default.
    :ivar port: TCP port; 0 picks a free one.
    :ivar delivery_seconds: time from the scheduled start of a channel attempt to its final outcome.
    :ivar outcomes: weighted share of final outcomes, e.g. ``{"DELIVERED": 0.9, "UNDELIVERED": 0.1}``;
        ``None`` means every attempt is delivered (unless a rule says otherwise).
    :ivar outcome_rules: deterministic outcomes; the first matching rule wins over ``outcomes``.
    :ivar seed: seeds the outcome and fault random generators (``None`` = unpredictable).
    :ivar token_ttl_cap: upper bound for the lifetime of issued tokens in seconds (``None`` = no cap).
    :ivar expired_token_status: HTTP status for an expired token, 401 (default) or 403.
    :ivar bot_greeting: first bot message of every new chat session; empty string = no greeting.
    :ivar chats: chat ids that exist; ``None`` = any UUID is a valid chat id.
    :ivar accounts: logins accepted by the IAM endpoint; the first one is offered as the connection.
    :ivar time_ranges_utc_offset_minutes: offset used to interpret ``allowedTimeRanges`` (0 = UTC).
    :ivar request_log_size: how many recent requests ``GET /_emulator/requests`` can show.
    :ivar gc_freeze: periodically move long-lived objects out of the garbage collector's way
        (:func:`gc.freeze`), which keeps large stores fast; turn off to leave the hosting
        process's garbage collection untouched.
    :ivar strict: hold clients to what TWIN's documents make explicit (see :mod:`.strict_mode`);
        the default comes from the environment variable ``TWIN_EMULATOR_STRICT`` (unset = off).
    :ivar implicit_templates: a ``templateId`` no template was stored under reads as an empty
        template (on by default, as before templates were stored); off, it is unknown (404, and
        422 from ``POST /messages`` in strict mode); see :mod:`.template_store`.
    :ivar task_messages_per_second: rows a running send job turns into messages per second of
        emulator time (0 = all at once); see :mod:`.task_store`.
    :ivar webhook_attempts: ``webhook_backoff_seconds``, ``webhook_timeout_seconds``,
        ``webhook_allow_any_host``, ``webhook_queue_size``: status webhooks (:mod:`.webhook_settings`).
    """

    host: str = "127.0.0.1"
    port: int = 0
    delivery_seconds: float = 2.0
    outcomes: dict[str, float] | None = None
    outcome_rules: list[OutcomeRule] = field(default_factory=list)
    seed: int | None = None
    token_ttl_cap: float | None = None
    expired_token_status: int = 401
    bot_greeting: str = DEFAULT_BOT_GREETING
    chats: list[str] | None = None
    accounts: list[Account] = field(default_factory=lambda: [DEFAULT_ACCOUNT])
    time_ranges_utc_offset_minutes: int = 0
    request_log_size: int = 100_000
    gc_freeze: bool = False
    strict: bool = field(default_factory=_strict_default)
    implicit_templates: bool = True
    task_messages_per_second: float = 100.0
    webhook_attempts: int = 3
    webhook_backoff_seconds: float = 0.5
    webhook_timeout_seconds: float = 5.0
    webhook_allow_any_host: bool = False
    webhook_queue_size: int = 10_000

    def validated(self) -> EmulatorSettings:
        """Return a checked copy (raises :class:`SettingsError` listing every invalid field)."""
        return settings_from_dict(settings_to_dict(self))

    def updated(self, patch: Mapping[str, Any]) -> EmulatorSettings:
        """Return a copy with ``patch`` (JSON-style values) applied; read-only keys are refused."""
        unknown = [key for key in patch if key not in _FIELD_NAMES]
        read_only = [key for key in patch if key in READ_ONLY_SETTINGS]
        details: dict[str, list[str]] = {}
        for key in unknown:
            details[key] = ["Unknown setting."]
        for key in read_only:
            details[key] = ["This setting cannot be changed while the emulator runs."]
        if details:
            raise SettingsError(details)
        merged = settings_to_dict(self)
        merged.update(patch)
        return settings_from_dict(merged)

    def copy(self) -> EmulatorSettings:
        """Return an independent copy (lists and dicts are copied too)."""
        return replace(
            self,
            outcomes=None if self.outcomes is None else dict(self.outcomes),
            outcome_rules=list(self.outcome_rules),
            chats=None if self.chats is None else list(self.chats),
            accounts=list(self.accounts),
        )


_FIELD_NAMES: frozenset[str] = frozenset(EmulatorSettings.__dataclass_fields__)


def settings_to_dict(settings: EmulatorSettings) -> dict[str, Any]:
    """Render settings as JSON-compatible values (the shape of ``GET /_emulator/settings``)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "delivery_seconds": settings.delivery_seconds,
        "outcomes": None if settings.outcomes is None else dict(settings.outcomes),
        "outcome_rules": [_json_form(rule, OutcomeRule) for rule in settings.outcome_rules],
        "seed": settings.seed,
        "token_ttl_cap": settings.token_ttl_cap,
        "expired_token_status": settings.expired_token_status,
        "bot_greeting": settings.bot_greeting,
        "chats": None if settings.chats is None else list(settings.chats),
        "accounts": [_json_form(account, Account) for account in settings.accounts],
        "time_ranges_utc_offset_minutes": settings.time_ranges_utc_offset_minutes,
        "request_log_size": settings.request_log_size,
        "gc_freeze": settings.gc_freeze,
        "strict": settings.strict,
        "implicit_templates": settings.implicit_templates,
        "task_messages_per_second": settings.task_messages_per_second,
        **{name: getattr(settings, name) for name in WEBHOOK_SETTING_NAMES},
    }


def _json_form(item: object, kind: type[OutcomeRule] | type[Account]) -> object:
    """``item`` in its JSON form when it is a ``kind``; any other value as it is, for validation to judge."""
    return item.to_dict() if isinstance(item, kind) else item


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)) and math.isfinite(value)


ErrorSink = Callable[[str, str], None]
T = TypeVar("T")


def settings_from_dict(data: Mapping[str, Any]) -> EmulatorSettings:
    """Build settings from JSON-style values, validating every field.

    Missing keys take their defaults. Raises :class:`SettingsError` with one entry per invalid field.
    """
    errors: dict[str, list[str]] = {}

    def err(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    defaults = EmulatorSettings()
    values = {name: data.get(name, getattr(defaults, name)) for name in _FIELD_NAMES}
    _check_plain_fields(values, err)
    check_webhook_settings(values, err)
    outcomes = _parse_outcomes(values["outcomes"], err)
    rules = _parse_rules(values["outcome_rules"], err)
    chats = _parse_chats(values["chats"], err)
    accounts = _parse_accounts(data.get("accounts"), defaults.accounts, err)
    if errors:
        raise SettingsError(errors)
    ttl_cap = values["token_ttl_cap"]
    return EmulatorSettings(
        host=values["host"],
        port=values["port"],
        delivery_seconds=float(values["delivery_seconds"]),
        outcomes=outcomes,
        outcome_rules=rules,
        seed=values["seed"],
        token_ttl_cap=None if ttl_cap is None else float(ttl_cap),
        expired_token_status=values["expired_token_status"],
        bot_greeting=values["bot_greeting"],
        chats=chats,
        accounts=accounts,
        time_ranges_utc_offset_minutes=values["time_ranges_utc_offset_minutes"],
        request_log_size=values["request_log_size"],
        gc_freeze=values["gc_freeze"],
        strict=values["strict"],
        implicit_templates=values["implicit_templates"],
        task_messages_per_second=float(values["task_messages_per_second"]),
        **webhook_values(values),
    )


def _check_plain_fields(values: dict[str, Any], err: ErrorSink) -> None:
    """Scalar settings: type and range checks."""
    host = values["host"]
    if not isinstance(host, str) or not host:
        err("host", "Must be a non-empty string.")
    port = values["port"]
    if not _is_int(port) or not 0 <= port <= 65535:
        err("port", "Must be an integer 0-65535.")
    delivery = values["delivery_seconds"]
    if not _is_number(delivery) or delivery < 0:
        err("delivery_seconds", "Must be a number >= 0.")
    rate = values["task_messages_per_second"]
    if not _is_number(rate) or rate < 0:
        err("task_messages_per_second", "Must be a number >= 0.")
    seed = values["seed"]
    if seed is not None and not _is_int(seed):
        err("seed", "Must be null or an integer.")
    ttl_cap = values["token_ttl_cap"]
    if ttl_cap is not None and (not _is_number(ttl_cap) or ttl_cap <= 0):
        err("token_ttl_cap", "Must be null or a number > 0.")
    expired_status = values["expired_token_status"]
    if not _is_int(expired_status) or expired_status not in (401, 403):
        err("expired_token_status", "Must be 401 or 403.")
    if not isinstance(values["bot_greeting"], str):
        err("bot_greeting", "Must be a string.")
    offset = values["time_ranges_utc_offset_minutes"]
    if not _is_int(offset) or not -14 * 60 <= offset <= 14 * 60:
        err("time_ranges_utc_offset_minutes", "Must be an integer between -840 and 840.")
    for switch in ("gc_freeze", "strict", "implicit_templates"):
        if not isinstance(values[switch], bool):
            err(switch, "Must be a boolean.")
    log_size = values["request_log_size"]
    if not _is_int(log_size) or log_size < 1:
        err("request_log_size", "Must be an integer >= 1.")


def _parse_outcomes(outcomes: Any, err: ErrorSink) -> dict[str, float] | None:
    if outcomes is None:
        return None
    if not isinstance(outcomes, Mapping) or not outcomes:
        err("outcomes", "Must be null or a non-empty object mapping an outcome to a weight.")
        return None
    clean: dict[str, float] = {}
    for name, weight in outcomes.items():
        upper = str(name).upper()
        if upper not in FINAL_OUTCOMES:
            err("outcomes", f"Unknown outcome {name!r}; use one of {', '.join(FINAL_OUTCOMES)}.")
        elif not _is_number(weight) or weight < 0:
            err("outcomes", f"Weight of {name!r} must be a number >= 0.")
        else:
            clean[upper] = float(weight)
    if clean and sum(clean.values()) <= 0:
        err("outcomes", "At least one weight must be positive.")
    return clean


def _parse_rules(raw_rules: Any, err: ErrorSink) -> list[OutcomeRule]:
    if raw_rules is None:
        return []
    if not isinstance(raw_rules, list):
        err("outcome_rules", "Must be a list of rules.")
        return []
    return _parse_each(raw_rules, "outcome_rules", _parse_rule, err)


def _parse_chats(chats: Any, err: ErrorSink) -> list[str] | None:
    if chats is None:
        return None
    if not isinstance(chats, list) or not all(is_uuid(chat) for chat in chats):
        err("chats", "Must be null or a list of UUID strings.")
        return None
    return [str(chat).lower() for chat in chats]


def _parse_accounts(raw_accounts: Any, defaults: list[Account], err: ErrorSink) -> list[Account]:
    if raw_accounts is None:
        return list(defaults)
    if not isinstance(raw_accounts, list) or not raw_accounts:
        err("accounts", "Must be a non-empty list of accounts.")
        return []
    return _parse_each(raw_accounts, "accounts", _parse_account, err)


def _parse_each(
    raw_items: list[Any], key: str, parse: Callable[[object, str, ErrorSink], T | None], err: ErrorSink
) -> list[T]:
    """The valid items of the list setting ``key``; each invalid one is reported as ``key[index]``."""
    parsed: list[T] = []
    for index, raw in enumerate(raw_items):
        item = parse(raw, f"{key}[{index}]", err)
        if item is not None:
            parsed.append(item)
    return parsed


def _parse_rule(raw: object, where: str, err: ErrorSink) -> OutcomeRule | None:
    if isinstance(raw, OutcomeRule):
        raw = raw.to_dict()
    if not isinstance(raw, Mapping):
        err(where, "Must be an object.")
        return None
    unknown = set(raw) - {"channel", "phone_suffix", "email_suffix", "status"}
    if unknown:
        err(where, f"Unknown keys: {', '.join(sorted(unknown))}.")
        return None
    status = str(raw.get("status") or "").upper()
    if status not in FINAL_OUTCOMES:
        err(where, f"status must be one of {', '.join(FINAL_OUTCOMES)}.")
        return None
    channel = raw.get("channel")
    if channel is not None and (not isinstance(channel, str) or channel.lower() not in CHANNEL_KEYS):
        err(where, f"channel must be null or one of {', '.join(sorted(CHANNEL_KEYS))}.")
        return None
    for key in ("phone_suffix", "email_suffix"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            err(where, f"{key} must be null or a string.")
            return None
    return OutcomeRule(
        status=status,
        channel=None if channel is None else channel.lower(),
        phone_suffix=raw.get("phone_suffix"),
        email_suffix=raw.get("email_suffix"),
    )


def _parse_account(raw: object, where: str, err: ErrorSink) -> Account | None:
    if isinstance(raw, Account):
        return raw
    if not isinstance(raw, Mapping):
        err(where, "Must be an object with email, password and company_id.")
        return None
    email, password, company = raw.get("email"), raw.get("password"), raw.get("company_id", 1)
    if not isinstance(email, str) or not email or not isinstance(password, str) or not _is_int(company):
        err(where, "Needs a non-empty string email, a string password and an integer company_id.")
        return None
    return Account(email=email, password=password, company_id=company)
