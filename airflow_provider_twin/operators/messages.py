"""Operators that send campaign steps through TWIN and cancel delayed messages.

* :class:`TwinSendMessagesOperator` sends to any number of recipients, exactly once across
  Airflow retries, and returns a compact JSON summary (bulk ids, counts, rejected items).
* :class:`TwinCancelMessagesOperator` (defined in :mod:`.cancel`) cancels delayed messages
  by message, bulk, group or flow ids; the send operator's summary plugs in directly.

Planning, validation and the chunked, exactly-once sending live in
:mod:`airflow_provider_twin.client.messages`; these operators resolve Airflow inputs, run
them, and turn errors into the right Airflow outcome.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import Asset, BaseOperator

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.messages import (
    CANCELLED_STATUSES,
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_SETTLE_SECONDS,
    SHARED_SETTINGS,
    check_send_arguments,
    frozen_heap,
)
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.campaign_send import send_campaign
from airflow_provider_twin.operators.cancel import TwinCancelMessagesOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class TwinSendMessagesOperator(BaseOperator):
    """Send a campaign step through TWIN: any size, validated first, exactly once.

    Say what to send in one of two ways:

    * ``messages``: raw TWIN message objects (twin-api.md §3.2.2) for full control; or
    * ``recipients`` (or ``recipients_file``) plus shared settings (``channels``, ``text`` or
      ``template_id``, ``send_at``...), composed into messages for you.

    Everything is validated before the first request; on any problem the task fails (without
    retries) listing the first 20 problems, each naming the field and the recipient index, and
    nothing is sent. Destinations are then sent in chunks of ``batch_size`` with
    ``max_in_flight`` concurrent requests. Each chunk carries a deterministic ``bulkId`` (from
    the DAG, run, task, map index and chunk number, never the try number), so a retried task
    skips chunks TWIN already holds, and a request whose answer was lost is checked, not
    blindly repeated: a campaign is never sent twice.

    Asset ``outlets`` of the task get an asset event whose extra is the summary's ids and
    counts (``group_id``, ``bulk_ids``, ``total``, ``accepted``, ``rejected``...), for DAGs
    scheduled on "campaign sent".

    :param messages: raw TWIN message objects (list, XComArg or JSON string).
    :param recipients: recipients as dicts with ``phone``, ``email``, ``clientId``,
        ``externalId``, ``messengerUserId``, ``pushRegistrationId``, ``platform``,
        ``variables`` and/or ``var_<name>`` keys (a bare string is a phone or an e-mail).
    :param recipients_file: a CSV or JSON Lines file of recipients (local path, or a URL such as
        ``s3://bucket/key.csv`` read through ObjectStoragePath); streamed, never loaded whole.
        Format: see ``airflow_provider_twin.client.messages.recipient_files``.
    :param recipients_file_format: ``csv`` or ``jsonl``; default from the file name.
    :param recipients_file_conn_id: connection for a ``recipients_file`` URL (e.g. ``aws_default``).
    :param attachments: files the channels link to, uploaded first and once (see docs/files.md).
    :param channels: ordered mapping channel -> channel fields; the order is TWIN's fallback
        order; ``{"required": True}`` in a channel sends through it even after an earlier one
        delivered. Channels: sms, email, push, whatsapp, viber, telegram, vkontakte,
        odnoklassniki, chat. A list of names is shorthand for channels without fields.
    :param text: message text for every channel without its own ``text``.
    :param template_id: a stored TWIN template (UUID) instead of ``text``; read and checked first.
    :param variables: template variables shared by all recipients (each recipient's win).
    :param send_at: delayed send time: timezone-aware datetime, pendulum or ISO-8601 string
        (naive is an error). Until then the messages can be cancelled.
    :param allowed_time_ranges: send windows, ``[["09:00:00", "21:00:00"], ...]``.
    :param use_short_links: let TWIN shorten links in SMS.
    :param validity_period: minutes (1-2880) a message may wait for delivery.
    :param callback_url: URL TWIN posts status changes to.
    :param webhook_asset: an asset (or its name) whose events TWIN's status webhooks become:
        ``callback_url`` is then the receiver's URL for it, with its token (see
        docs/webhooks.md; needs ``[twin] webhook_base_url`` and ``webhook_secret``). A
        ``callback_url`` given as well wins.
    :param callback_data: string (or object, sent as JSON) echoed in every callback.
    :param group_id: TWIN group id (UUID) of all messages; default: a deterministic id derived
        from the task instance, the same on every try.
    :param variable_default: value sent for a TWIN variable the text uses (``{{name}}``) that a
        recipient has no value for; by default such a recipient is an error.
    :param deduplicate: send each normalised address once (``+7 999 000-00-01`` and
        ``79990000001`` are one recipient; the first one's variables win) and count the others
        in the summary's ``duplicates_merged`` (default True).
    :param batch_size: destinations per request (default 1000; TWIN documents no limit, 1000
        is its page size).
    :param max_in_flight: concurrent requests (default 4).
    :param max_requests_per_second: optional client-side rate limit of all requests.
    :param check_existing: ask TWIN whether each chunk exists before sending it: ``None``
        (default) on retries only, ``True`` always (one extra GET per chunk), ``False`` never.
    :param fail_on_rejected: fail the task (without retry) when TWIN rejects items: ``True``
        on any rejection, a float for a share (``0.05`` = more than 5 %), ``False`` never.
        The summary is then pushed to XCom under the key ``summary``.
    :param max_message_ids_in_xcom: cap of message ids in the summary (default 1000).
    :param max_rejected_items_in_xcom: cap of rejected items in the summary (default 100).
    :param redact_rejected: mask addresses of rejected items in the summary (default True).
    :param progress_interval: seconds between progress lines in the task log.
    :param twin_conn_id: the ``twin`` connection.
    :return: (XCom) ``{"bulk_ids", "group_id", "total", "accepted", "rejected", "skipped",
        "skipped_chunks", "chunks", "per_channel", "duplicates_merged", "rejected_items",
        "rejected_items_truncated", "message_ids", "message_ids_truncated", "timing"}``, and with a
        ``chat`` channel ``chat_sessions``/``chat_session_ids`` (the sessions it opened, docs/chat.md);
        ``multiple_outputs`` is on by default, so every key is also an XCom of its own
        (``send.output["bulk_ids"]``).
    """

    template_fields = ("messages", "recipients", "recipients_file", "attachments", *SHARED_SETTINGS)
    template_fields_renderers: ClassVar[dict[str, str]] = {
        name: "json"
        for name in (
            "messages",
            "recipients",
            "channels",
            "variables",
            "allowed_time_ranges",
            "callback_data",
        )
    }
    ui_color = "#e3f1fb"

    def __init__(
        self,
        *,
        messages: Any = None,
        recipients: Any = None,
        recipients_file: str | os.PathLike[str] | None = None,
        recipients_file_format: str | None = None,
        recipients_file_conn_id: str | None = None,
        attachments: Any = None,
        channels: Mapping[str, Mapping[str, Any] | None] | Sequence[str] | None = None,
        text: str | None = None,
        template_id: str | None = None,
        variables: Mapping[str, Any] | None = None,
        send_at: datetime | str | None = None,
        allowed_time_ranges: Sequence[Sequence[str]] | None = None,
        use_short_links: bool | None = None,
        validity_period: int | None = None,
        callback_url: str | None = None,
        callback_data: str | Mapping[str, Any] | None = None,
        webhook_asset: str | Asset | None = None,
        group_id: str | None = None,
        variable_default: str | None = None,
        deduplicate: bool = True,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        max_requests_per_second: float | None = None,
        check_existing: bool | None = None,
        fail_on_rejected: bool | float = False,
        max_message_ids_in_xcom: int = 1000,
        max_rejected_items_in_xcom: int = 100,
        redact_rejected: bool = True,
        progress_interval: float = 15.0,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        twin_conn_id: str = TwinHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        # Each summary key is also its own XCom, so ``send.output["bulk_ids"]`` plugs into the
        # cancel operator or the status sensor directly.
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(**kwargs)
        self.messages = messages
        self.recipients = recipients
        self.recipients_file = recipients_file
        self.attachments = attachments
        self.channels = channels
        self.text = text
        self.template_id = template_id
        self.variables = variables
        self.send_at = send_at
        self.allowed_time_ranges = allowed_time_ranges
        self.use_short_links = use_short_links
        self.validity_period = validity_period
        self.callback_url = callback_url
        self.callback_data = callback_data
        asset_name = webhook_asset.name if isinstance(webhook_asset, Asset) else webhook_asset
        if asset_name is not None and not (isinstance(asset_name, str) and asset_name):
            raise TwinInputError(f"webhook_asset: expected an Asset or its name, got {webhook_asset!r}")
        self.webhook_asset: str | None = asset_name
        self.group_id = group_id
        self.variable_default = variable_default
        check_send_arguments(
            type(self).__name__,
            {"messages": messages, "recipients": recipients, "recipients_file": recipients_file},
            self.shared_settings(),
            batch_size=batch_size,
            max_in_flight=max_in_flight,
            max_requests_per_second=max_requests_per_second,
            fail_on_rejected=fail_on_rejected,
            pacing={"progress_interval": progress_interval, "settle_seconds": settle_seconds},
        )
        self.deduplicate = deduplicate
        self.recipients_file_format = recipients_file_format
        self.recipients_file_conn_id = recipients_file_conn_id
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.max_requests_per_second = max_requests_per_second
        self.check_existing = check_existing
        self.fail_on_rejected = fail_on_rejected
        self.max_message_ids_in_xcom = max_message_ids_in_xcom
        self.max_rejected_items_in_xcom = max_rejected_items_in_xcom
        self.redact_rejected = redact_rejected
        self.progress_interval = progress_interval
        self.settle_seconds = settle_seconds
        self.twin_conn_id = twin_conn_id

    def render_template(
        self, content: Any, context: Context, jinja_env: Any = None, seen_oids: set[int] | None = None
    ) -> Any:
        """Render templates, skipping strings that hold no template syntax.

        Airflow compiles every string of a templated collection; for a list of 100,000
        recipients that costs far more than sending them. A string without ``{`` renders to
        itself, so it is returned as is.
        """
        if isinstance(content, str) and "{" not in content:
            return content
        return super().render_template(content, context, jinja_env, seen_oids)

    def shared_settings(self) -> dict[str, Any]:
        """The settings every recipient shares (``channels``, ``text``...), as given."""
        return {name: getattr(self, name) for name in SHARED_SETTINGS}

    def file_source(self) -> Any:
        """``recipients_file`` ready to open: a local path, or an ObjectStoragePath for a URL."""
        path = self.recipients_file
        if isinstance(path, str) and "://" in path:
            from airflow.sdk import ObjectStoragePath  # noqa: PLC0415 - only for remote files

            return ObjectStoragePath(path, conn_id=self.recipients_file_conn_id)
        return path

    def execute(self, context: Context) -> dict[str, Any]:
        """Validate, send in chunks, and return the JSON summary."""
        with frozen_heap():
            return send_campaign(self, context)


__all__ = ["CANCELLED_STATUSES", "TwinCancelMessagesOperator", "TwinSendMessagesOperator"]
