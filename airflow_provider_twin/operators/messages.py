"""Operators that send campaign steps through TWIN and cancel delayed messages.

* :class:`TwinSendMessagesOperator` sends to any number of recipients, exactly once across
  Airflow retries, and returns a compact JSON summary (bulk ids, counts, rejected items).
* :class:`TwinCancelMessagesOperator` cancels delayed messages by message, bulk, group or
  flow ids; the send operator's summary plugs in directly (``send.output["bulk_ids"]``).

Composition and validation live in :mod:`airflow_provider_twin.client.compose` and the
chunked, exactly-once sending in :mod:`airflow_provider_twin.client.bulk`; these operators
resolve Airflow inputs, run them, and turn errors into the right Airflow outcome.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import os
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_twin.client import notify
from airflow_provider_twin.client.core.calls import comma_list
from airflow_provider_twin.client.core.errors import (
    TwinAuthError,
    TwinConfigError,
    TwinError,
    TwinInputError,
    TwinValidationError,
)
from airflow_provider_twin.client.messages.bulk import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_SETTLE_SECONDS,
    BulkSender,
    BulkSendError,
    Progress,
    SendReport,
    bulk_id_for,
)
from airflow_provider_twin.client.messages.compose import MessageSpec, Problems, compile_spec, format_send_at
from airflow_provider_twin.client.messages.sources import (
    DestinationSource,
    MessageList,
    RecipientFile,
    RecipientList,
)
from airflow_provider_twin.hooks.twin import TwinHook

if TYPE_CHECKING:
    from airflow.sdk import Context

T = TypeVar("T")

#: Statuses TWIN gives a message it cancelled (twin-api.md §7.1-§7.2; both spellings accepted).
CANCELLED_STATUSES = frozenset({"CANCELLED", "CANCELED"})

#: Settings that apply to ``recipients``/``recipients_file`` sends, not to raw ``messages``.
_SHARED_SETTINGS = (
    "channels",
    "text",
    "template_id",
    "variables",
    "send_at",
    "allowed_time_ranges",
    "use_short_links",
    "validity_period",
    "callback_url",
    "callback_data",
    "group_id",
)


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion from synchronous code.

    Airflow runs ``execute`` synchronously, so ``asyncio.run`` is the normal path; if an event
    loop already runs in this thread (some test harnesses), a helper thread runs it instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the garbage collector off the objects that exist before a large send.

    Validating and sending a big campaign allocates millions of short-lived objects, and every
    full collection would also walk the whole already-loaded Airflow heap: a third of the
    validation time. ``gc.freeze`` sets the existing objects aside (they are not garbage) and
    ``gc.unfreeze`` puts them back; the collector keeps working for everything new. When the
    process already froze objects itself (a pre-fork optimisation), it is left alone.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def problems_message(error: TwinInputError) -> str:
    """The failure text for invalid input: what is wrong, first 20 problems, then a count."""
    head = str(error).split("\n", 1)[0]
    if not error.problems:
        return head
    return head + "\n" + "\n".join(f"- {problem}" for problem in error.problems)


def _threshold(value: bool | float) -> float | None:
    """The rejected share above which the task fails, or None to never fail."""
    if value is True:
        return 0.0
    if value is False or value is None:
        return None
    return float(value)


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

    :param messages: raw TWIN message objects (list, XComArg or JSON string).
    :param recipients: recipients as dicts with ``phone``, ``email``, ``clientId``,
        ``externalId``, ``messengerUserId``, ``pushRegistrationId``, ``platform``,
        ``variables`` and/or ``var_<name>`` keys (a bare string is a phone or an e-mail).
    :param recipients_file: a CSV or JSON Lines file of recipients (local path, or a URL such as
        ``s3://bucket/key.csv`` read through ObjectStoragePath); streamed, never loaded whole.
        Format: see ``airflow_provider_twin.client.recipients``.
    :param recipients_file_format: ``csv`` or ``jsonl``; default from the file name.
    :param recipients_file_conn_id: connection for a ``recipients_file`` URL (e.g. ``aws_default``).
    :param channels: ordered mapping channel -> channel fields; the order is TWIN's fallback
        order; ``{"required": True}`` in a channel sends through it even after an earlier one
        delivered. Channels: sms, email, push, whatsapp, viber, telegram, vkontakte,
        odnoklassniki, chat. A list of names is shorthand for channels without fields.
    :param text: message text for every channel without its own ``text``.
    :param template_id: a stored TWIN template (UUID) instead of ``text``.
    :param variables: template variables shared by all recipients (each recipient's win).
    :param send_at: delayed send time: timezone-aware datetime, pendulum or ISO-8601 string
        (naive is an error). Until then the messages can be cancelled.
    :param allowed_time_ranges: send windows, ``[["09:00:00", "21:00:00"], ...]``.
    :param use_short_links: let TWIN shorten links in SMS.
    :param validity_period: minutes (1-2880) a message may wait for delivery.
    :param callback_url: URL TWIN posts status changes to.
    :param callback_data: string (or object, sent as JSON) echoed in every callback.
    :param group_id: TWIN group id (UUID) of all messages; default: a deterministic id derived
        from the task instance, the same on every try.
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
        "skipped_chunks", "chunks", "per_channel", "rejected_items", "rejected_items_truncated",
        "message_ids", "message_ids_truncated", "timing"}``; ``multiple_outputs`` is on by
        default, so every key is also an XCom of its own (``send.output["bulk_ids"]``).
    """

    template_fields: Sequence[str] = (
        "messages",
        "recipients",
        "recipients_file",
        "channels",
        "text",
        "template_id",
        "variables",
        "send_at",
        "allowed_time_ranges",
        "use_short_links",
        "validity_period",
        "callback_url",
        "callback_data",
        "group_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "messages": "json",
        "recipients": "json",
        "channels": "json",
        "variables": "json",
        "allowed_time_ranges": "json",
        "callback_data": "json",
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
        group_id: str | None = None,
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
        given = [
            name for name, value in (("messages", messages), ("recipients", recipients)) if value is not None
        ]
        if recipients_file is not None:
            given.append("recipients_file")
        if len(given) != 1:
            raise ValueError(
                f"{type(self).__name__} needs exactly one of messages, recipients or recipients_file"
                + (f"; got {', '.join(given)}" if given else "")
            )
        self.messages = messages
        self.recipients = recipients
        self.recipients_file = recipients_file
        self.recipients_file_format = recipients_file_format
        self.recipients_file_conn_id = recipients_file_conn_id
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
        self.group_id = group_id
        if messages is not None:
            shared = [name for name in _SHARED_SETTINGS if getattr(self, name) is not None]
            if shared:
                raise ValueError(
                    f"{', '.join(shared)} apply to recipients sends; with raw messages, put them "
                    "in each message object"
                )
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if max_requests_per_second is not None and max_requests_per_second <= 0:
            raise ValueError("max_requests_per_second must be positive (or None for no limit)")
        threshold = _threshold(fail_on_rejected)
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError("fail_on_rejected must be a bool or a share between 0 and 1")
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
        self,
        content: Any,
        context: Context,
        jinja_env: Any = None,
        seen_oids: set[int] | None = None,
    ) -> Any:
        """Render templates, skipping strings that hold no template syntax.

        Airflow compiles every string of a templated collection; for a list of 100,000
        recipients that costs far more than sending them. A string without ``{`` renders to
        itself, so it is returned as is.
        """
        if isinstance(content, str) and "{" not in content:
            return content
        return super().render_template(content, context, jinja_env, seen_oids)

    # -- input -----------------------------------------------------------------------------------
    def _group_id(self, identity: tuple[str, str, str, int]) -> str:
        if self.group_id:
            return str(self.group_id)
        return bulk_id_for(*identity, "group")

    def _spec(self, group_id: str) -> MessageSpec:
        return MessageSpec(
            channels=self.channels,
            text=self.text,
            template_id=self.template_id,
            variables=self.variables,
            send_at=self.send_at,
            allowed_time_ranges=self.allowed_time_ranges,
            use_short_links=self.use_short_links,
            validity_period=self.validity_period,
            callback_url=self.callback_url,
            callback_data=self.callback_data,
            group_id=group_id,
        )

    def _file_source(self) -> Any:
        path = self.recipients_file
        if isinstance(path, str) and "://" in path:
            from airflow.sdk import ObjectStoragePath  # noqa: PLC0415 - only for remote files

            return ObjectStoragePath(path, conn_id=self.recipients_file_conn_id)
        return path

    def prepare(self, identity: tuple[str, str, str, int]) -> tuple[DestinationSource, str | None]:
        """Validate every input and return the destination source and the group id.

        :raises TwinInputError: listing the problems (first 20, then a count).
        """
        if self.messages is not None:
            source: DestinationSource = MessageList(self.messages)
            group_id = None
        else:
            group_id = self._group_id(identity)
            campaign = compile_spec(self._spec(group_id))
            if self.recipients is not None:
                source = RecipientList(campaign, self.recipients)
            else:
                source = RecipientFile(campaign, self._file_source(), self.recipients_file_format)
        problems = Problems()
        source.validate(problems)
        if problems:
            raise problems.error("messages" if self.messages is not None else "recipients")
        if isinstance(source, MessageList):
            group_id = source.group_id
        return source, group_id

    # -- run -------------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        """Validate, send in chunks, and return the JSON summary."""
        with frozen_heap():
            return self._execute(context)

    def _execute(self, context: Context) -> dict[str, Any]:
        ti = context["ti"]
        dag_run = context["dag_run"]
        map_index = getattr(ti, "map_index", -1)
        map_index = -1 if map_index is None else int(map_index)
        identity = (self.dag_id, str(dag_run.run_id), self.task_id, map_index)
        try_number = int(getattr(ti, "try_number", 1) or 1)

        started = time.monotonic()
        try:
            source, group_id = self.prepare(identity)
        except TwinInputError as exc:
            raise AirflowFailException(problems_message(exc)) from None
        validated = time.monotonic()
        self.log.info("Validated %d recipient(s) in %.2f s", source.total, validated - started)
        self._warn_past_send_at()

        check_existing = self.check_existing if self.check_existing is not None else try_number > 1
        report = SendReport(
            total=source.total,
            group_id=group_id,
            own_group=self.messages is None and not self.group_id,
            max_message_ids=self.max_message_ids_in_xcom,
            max_rejected_items=self.max_rejected_items_in_xcom,
            redact=self.redact_rejected,
        )
        chunk_count = -(-source.total // self.batch_size)
        self.log.info(
            "Sending %d recipient(s) in %d chunk(s) of up to %d, %d in flight%s%s",
            source.total,
            chunk_count,
            self.batch_size,
            self.max_in_flight,
            f", at most {self.max_requests_per_second}/s" if self.max_requests_per_second else "",
            f"; try {try_number}: chunks TWIN already holds are skipped" if check_existing else "",
        )

        def bulk_id(chunk_index: int) -> str:
            return bulk_id_for(*identity, chunk_index)

        try:
            run_coroutine(self._send(source, report, bulk_id, check_existing))
        except BulkSendError as exc:
            self._fail_send(exc)
        except TwinError as exc:
            raise self._airflow_error(exc) from exc

        report.validation_seconds = validated - started
        report.send_seconds = time.monotonic() - validated
        summary = report.summary()
        self._log_result(report, summary)
        threshold = _threshold(self.fail_on_rejected)
        judged = report.accepted + report.rejected
        if threshold is not None and judged and report.rejected / judged > threshold:
            ti.xcom_push(key="summary", value=summary)
            raise AirflowFailException(
                f"TWIN rejected {report.rejected} of {judged} message(s) "
                f"({100.0 * report.rejected / judged:.1f}%), above fail_on_rejected={self.fail_on_rejected}; "
                "the rest were sent. The summary is in XCom under the key 'summary'."
            )
        return summary

    async def _send(
        self, source: DestinationSource, report: SendReport, bulk_id: Callable[[int], str], check: bool
    ) -> None:
        hook = TwinHook(twin_conn_id=self.twin_conn_id)
        try:
            client = await hook.get_async_client()
            sender = BulkSender(
                client,
                max_in_flight=self.max_in_flight,
                max_requests_per_second=self.max_requests_per_second,
                check_existing=check,
                settle_seconds=self.settle_seconds,
                progress=self._log_progress,
                progress_interval=self.progress_interval,
            )
            await sender.run(source.chunks(self.batch_size, bulk_id), report)
        finally:
            await hook.aclose()

    def _log_progress(self, progress: Progress) -> None:
        self.log.info("TWIN send: %s", progress.describe())

    def _warn_past_send_at(self) -> None:
        if self.send_at is None or self.send_at == "":
            return
        iso, _ = format_send_at(self.send_at)
        if iso and datetime.fromisoformat(iso) < datetime.now().astimezone():
            self.log.warning("send_at %s is in the past: TWIN sends the messages right away", iso)

    def _log_result(self, report: SendReport, summary: dict[str, Any]) -> None:
        self.log.info(
            "TWIN accepted %d and rejected %d of %d recipient(s); %d chunk(s) (%d recipients) TWIN "
            "already held (an earlier try, or an answer lost on the way) were not sent again; "
            "per channel: %s",
            report.accepted,
            report.rejected,
            report.total,
            report.skipped_chunks,
            report.skipped,
            summary["per_channel"] or "-",
        )
        for item in report.rejected_items[:20]:
            self.log.warning(
                "rejected: recipient %s %s: %s", item["index"], item["destination"], item["error"]
            )
        if report.rejected > 20:
            self.log.warning("... and %d more rejected item(s)", report.rejected - 20)
        if report.mismatched_answers:
            self.log.warning(
                "%d chunk answer(s) did not hold one item per destination; rejected items of those "
                "chunks are reported without recipient index",
                report.mismatched_answers,
            )

    @staticmethod
    def _airflow_error(exc: TwinError) -> AirflowException:
        """Errors a retry cannot fix fail the task for good; the others let Airflow retry.

        For good: invalid input, a broken connection configuration, TWIN refusing the request
        as invalid (400/422) or the credentials (401/403 after a token renewal). Retryable:
        rate limits, server and network errors beyond the retry budget.
        """
        if isinstance(exc, TwinInputError):
            return AirflowFailException(problems_message(exc))
        if isinstance(exc, (TwinConfigError, TwinValidationError, TwinAuthError)):
            return AirflowFailException(str(exc))
        return AirflowException(str(exc))

    def _fail_send(self, exc: BulkSendError) -> None:
        report = exc.report
        cause = exc.__cause__
        self.log.error(
            "TWIN send stopped: %d of %d recipient(s) in %d chunk(s) were handled before the failure "
            "(accepted %d, rejected %d, skipped %d); a retry of this task skips the chunks TWIN holds",
            report.done,
            report.total,
            report.chunks_done,
            report.accepted,
            report.rejected,
            report.skipped,
        )
        if isinstance(cause, TwinError):
            raise self._airflow_error(cause) from cause
        raise AirflowException(str(exc)) from cause


def _id_list(value: Any, name: str) -> list[str]:
    """Ids given as one id, a comma-separated string, a JSON list string or any iterable."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json  # noqa: PLC0415 - rare path

            try:
                value = json.loads(text)
            except ValueError:
                raise AirflowFailException(f"{name}: {text[:60]!r} is not a JSON list") from None
        else:
            return comma_list(text)
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise AirflowFailException(f"{name}: expected ids as a list or a string, got {type(value).__name__}")
    ids: list[str] = []
    for item in value:
        if not isinstance(item, (str, int)) or isinstance(item, bool):
            raise AirflowFailException(f"{name}: ids must be strings, got {type(item).__name__}")
        ids.extend(comma_list(str(item)))
    return ids


def _batches(ids: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class TwinCancelMessagesOperator(BaseOperator):
    """Cancel delayed TWIN messages (those whose ``send_at`` or time window is still ahead).

    Cancelling is idempotent: a message already cancelled or already sent is not an error, it
    is counted as cancelled or as not cancellable. Ids of each kind are sent in requests of at
    most ``max_ids_per_request``; kinds are cancelled separately (TWIN combines the filters of
    one request with AND), so giving ``bulk_ids`` and ``group_ids`` cancels the union.

    :param message_ids: message ids.
    :param bulk_ids: bulk (batch) ids, e.g. ``send.output["bulk_ids"]`` of a send task.
    :param group_ids: group ids, e.g. ``send.output["group_id"]``.
    :param flow_ids: flow ids (one recipient's fallback chain).
    :param fail_if_nothing_cancelled: fail the task when no message ended up cancelled.
    :param max_ids_per_request: ids per request (default 100).
    :param max_message_ids_in_xcom: cap of cancelled message ids in the result (default 1000).
    :param twin_conn_id: the ``twin`` connection.
    :return: (XCom) ``{"requested", "requests", "matched", "cancelled", "not_cancellable",
        "statuses", "errors", "cancelled_message_ids", "cancelled_message_ids_truncated"}``.
    """

    template_fields: Sequence[str] = ("message_ids", "bulk_ids", "group_ids", "flow_ids")
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "message_ids": "json",
        "bulk_ids": "json",
        "group_ids": "json",
        "flow_ids": "json",
    }
    ui_color = "#fbe9e3"

    def __init__(
        self,
        *,
        message_ids: Any = None,
        bulk_ids: Any = None,
        group_ids: Any = None,
        flow_ids: Any = None,
        fail_if_nothing_cancelled: bool = False,
        max_ids_per_request: int = 100,
        max_message_ids_in_xcom: int = 1000,
        twin_conn_id: str = TwinHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if all(value is None for value in (message_ids, bulk_ids, group_ids, flow_ids)):
            raise ValueError(f"{type(self).__name__} needs message_ids, bulk_ids, group_ids or flow_ids")
        if max_ids_per_request < 1:
            raise ValueError("max_ids_per_request must be at least 1")
        self.message_ids = message_ids
        self.bulk_ids = bulk_ids
        self.group_ids = group_ids
        self.flow_ids = flow_ids
        self.fail_if_nothing_cancelled = fail_if_nothing_cancelled
        self.max_ids_per_request = max_ids_per_request
        self.max_message_ids_in_xcom = max_message_ids_in_xcom
        self.twin_conn_id = twin_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        """Cancel every matching delayed message and report what happened."""
        requested = {
            "ids": list(dict.fromkeys(_id_list(self.message_ids, "message_ids"))),
            "bulk_ids": list(dict.fromkeys(_id_list(self.bulk_ids, "bulk_ids"))),
            "group_ids": list(dict.fromkeys(_id_list(self.group_ids, "group_ids"))),
            "flow_ids": list(dict.fromkeys(_id_list(self.flow_ids, "flow_ids"))),
        }
        kinds = [kind for kind, ids in requested.items() if ids]
        statuses: Counter[str] = Counter()
        errors: list[dict[str, Any]] = []
        cancelled_ids: list[str] = []
        seen: set[str] | None = set() if len(kinds) > 1 else None
        requests = matched = cancelled = 0
        truncated = False
        if not kinds:
            self.log.warning("No ids to cancel: every id list is empty")
        hook = TwinHook(twin_conn_id=self.twin_conn_id)
        try:
            client = hook.get_client() if kinds else None
            for kind in kinds:
                for batch in _batches(requested[kind], self.max_ids_per_request):
                    assert client is not None
                    try:
                        items = client.send(notify.cancel_messages(**{kind: batch}))
                    except TwinError as exc:
                        raise TwinSendMessagesOperator._airflow_error(exc) from exc
                    requests += 1
                    for item in items:
                        item_id = item.get("id")
                        if seen is not None and item_id:
                            if item_id in seen:
                                continue
                            seen.add(item_id)
                        matched += 1
                        status = str(item.get("status") or "UNKNOWN").upper()
                        statuses[status] += 1
                        if item.get("error"):
                            if len(errors) < 100:
                                errors.append({"id": item_id, "status": status, "error": item["error"]})
                        elif status in CANCELLED_STATUSES:
                            cancelled += 1
                            if item_id and len(cancelled_ids) < self.max_message_ids_in_xcom:
                                cancelled_ids.append(item_id)
                            elif item_id:
                                truncated = True
        finally:
            hook.close()
        result = {
            "requested": {
                "message_ids": len(requested["ids"]),
                "bulk_ids": len(requested["bulk_ids"]),
                "group_ids": len(requested["group_ids"]),
                "flow_ids": len(requested["flow_ids"]),
            },
            "requests": requests,
            "matched": matched,
            "cancelled": cancelled,
            "not_cancellable": matched - cancelled,
            "statuses": dict(sorted(statuses.items())),
            "errors": errors,
            "cancelled_message_ids": cancelled_ids,
            "cancelled_message_ids_truncated": truncated,
        }
        self.log.info(
            "TWIN cancel: %d message(s) matched, %d cancelled, %d not cancellable (already sent or "
            "final); statuses %s",
            matched,
            cancelled,
            matched - cancelled,
            result["statuses"] or "-",
        )
        if self.fail_if_nothing_cancelled and cancelled == 0:
            raise AirflowFailException(
                f"nothing was cancelled: {matched} message(s) matched, none of them still cancellable"
            )
        return result


__all__ = ["CANCELLED_STATUSES", "TwinCancelMessagesOperator", "TwinSendMessagesOperator"]
