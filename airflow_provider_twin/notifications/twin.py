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
  ``max_length`` characters (see :mod:`airflow_provider_twin.client.messages.text_fitting`);
  requests use short timeouts and at most ``max_attempts`` sends (see
  :mod:`airflow_provider_twin.client.messages.create_once`).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

from airflow_provider_twin.client.messages import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_SMS_PARTS,
    NotificationPlan,
    Problems,
    notification_bulk_id,
    plan_notification,
    settings_fingerprint,
)
from airflow_provider_twin.hooks.secret_masking import redact
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.notifications.event import CallbackEvent
from airflow_provider_twin.notifications.sending import (
    deliver,
    deliver_async,
    notify_callback,
    notify_callback_async,
    safe_event,
)
from airflow_provider_twin.notifications.templates import (
    DEFAULT_TEXT,
    NotificationError,
    render_copy,
    setting_problems,
)

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.definitions.callback import AsyncCallback

#: Default timeouts (seconds) and attempts: a notification must not hold up its caller.
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 15.0
DEFAULT_MAX_ATTEMPTS = 2

_LEGACY_ARGUMENTS = ("dag", "task_list", "blocking_task_list", "blocking_tis")


class TwinNotifier(BaseNotifier):
    """Send a TWIN message (SMS, Telegram, WhatsApp... any channel chain) from an Airflow callback.

    Use it as ``on_*_callback`` of tasks and DAGs, for deadline alerts (:meth:`deadline_callback`)
    and in the ``notifiers`` of HITL operators (see :mod:`.hitl_request`). Templates are
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
        self._fingerprint = settings_fingerprint(
            twin_conn_id, recipients, channels, text, template_id, variables
        )
        found = Problems()
        found.extend(setting_problems(self))
        if found:
            raise found.error("its settings", outcome="", source="TwinNotifier")

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
        notify_callback(self, context)

    def __await__(self) -> Generator[Any, None, None]:
        """Render the templates for ``self.context`` and send (async); never raises."""
        return notify_callback_async(self, self.context).__await__()

    def rendered(self, context: Mapping[str, Any]) -> TwinNotifier:
        """A copy of this notifier with its templates rendered for ``context``.

        The notifier itself is left untouched, so one instance serves many tasks and runs.
        A ``text`` that fails to render is replaced by :data:`DEFAULT_TEXT` (an alert still
        goes out, and the error is logged); any other field failing to render raises
        :class:`NotificationError`.
        """
        return render_copy(self, context)

    def notify(self, context: Context) -> None:
        """Send the notification (sync), with the fields as they are; never raises.

        Airflow calls the notifier itself (``notifier(context)``), which renders the templates
        first and then calls this.
        """
        deliver(self, safe_event(context))

    async def async_notify(self, context: Context) -> None:
        """Send the notification (async, e.g. in the triggerer); never raises."""
        await deliver_async(self, safe_event(context))

    def message_settings(self) -> dict[str, Any]:
        """What to send and to whom: recipients, channels, text, template and variables."""
        fields = ("recipients", "channels", "text", "template_id", "variables")
        return {name: getattr(self, name) for name in fields}

    def bulk_id(self, event: CallbackEvent) -> tuple[str, bool]:
        """The ``bulkId`` of this notification and whether it may have been sent before.

        Deterministic for an identifiable event (see :meth:`CallbackEvent.identity`); random
        otherwise, in which case there is nothing to check.
        """
        return notification_bulk_id(event.identity(), self._fingerprint)

    def plan(self, event: CallbackEvent, secrets: Sequence[str] = ()) -> NotificationPlan:
        """Redact, cut and validate the (rendered) fields into the message to send.

        :raises TwinInputError: when the rendered recipients or settings are invalid.
        """
        bulk_id, check_existing = self.bulk_id(event)
        return plan_notification(
            **self.message_settings(),
            redact=lambda value: redact(value, secrets),
            max_sms_parts=self.max_sms_parts,
            max_length=self.max_length,
            bulk_id=bulk_id,
            check_existing=check_existing,
        )


#: Airflow-style alias, like ``send_slack_notification``: ``on_failure_callback=send_twin_notification(...)``.
send_twin_notification = TwinNotifier

__all__ = ["DEFAULT_TEXT", "NotificationError", "TwinNotifier", "send_twin_notification"]
