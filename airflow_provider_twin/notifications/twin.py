"""``TwinNotifier``: tell people over TWIN when a DAG or task fails, succeeds or misses a deadline.

Wire it like Airflow's Slack or e-mail notifiers::

    from airflow_provider_twin.notifications.twin import TwinNotifier

    on_call = TwinNotifier(
        recipients=["+7 999 123-45-67"],
        channels={"telegram": {}, "sms": {"from": "TwinService"}},
        text="{{ summary }}: {{ error }} {{ log_url }}",
    )
    DAG(..., default_args={"on_failure_callback": on_call})

What it guarantees, and why:

* **Fails at DAG parse, not at 3 a.m.** Recipients, channels, text or template and the Jinja
  syntax are checked when the notifier is built; a bad phone number is a DAG import error
  naming the field and the recipient index.
* **Never breaks the run.** A TWIN outage, bad credentials or a template that does not render
  are logged as errors; the notifier never raises into the task runner, the DAG processor or
  the triggerer, so no task or DAG state changes because a notification failed.
* **At most once per event.** Each notification carries a deterministic ``bulkId`` (UUIDv5 of
  the DAG, run, task, map index, try number, callback kind and the notifier's settings); TWIN
  is asked whether it already holds it before sending, and after a lost answer.
* **No secrets in messages.** Templates see no ``conn`` accessor, the TWIN connection's own
  password and token are removed, and everything Airflow's secrets masker knows is replaced
  with ``***``, in the text, the channel fields and the template variables.
* **Short and bounded.** SMS texts are cut to ``max_sms_parts`` parts, other channels to
  ``max_length`` characters (see :mod:`.text`); requests use short timeouts and at most
  ``max_attempts`` sends (see :mod:`.delivery`).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import hashlib
import importlib
import json
import re
import uuid
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from airflow.sdk import BaseNotifier

from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.config import TwinClientConfig
from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.core.retry import RetryPolicy
from airflow_provider_twin.client.core.sync_client import TwinClient
from airflow_provider_twin.client.messages.bulk import bulk_id_for
from airflow_provider_twin.client.messages.compose import (
    MessageSpec,
    Problems,
    compile_spec,
    normalize_channels,
    validate_spec,
)
from airflow_provider_twin.client.messages.models import MessageData
from airflow_provider_twin.hooks.connection import client_config
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.notifications.delivery import (
    DEFAULT_SETTLE_SECONDS,
    Delivery,
    DeliveryFlow,
    deliver,
    run_async,
    run_sync,
)
from airflow_provider_twin.notifications.event import CallbackEvent, callback_event
from airflow_provider_twin.notifications.text import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_SMS_PARTS,
    MAX_SMS_PARTS,
    MIN_MAX_LENGTH,
    fit_sms,
    truncate,
)

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.definitions.callback import AsyncCallback

#: The text sent when neither ``text`` nor ``template_id`` is given. The error goes last, so
#: that a long one is what the length limit cuts, not the link to the log.
DEFAULT_TEXT = (
    "Airflow: {{ summary }}{% if log_url %} {{ log_url }}{% endif %}{% if error %} {{ error }}{% endif %}"
)

#: Context entries templates do not get: connection fields must never reach a message.
HIDDEN_CONTEXT_KEYS = frozenset({"conn"})

#: Default timeouts (seconds) and attempts: a notification must not hold up its caller.
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 15.0
DEFAULT_MAX_ATTEMPTS = 2
MAX_ATTEMPTS_LIMIT = 5

#: Secrets shorter than this are not searched for in texts (as Airflow's masker does by default).
MIN_SECRET_LENGTH = 5

#: How much of a message a "not sent" log line quotes.
LOGGED_TEXT_LENGTH = 300

_JINJA_MARKERS = ("{{", "{%", "{#")
_SECRET_MASKERS = ("airflow.sdk._shared.secrets_masker", "airflow._shared.secrets_masker")
_LEGACY_ARGUMENTS = ("dag", "task_list", "blocking_task_list", "blocking_tis")


class NotificationError(Exception):
    """A notification could not be prepared (e.g. a recipients template did not render)."""


def has_jinja(value: Any) -> bool:
    """Whether ``value`` (or any string inside it) is a Jinja template."""
    if isinstance(value, str):
        return any(marker in value for marker in _JINJA_MARKERS)
    if isinstance(value, Mapping):
        return any(has_jinja(key) or has_jinja(item) for key, item in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(has_jinja(item) for item in value)
    return False


def _jinja_problems(field: str, value: Any) -> list[str]:
    """Jinja syntax errors in the strings of ``value``, named by field."""
    from jinja2 import TemplateSyntaxError  # noqa: PLC0415 - Airflow always ships Jinja
    from jinja2.sandbox import SandboxedEnvironment  # noqa: PLC0415

    env = SandboxedEnvironment()
    problems: list[str] = []

    def walk(item: Any, where: str) -> None:
        if isinstance(item, str):
            if any(marker in item for marker in _JINJA_MARKERS):
                try:
                    env.parse(item)
                except TemplateSyntaxError as exc:
                    problems.append(f"{where}: Jinja syntax error on line {exc.lineno}: {exc.message}")
        elif isinstance(item, Mapping):
            for key, sub in item.items():
                walk(sub, f"{where}.{key}")
        elif isinstance(item, (list, tuple)):
            for index, sub in enumerate(item):
                walk(sub, f"{where}[{index}]")

    walk(value, field)
    return problems


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


def _fingerprint(*values: Any) -> str:
    """A short stable digest of the notifier's settings (part of its ``bulkId``)."""
    try:
        raw = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        raw = repr(values)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _masker_redactors() -> list[Callable[[Any], Any]]:
    """``redact`` of each secrets masker present (the Task SDK's and, in core, Airflow's)."""
    redactors: list[Callable[[Any], Any]] = []
    for module_name in _SECRET_MASKERS:
        try:
            redactors.append(importlib.import_module(module_name).redact)
        except (ImportError, AttributeError):
            continue
    return redactors


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` with ``secrets`` and every secret Airflow's masker knows replaced by ``***``.

    Strings are redacted wherever they are inside dicts and lists; other values pass through.
    """
    # Longest first, so a secret containing another is replaced whole.
    known = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
    redactors = _masker_redactors()

    def one(text: str) -> str:
        for secret in known:
            text = text.replace(secret, "***")
        for redactor in redactors:
            text = str(redactor(text))
        return text

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return one(item)
        if isinstance(item, Mapping):
            return {key: walk(sub) for key, sub in item.items()}
        if isinstance(item, (list, tuple)):
            return [walk(sub) for sub in item]
        return item

    return walk(value)


def _connection_secrets(config: TwinClientConfig) -> list[str]:
    credentials = config.credentials
    return [secret for secret in (credentials.password, credentials.api_token) if secret]


def render_context(context: Mapping[str, Any], event: CallbackEvent) -> dict[str, Any]:
    """The context templates are rendered with: Airflow's, minus ``conn``, plus the event's names.

    The event's names (``dag_id``, ``task_id``, ``run_id``, ``try_number``, ``log_url``,
    ``error``, ``summary``, ``event``...) fill in only where the context has no value, so
    Airflow's own entries (``ti``, ``dag_run``, ``exception``...) keep their meaning.
    """
    rendered = {key: value for key, value in context.items() if key not in HIDDEN_CONTEXT_KEYS}
    for key, value in event.template_variables().items():
        if rendered.get(key) is None:
            rendered[key] = value
    return rendered


@dataclasses.dataclass(frozen=True)
class Plan:
    """A notification ready to send: the message, its ``bulkId`` and what to log about it."""

    message: MessageData
    bulk_id: str
    check_existing: bool
    recipients: int
    channels: tuple[str, ...]
    preview: str

    def flow(self, max_attempts: int) -> DeliveryFlow:
        """The delivery flow of this notification."""
        return deliver(
            self.message,
            self.bulk_id,
            max_attempts=max_attempts,
            check_existing=self.check_existing,
            settle_seconds=DEFAULT_SETTLE_SECONDS,
        )


class TwinNotifier(BaseNotifier):
    """Send a TWIN message (SMS, Telegram, WhatsApp... any channel chain) from an Airflow callback.

    Use it as ``on_failure_callback``, ``on_success_callback`` or ``on_retry_callback`` of
    tasks and DAGs, and for deadline alerts (:meth:`deadline_callback`). Templates are
    rendered with the callback's context, plus these names that work in every kind of
    callback: ``summary`` (one line saying what happened), ``dag_id``, ``task_id``,
    ``map_index``, ``try_number``, ``run_id``, ``event`` ("failed", "succeeded", "missed its
    deadline"...), ``error`` ("ValueError: ..."), ``log_url``, ``scope`` (``task``, ``dag``,
    ``deadline``), ``reason`` and ``deadline_time``. The ``conn`` accessor is not available.

    :param recipients: who to tell: a list of phones (``"+7 999 123-45-67"``), e-mail
        addresses and/or dicts with ``phone``, ``email``, ``clientId``, ``externalId``,
        ``messengerUserId``, ``pushRegistrationId``, ``platform``, ``variables`` (the send
        operator's recipient shapes). A template rendering to a list, or to a comma-separated
        string, works too (``"{{ var.value.on_call }}"``).
    :param channels: channels in TWIN's fallback order: a mapping channel -> channel fields
        (``{"telegram": {}, "sms": {"from": "TwinService"}}``) or a list of names. A channel
        with ``{"required": True}`` is used even after an earlier one delivered; a channel
        with its own ``text`` uses it instead of ``text``.
    :param text: Jinja template of the message, copied into every channel without its own
        text. Default: :data:`DEFAULT_TEXT` (summary, log link, error).
    :param template_id: a stored TWIN template (UUID) instead of ``text``.
    :param variables: template variables for every recipient (rendered and redacted too).
    :param twin_conn_id: the ``twin`` connection.
    :param max_sms_parts: SMS texts are cut to fit this many SMS parts (default 3: up to 457
        ASCII or 199 Cyrillic characters).
    :param max_length: texts of the other channels are cut to this many characters
        (default 4000).
    :param connect_timeout: seconds to connect to TWIN (default 5).
    :param read_timeout: seconds to wait for one answer (default 15; the connection's
        ``timeout`` extra is for bulk work and does not apply here).
    :param max_attempts: sends attempted at most (default 2, at most 5).
    :param context: set by Airflow when it builds the notifier itself (deadline alerts).
    :raises TwinInputError: (a ``ValueError``) listing every problem of the settings, when
        the notifier is built; values given as templates are checked when rendered.
    """

    template_fields: Sequence[str] = (
        "recipients",
        "channels",
        "text",
        "template_id",
        "variables",
        "twin_conn_id",
    )

    def __init__(
        self,
        *,
        recipients: Any,
        channels: Mapping[str, Mapping[str, Any] | None] | Sequence[str] | str,
        text: str | None = None,
        template_id: str | None = None,
        variables: Mapping[str, Any] | str | None = None,
        twin_conn_id: str = TwinHook.default_conn_name,
        max_sms_parts: int = DEFAULT_SMS_PARTS,
        max_length: int = DEFAULT_MAX_LENGTH,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        context: Context | None = None,
    ) -> None:
        super().__init__(context=context)
        if text is None and not template_id:
            text = DEFAULT_TEXT
        self.recipients = recipients
        self.channels = channels
        self.text = text
        self.template_id = template_id
        self.variables = variables
        self.twin_conn_id = twin_conn_id
        self.max_sms_parts = max_sms_parts
        self.max_length = max_length
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_attempts = max_attempts
        self._fingerprint = _fingerprint(twin_conn_id, recipients, channels, text, template_id, variables)
        problems = self._setting_problems()
        if problems:
            lines = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
            noun = "problem" if len(problems) == 1 else "problems"
            raise TwinInputError(
                f"TwinNotifier: {len(problems)} {noun} in its settings:\n"
                + "\n".join(f"- {p}" for p in lines),
                problems=lines,
            )

    # -- construction-time checks ------------------------------------------------------------------
    def _limit_problems(self) -> list[str]:
        problems: list[str] = []

        def is_int(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        if not is_int(self.max_sms_parts) or not 1 <= self.max_sms_parts <= MAX_SMS_PARTS:
            problems.append(f"max_sms_parts: must be an integer from 1 to {MAX_SMS_PARTS}")
        if not is_int(self.max_length) or self.max_length < MIN_MAX_LENGTH:
            problems.append(f"max_length: must be an integer of at least {MIN_MAX_LENGTH}")
        if not is_int(self.max_attempts) or not 1 <= self.max_attempts <= MAX_ATTEMPTS_LIMIT:
            problems.append(f"max_attempts: must be an integer from 1 to {MAX_ATTEMPTS_LIMIT}")
        for name in ("connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                problems.append(f"{name}: must be a positive number of seconds")
        if not isinstance(self.twin_conn_id, str) or not self.twin_conn_id:
            problems.append("twin_conn_id: must be a connection id")
        return problems

    def _setting_problems(self) -> list[str]:
        """Every problem that can be seen before rendering (templated values are skipped)."""
        problems = self._limit_problems()
        for name in self.template_fields:
            problems.extend(_jinja_problems(name, getattr(self, name)))
        if problems:
            return problems
        recipients = None if has_jinja(self.recipients) else recipient_list(self.recipients)
        if recipients is not None and not recipients:
            problems.append("recipients: name at least one recipient (a phone, an e-mail or a dict)")
        if has_jinja(self.channels):
            return problems
        template_id = None if has_jinja(self.template_id) else self.template_id
        text = self.text
        if text is None and template_id is None and self.template_id:
            text = "rendered later"  # a templated template_id: content is checked once rendered
        spec = MessageSpec(
            channels=self.channels,
            text=text,
            template_id=template_id,
            variables=None if has_jinja(self.variables) else cast("Any", self.variables),
        )
        spec_problems = validate_spec(spec)
        problems.extend(spec_problems)
        if spec_problems or not recipients:
            return problems
        campaign = compile_spec(spec)
        found = Problems(keep=1000)  # a notifier has few recipients: keep every problem
        for index, recipient in enumerate(recipients):
            if not has_jinja(recipient):
                campaign.destination(index, recipient, found)
        problems.extend(found.first)
        return problems

    # -- Airflow entry points ----------------------------------------------------------------------
    @classmethod
    def deadline_callback(cls, **kwargs: Any) -> AsyncCallback:
        """An ``AsyncCallback`` for a ``DeadlineAlert`` that sends this notification.

        Deadline alerts run their callback in the triggerer, building the notifier there from
        ``kwargs``; building one here first checks the settings at DAG parse time::

            DeadlineAlert(
                reference=DeadlineReference.DAGRUN_QUEUED_AT,
                interval=timedelta(hours=2),
                callback=TwinNotifier.deadline_callback(recipients=[...], channels=["sms"]),
            )

        ``kwargs`` are stored with the DAG, so they must be plain JSON values.
        """
        from airflow.sdk.definitions.callback import AsyncCallback  # noqa: PLC0415 - deadline users only

        if "context" in kwargs:
            raise TypeError("deadline_callback() does not take context: Airflow passes it")
        cls(**kwargs)
        return AsyncCallback(cls, kwargs=kwargs)

    def __call__(self, *args: Any) -> None:
        """Render the templates for this callback and send (sync); never raises."""
        context: Any = args[0] if len(args) == 1 else dict(zip(_LEGACY_ARGUMENTS, args, strict=False))
        try:
            notifier = self.rendered(context)
        except Exception as exc:  # noqa: BLE001 - a notifier must never fail its caller
            self._log_not_sent(_safe_event(context), exc, None)
            return
        notifier.notify(context)

    def __await__(self) -> Generator[Any, None, None]:
        """Render the templates for ``self.context`` and send (async); never raises."""
        return self._notify_async(self.context).__await__()

    async def _notify_async(self, context: Any) -> None:
        try:
            notifier = self.rendered(context)
        except Exception as exc:  # noqa: BLE001 - a notifier must never fail its caller
            self._log_not_sent(_safe_event(context), exc, None)
            return
        await notifier.async_notify(context)

    def rendered(self, context: Mapping[str, Any]) -> TwinNotifier:
        """A copy of this notifier with its templates rendered for ``context``.

        The notifier itself is left untouched, so one instance serves many tasks and runs.
        A ``text`` that fails to render is replaced by :data:`DEFAULT_TEXT` (an alert still
        goes out, and the error is logged); any other field failing to render raises
        :class:`NotificationError`.
        """
        event = callback_event(context)
        values = cast("Context", render_context(context, event))
        dag = context.get("dag")
        # ``dag.test()`` hands DAG callbacks a serialized DAG, which has no template environment.
        env = self.get_template_env(dag=dag if callable(getattr(dag, "get_template_env", None)) else None)
        clone = copy.copy(self)
        for name in self.template_fields:
            try:
                rendered = self.render_template(getattr(self, name), values, env)
            except Exception as exc:
                if name != "text":
                    raise NotificationError(
                        f"{name} could not be rendered: {type(exc).__name__}: {exc}"
                    ) from exc
                self.log.error(
                    "TWIN notification: the text template failed to render (%s: %s); "
                    "sending the default text instead",
                    type(exc).__name__,
                    exc,
                )
                rendered = self._fallback_text(values, env, event)
            setattr(clone, name, rendered)
        return clone

    def _fallback_text(self, values: Mapping[str, Any], env: Any, event: CallbackEvent) -> str:
        try:
            return str(self.render_template(DEFAULT_TEXT, cast("Context", dict(values)), env))
        except Exception:  # noqa: BLE001 - the plain summary always works
            return f"Airflow: {event.summary}"

    def notify(self, context: Context) -> None:
        """Send the notification (sync), with the fields as they are; never raises.

        Airflow calls the notifier itself (``notifier(context)``), which renders the templates
        first and then calls this.
        """
        event = _safe_event(context)
        plan: Plan | None = None
        try:
            hook = TwinHook(twin_conn_id=self.twin_conn_id)
            config = self._client_config(hook.client_config)
            plan = self.plan(event, _connection_secrets(config))
            with TwinClient(config) as client:
                client.engine.on_new_token = _mask_secret
                delivery = run_sync(client, plan.flow(self.max_attempts))
        except Exception as exc:  # noqa: BLE001 - a notifier must never fail its caller
            self._log_not_sent(event, exc, plan)
            return
        self._log_delivery(event, plan, delivery)

    async def async_notify(self, context: Context) -> None:
        """Send the notification (async, e.g. in the triggerer); never raises."""
        event = _safe_event(context)
        plan: Plan | None = None
        try:
            hook = TwinHook(twin_conn_id=self.twin_conn_id)
            conn = await hook.aget_connection(self.twin_conn_id)
            config = self._client_config(client_config(conn))
            plan = self.plan(event, _connection_secrets(config))
            async with AsyncTwinClient(config) as client:
                client.engine.on_new_token = _mask_secret_locally
                delivery = await run_async(client, plan.flow(self.max_attempts))
        except Exception as exc:  # noqa: BLE001 - a notifier must never fail its caller
            self._log_not_sent(event, exc, plan)
            return
        self._log_delivery(event, plan, delivery)

    # -- building the message ----------------------------------------------------------------------
    def _client_config(self, config: TwinClientConfig) -> TwinClientConfig:
        """The connection's client settings with the notifier's short timeouts.

        The client itself does not retry (one attempt per request): the delivery flow owns the
        attempts, so the total stays bounded by ``max_attempts``.
        """
        return dataclasses.replace(
            config,
            connect_timeout=float(self.connect_timeout),
            read_timeout=float(self.read_timeout),
            retry=RetryPolicy(max_attempts=1),
            max_connections=2,
        )

    def _fit(self, channel: str, text: str) -> str:
        if channel == "sms":
            return fit_sms(text, self.max_sms_parts)
        return truncate(text, self.max_length)

    def bulk_id(self, event: CallbackEvent) -> tuple[str, bool]:
        """The ``bulkId`` of this notification and whether it may have been sent before.

        Deterministic for an identifiable event (see :meth:`CallbackEvent.identity`); random
        otherwise, in which case there is nothing to check.
        """
        identity = event.identity()
        if identity is None:
            return str(uuid.uuid4()), False
        return bulk_id_for("twin-notifier", *identity, self._fingerprint), True

    def plan(self, event: CallbackEvent, secrets: Iterable[str] = ()) -> Plan:
        """Redact, cut and validate the (rendered) fields into the message to send.

        :raises TwinInputError: when the rendered recipients or settings are invalid.
        """
        secrets = list(secrets)
        text = None if self.text is None else str(redact(str(self.text), secrets))
        template_id = str(self.template_id).strip() if self.template_id else None
        normalized, problems = normalize_channels(self.channels)
        if problems:
            raise _settings_error(problems)
        channels: dict[str, dict[str, Any]] = {}
        for name, raw_settings in normalized.items():
            settings: dict[str, Any] = redact(raw_settings, secrets)
            own = settings.get("text")
            if isinstance(own, str):
                settings["text"] = self._fit(name, own)
            elif text and not template_id and name != "chat":
                settings["text"] = self._fit(name, text)
            channels[name] = settings
        variables = self.variables
        if isinstance(variables, Mapping):
            variables = redact(variables, secrets)
        spec = MessageSpec(channels=channels, template_id=template_id, variables=variables)  # type: ignore[arg-type]
        problems = validate_spec(spec)
        if problems:
            raise _settings_error(problems)
        campaign = compile_spec(spec)
        recipients = recipient_list(self.recipients)
        found = Problems()
        destinations = []
        for index, recipient in enumerate(recipients):
            destination = campaign.destination(index, recipient, found)
            if destination is not None:
                destinations.append(destination)
        if found:
            raise _settings_error(found.lines(), "recipients")
        if not destinations:
            raise _settings_error(["recipients: the rendered recipients are empty"], "recipients")
        bulk_id, check_existing = self.bulk_id(event)
        preview = next((s["text"] for s in channels.values() if isinstance(s.get("text"), str)), "")
        return Plan(
            message=campaign.build_message(destinations),
            bulk_id=bulk_id,
            check_existing=check_existing,
            recipients=len(destinations),
            channels=tuple(channels),
            preview=preview or f"template {template_id}",
        )

    # -- logging -------------------------------------------------------------------------------
    def _log_delivery(self, event: CallbackEvent, plan: Plan, delivery: Delivery) -> None:
        if delivery.status == "already_sent":
            self.log.info(
                "TWIN notification for %s was already sent (bulkId %s holds %d message(s)); "
                "not sending it again",
                event.describe(),
                delivery.bulk_id,
                delivery.existing,
            )
            return
        confirmed = (
            "; the answer was lost, TWIN confirmed the bulkId" if delivery.status == "confirmed" else ""
        )
        self.log.info(
            "TWIN notification sent for %s: %d recipient(s) via %s (bulkId %s, attempt %d%s)",
            event.describe(),
            plan.recipients,
            " -> ".join(plan.channels),
            delivery.bulk_id,
            delivery.attempts,
            confirmed,
        )
        rejected = delivery.rejected
        if rejected:
            first = rejected[0].get("error") or {}
            self.log.warning(
                "TWIN refused %d of %d recipient(s) of the notification (bulkId %s): %s",
                len(rejected),
                len(delivery.items),
                delivery.bulk_id,
                first.get("message", "no reason given"),
            )

    def _log_not_sent(self, event: CallbackEvent, error: BaseException, plan: Plan | None) -> None:
        reason = str(error) or type(error).__name__
        quoted = f" Message: {truncate(plan.preview, LOGGED_TEXT_LENGTH)!r}" if plan else ""
        self.log.error(
            "TWIN notification NOT sent for %s: %s: %s. Task and DAG states are not affected.%s",
            event.describe(),
            type(error).__name__,
            reason,
            quoted,
        )


def _settings_error(problems: Sequence[str], what: str = "settings") -> TwinInputError:
    noun = "problem" if len(problems) == 1 else "problems"
    return TwinInputError(
        f"{len(problems)} {noun} in the rendered {what}:\n" + "\n".join(f"- {p}" for p in problems),
        problems=list(problems),
    )


def _safe_event(context: Any) -> CallbackEvent:
    """The callback's event; a placeholder when the context cannot be read at all."""
    try:
        return callback_event(context if isinstance(context, Mapping) else {})
    except Exception:  # noqa: BLE001 - only used to describe the notification in logs
        return CallbackEvent(scope="unknown", kind="notified", event="notified")


def _mask_secret(secret: str) -> None:
    """Register a new TWIN token with Airflow's masker (and the supervisor's, in a task)."""
    from airflow.sdk.log import mask_secret  # noqa: PLC0415 - only once a token exists

    mask_secret(secret)


def _mask_secret_locally(secret: str) -> None:
    """Register a new TWIN token with this process's masker only.

    Used on the async path: telling the supervisor is a blocking call, which must not run
    inside the triggerer's event loop.
    """
    try:
        importlib.import_module(_SECRET_MASKERS[0]).mask_secret(secret)
    except (ImportError, AttributeError):
        return


#: Airflow-style alias, like ``send_slack_notification``: ``on_failure_callback=send_twin_notification(...)``.
send_twin_notification = TwinNotifier
