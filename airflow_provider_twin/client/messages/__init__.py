"""TWIN notify: send campaigns, follow their delivery, cancel delayed messages.

``api`` holds the endpoint calls (``POST/GET/DELETE /messages``), ``send_jobs_api`` those of
TWIN's send jobs (``/tasks``, run by ``send_jobs``); the other modules hold the
procedures built on them, each written once; ``status_events`` reports message statuses as
events (:class:`MessageEventFilter`, :func:`poll_message_events`).
"""

from __future__ import annotations

from airflow_provider_twin.client.core.problems import Problems
from airflow_provider_twin.client.messages.attachments import (
    FILE_FIELDS,
    AttachedFile,
    attach_files,
    attached_file,
    attachment_problems,
)
from airflow_provider_twin.client.messages.bulk import (
    DEFAULT_MAX_IN_FLIGHT,
    BulkSender,
    BulkSendError,
    TokenBucket,
)
from airflow_provider_twin.client.messages.campaign import Campaign, MessageSpec, compile_spec
from airflow_provider_twin.client.messages.cancel import (
    CANCELLED_STATUSES,
    CancelTally,
    cancel_delayed,
    read_cancel_targets,
)
from airflow_provider_twin.client.messages.check_failures import (
    DEFAULT_AUTH_FAILURE_LIMIT,
    CheckFailures,
)
from airflow_provider_twin.client.messages.chunks import DEFAULT_BATCH_SIZE, Chunk, bulk_id_for
from airflow_provider_twin.client.messages.create_once import (
    DEFAULT_SETTLE_SECONDS,
    CreateOnceBudget,
    Creation,
    create_once,
)
from airflow_provider_twin.client.messages.failed_destinations import (
    scan_failed_destinations,
    with_failed_destinations,
)
from airflow_provider_twin.client.messages.held import HELD_STATUS, HeldMessages, local_zone, moment_text
from airflow_provider_twin.client.messages.notification import (
    NotificationPlan,
    limit_problems,
    notification_bulk_id,
    plan_notification,
    recipient_list,
    settings_fingerprint,
    settings_problems,
)
from airflow_provider_twin.client.messages.send_jobs import (
    FINAL_JOB_STATUSES,
    SendJobPlan,
    SendJobProgress,
    SendJobSummary,
    control_send_job,
    find_send_job,
    found_job_warning,
    job_name,
    plan_send_job,
    read_send_job,
    start_send_job,
    time_ranges_problems,
)
from airflow_provider_twin.client.messages.send_plan import (
    SHARED_SETTINGS,
    SendPlan,
    check_send_arguments,
    frozen_heap,
    plan_send,
    rejected_threshold,
    run_coroutine,
)
from airflow_provider_twin.client.messages.send_report import SendProgress, SendReport, redact_destination
from airflow_provider_twin.client.messages.send_windows import past_send_at
from airflow_provider_twin.client.messages.status import ProgressNews, check_delivery, delivery_breakdown
from airflow_provider_twin.client.messages.status_events import (
    MessageEventFilter,
    message_events,
    message_status_event,
    poll_message_events,
)
from airflow_provider_twin.client.messages.status_webhooks import status_webhook_event
from airflow_provider_twin.client.messages.targets import TARGET_KINDS, Targets, read_ids
from airflow_provider_twin.client.messages.templates import (
    TemplateData,
    TemplateDeletion,
    TemplatePage,
    TemplateUpsert,
    create_template,
    delete_template,
    find_template,
    get_template,
    list_templates,
    remove_template,
    template_body,
    template_variables,
    update_template,
    upsert_template,
)
from airflow_provider_twin.client.messages.text_fitting import DEFAULT_MAX_LENGTH, DEFAULT_SMS_PARTS, truncate
from airflow_provider_twin.client.messages.verdict import (
    FAILURE_STATUSES,
    SUCCESS_STATUSES,
    Criteria,
    DeliveryProgress,
)

__all__ = [
    "CANCELLED_STATUSES",
    "DEFAULT_AUTH_FAILURE_LIMIT",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_SETTLE_SECONDS",
    "DEFAULT_SMS_PARTS",
    "FAILURE_STATUSES",
    "FILE_FIELDS",
    "FINAL_JOB_STATUSES",
    "HELD_STATUS",
    "SHARED_SETTINGS",
    "SUCCESS_STATUSES",
    "TARGET_KINDS",
    "AttachedFile",
    "BulkSendError",
    "BulkSender",
    "Campaign",
    "CancelTally",
    "CheckFailures",
    "Chunk",
    "CreateOnceBudget",
    "Creation",
    "Criteria",
    "DeliveryProgress",
    "HeldMessages",
    "MessageEventFilter",
    "MessageSpec",
    "NotificationPlan",
    "Problems",
    "ProgressNews",
    "SendJobPlan",
    "SendJobProgress",
    "SendJobSummary",
    "SendPlan",
    "SendProgress",
    "SendReport",
    "Targets",
    "TemplateData",
    "TemplateDeletion",
    "TemplatePage",
    "TemplateUpsert",
    "TokenBucket",
    "attach_files",
    "attached_file",
    "attachment_problems",
    "bulk_id_for",
    "cancel_delayed",
    "check_delivery",
    "check_send_arguments",
    "compile_spec",
    "control_send_job",
    "create_once",
    "create_template",
    "delete_template",
    "delivery_breakdown",
    "find_send_job",
    "find_template",
    "found_job_warning",
    "frozen_heap",
    "get_template",
    "job_name",
    "limit_problems",
    "list_templates",
    "local_zone",
    "message_events",
    "message_status_event",
    "moment_text",
    "notification_bulk_id",
    "past_send_at",
    "plan_notification",
    "plan_send",
    "plan_send_job",
    "poll_message_events",
    "read_cancel_targets",
    "read_ids",
    "read_send_job",
    "recipient_list",
    "redact_destination",
    "rejected_threshold",
    "remove_template",
    "run_coroutine",
    "scan_failed_destinations",
    "settings_fingerprint",
    "settings_problems",
    "start_send_job",
    "status_webhook_event",
    "template_body",
    "template_variables",
    "time_ranges_problems",
    "truncate",
    "update_template",
    "upsert_template",
    "with_failed_destinations",
]
