"""What the notifier logs about a notification: sent, already sent, refused, or not sent."""

from __future__ import annotations

from typing import Any

from airflow_provider_twin.client.messages import Creation, NotificationPlan, truncate
from airflow_provider_twin.notifications.event import CallbackEvent

#: How much of a message a "not sent" log line quotes.
LOGGED_TEXT_LENGTH = 300


def log_delivery(log: Any, event: CallbackEvent, plan: NotificationPlan, creation: Creation) -> None:
    """Log a notification TWIN holds: sent now, or sent before by a repetition of the event."""
    if creation.status == "already_sent":
        held = "already exists" if creation.existing is None else f"holds {creation.existing} message(s)"
        log.info(
            "TWIN notification for %s was already sent (bulkId %s %s); not sending it again",
            event.describe(),
            creation.bulk_id,
            held,
        )
        return
    confirmed = "; the answer was lost, TWIN confirmed the bulkId" if creation.status == "confirmed" else ""
    log.info(
        "TWIN notification sent for %s: %d recipient(s) via %s (bulkId %s, attempt %d%s)",
        event.describe(),
        plan.recipients,
        " -> ".join(plan.channels),
        creation.bulk_id,
        creation.attempts,
        confirmed,
    )
    rejected = creation.rejected
    if rejected:
        first = rejected[0].get("error") or {}
        log.warning(
            "TWIN refused %d of %d recipient(s) of the notification (bulkId %s): %s",
            len(rejected),
            len(creation.items),
            creation.bulk_id,
            first.get("message", "no reason given"),
        )


def log_not_sent(
    log: Any,
    event: CallbackEvent,
    error: BaseException,
    plan: NotificationPlan | None,
) -> None:
    """Log a notification that could not be sent, quoting its message when it was built."""
    reason = str(error) or type(error).__name__
    quoted = f" Message: {truncate(plan.preview, LOGGED_TEXT_LENGTH)!r}" if plan else ""
    log.error(
        "TWIN notification NOT sent for %s: %s: %s. Task and DAG states are not affected.%s",
        event.describe(),
        type(error).__name__,
        reason,
        quoted,
    )
