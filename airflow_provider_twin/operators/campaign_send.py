"""What the send operator does when it runs: plan, send in chunks, report, and end the task right.

The operator (:mod:`.messages`) owns its arguments; this is its ``execute``: Airflow's side of
a send (the task instance's identity and try, the hook's client, the task log, XCom and the
Airflow outcome) around the plan and the sender of :mod:`airflow_provider_twin.client.messages`.
"""

from __future__ import annotations

import functools
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_twin.client import (
    CampaignChatSessions,
    CampaignSessionsSummary,
    TwinError,
)
from airflow_provider_twin.client.messages import (
    BulkSender,
    BulkSendError,
    SendPlan,
    SendReport,
    past_send_at,
    plan_send,
    rejected_threshold,
    run_coroutine,
)
from airflow_provider_twin.hooks.secret_masking import mask_secret
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.failures import airflow_error, twin_calls_of_task
from airflow_provider_twin.operators.message_attachments import with_attachments

#: Most bulk ids an asset event's extra lists (a million recipients make a thousand bulks).
MAX_BULK_IDS_IN_EXTRA = 100

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_twin.operators.messages import TwinSendMessagesOperator


def send_campaign(op: TwinSendMessagesOperator, context: Context) -> dict[str, Any]:
    """Validate ``op``'s input, send it exactly once, and return the JSON summary.

    :raises AirflowFailException: invalid input, or a failure a retry cannot fix; too many
        rejected messages for ``fail_on_rejected`` (the summary then goes to XCom as
        ``summary``).
    :raises AirflowException: a failure a retry of the task may overcome.
    """
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    run_id = str(context["dag_run"].run_id)
    identity = (op.dag_id, run_id, op.task_id, -1 if map_index is None else int(map_index))
    try_number = int(getattr(ti, "try_number", 1) or 1)
    started = time.monotonic()
    # A template_id is looked up (one GET) once the settings are valid: it must exist, and
    # every recipient needs a value for each of its variables, before anything is sent.
    hook = TwinHook(twin_conn_id=op.twin_conn_id)
    find_template = functools.lru_cache(maxsize=4)(hook.get_template)  # one GET for both checks
    with twin_calls_of_task(hook):
        plan = plan_send(
            identity,
            with_attachments(op, identity, _settings(op), find_template),
            messages=op.messages,
            recipients=op.recipients,
            recipients_file=op.file_source(),
            file_format=op.recipients_file_format,
            deduplicate=op.deduplicate,
            find_template=find_template,
        )
    validated = time.monotonic()
    op.log.info("Validated %d recipient(s) in %.2f s", plan.total, validated - started)
    if plan.merged:
        op.log.warning(
            "%d recipient(s) merged: their address, once normalised, repeats an earlier recipient's; "
            "each address is sent once (deduplicate=False sends every one)",
            plan.merged,
        )
    past = past_send_at(op.send_at)
    if past:
        op.log.warning("send_at %s is in the past: TWIN sends the messages right away", past)
    check = op.check_existing if op.check_existing is not None else try_number > 1
    report = plan.report(
        max_message_ids=op.max_message_ids_in_xcom,
        max_rejected_items=op.max_rejected_items_in_xcom,
        redact=op.redact_rejected,
    )
    op.log.info(
        "Sending %d recipient(s) in %d chunk(s) of up to %d, %d in flight%s%s",
        plan.total,
        -(-plan.total // op.batch_size),
        op.batch_size,
        op.max_in_flight,
        f", at most {op.max_requests_per_second}/s" if op.max_requests_per_second else "",
        f"; try {try_number}: chunks TWIN already holds are skipped" if check else "",
    )
    try:
        found = run_coroutine(_send(op, plan, report, check, _run_start(context)))
    except BulkSendError as exc:
        op.log.error("%s", exc.report.stop_line())
        cause = exc.__cause__
        raise (
            airflow_error(cause) if isinstance(cause, TwinError) else AirflowException(str(exc))
        ) from cause
    except TwinError as exc:
        raise airflow_error(exc) from exc
    report.validation_seconds = validated - started
    report.send_seconds = time.monotonic() - validated
    summary = {**report.summary(), "duplicates_merged": plan.merged, **_chat_keys(op, found)}
    op.log.info("%s", report.result_line())
    for line in report.warning_lines():
        op.log.warning("%s", line)
    rejected = report.rejected_beyond(rejected_threshold(op.fail_on_rejected))
    if rejected:
        ti.xcom_push(key="summary", value=summary)
        raise AirflowFailException(
            f"{rejected}, above fail_on_rejected={op.fail_on_rejected}; the rest were sent. "
            "The summary is in XCom under the key 'summary'."
        )
    _record_outlets(op, context, summary)
    return summary


def _settings(op: TwinSendMessagesOperator) -> dict[str, Any]:
    """The shared settings, with the ``callbackUrl`` of ``webhook_asset`` when no URL is given."""
    settings = op.shared_settings()
    if op.webhook_asset:
        if settings.get("callback_url"):
            op.log.warning("callback_url is given: TWIN's webhooks go there, not to %s", op.webhook_asset)
        else:
            from airflow_provider_twin.webhooks.callback_urls import callback_url  # noqa: PLC0415

            url = callback_url(op.webhook_asset)
            # The asset's token (the URL's last parameter) lets anyone post events: never in a log.
            mask_secret(url.rpartition("token=")[2])
            settings["callback_url"] = url
            op.log.info("TWIN's status webhooks become events of the asset %s", op.webhook_asset)
    return settings


def outlet_extra(summary: dict[str, Any]) -> dict[str, Any]:
    """The extra of the send's asset events: ids and counts of the summary, JSON, bounded in size.

    At most :data:`MAX_BULK_IDS_IN_EXTRA` bulk ids (``bulk_ids_truncated`` says when there are
    more); the ``group_id`` names every message of the send (e.g. for a
    :class:`~airflow_provider_twin.triggers.TwinMessageEventTrigger` or a status sensor).
    """
    bulk_ids = list(summary["bulk_ids"])
    return {
        "group_id": summary["group_id"],
        "bulk_ids": bulk_ids[:MAX_BULK_IDS_IN_EXTRA],
        "bulk_ids_truncated": len(bulk_ids) > MAX_BULK_IDS_IN_EXTRA,
        "chunks": summary["chunks"],
        **{key: summary[key] for key in ("total", "accepted", "rejected", "skipped", "duplicates_merged")},
        "per_channel": dict(summary["per_channel"]),
    }


def _record_outlets(op: TwinSendMessagesOperator, context: Context, summary: dict[str, Any]) -> None:
    """Put :func:`outlet_extra` on the asset events of the task's Asset outlets."""
    assets = [outlet for outlet in op.outlets or () if isinstance(outlet, Asset)]
    if not assets:
        return
    extra = outlet_extra(summary)
    if op.webhook_asset:
        extra["webhook_asset"] = op.webhook_asset
    for asset in assets:
        context["outlet_events"][asset].extra.update(extra)


def _run_start(context: Context) -> float:
    """When the DAG run began: the sessions an earlier try's chunks opened count too."""
    started = getattr(context["dag_run"], "start_date", None)
    return min(started.timestamp(), time.time()) if isinstance(started, datetime) else time.time()


def _chat_keys(op: TwinSendMessagesOperator, found: CampaignSessionsSummary | None) -> dict[str, Any]:
    """The summary's ``chat_sessions`` and ``chat_session_ids`` (a send with a chat channel only)."""
    if found is None:
        return {}
    op.log.info("TWIN chat: %s", found["note"])
    return {"chat_sessions": found, "chat_session_ids": [entry["session_id"] for entry in found["sessions"]]}


async def _send(
    op: TwinSendMessagesOperator, plan: SendPlan, report: SendReport, check: bool, since: float
) -> CampaignSessionsSummary | None:
    """Send the chunks; then, when a chat channel was sent, find the sessions it opened (TWIN's
    answer names none, twin-api.md §3.2.8), up to the send summary's id cap."""
    chats = CampaignChatSessions(since=since, limit=op.max_message_ids_in_xcom)
    hook = TwinHook(twin_conn_id=op.twin_conn_id)
    try:
        sender = BulkSender(
            await hook.get_async_client(),
            max_in_flight=op.max_in_flight,
            max_requests_per_second=op.max_requests_per_second,
            check_existing=check,
            settle_seconds=op.settle_seconds,
            progress=lambda progress: op.log.info("TWIN send: %s", progress.describe()),
            progress_interval=op.progress_interval,
        )
        await sender.run(chats.watch(plan.chunks(op.batch_size)), report)
        if not chats.present:
            return None
        client = await hook.get_async_client()
        return await client.run(chats.finding(rejected=report.rejected))
    finally:
        await hook.aclose()
