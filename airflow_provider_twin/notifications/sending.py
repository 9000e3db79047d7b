"""How a notifier reaches TWIN: a client with short timeouts, its tokens masked, and the
create-once procedure of :mod:`airflow_provider_twin.client.messages` run within the
notifier's attempts; whatever happens is logged, never raised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_twin.client import AsyncTwinClient, RetryPolicy, TwinClient, TwinClientConfig
from airflow_provider_twin.client.messages import NotificationPlan
from airflow_provider_twin.hooks.connection import client_config
from airflow_provider_twin.hooks.secret_masking import connection_secrets, mask_secret, mask_secret_locally
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.notifications.delivery_log import log_delivery, log_not_sent
from airflow_provider_twin.notifications.event import CallbackEvent, callback_event

if TYPE_CHECKING:
    from airflow_provider_twin.notifications.twin import TwinNotifier


def safe_event(context: Any) -> CallbackEvent:
    """The callback's event; a placeholder when the context cannot be read at all."""
    try:
        return callback_event(context if isinstance(context, Mapping) else {})
    except Exception:  # noqa: BLE001 - only used to describe the notification in logs
        return CallbackEvent(scope="unknown", kind="notified", event="notified")


def notify_callback(notifier: TwinNotifier, context: Any) -> None:
    """Render ``notifier`` for a callback's ``context`` and send with a sync client."""
    try:
        rendered = notifier.rendered(context)
    except Exception as exc:  # noqa: BLE001 - a notifier must never fail its caller
        log_not_sent(notifier.log, safe_event(context), exc, None)
        return
    rendered.notify(context)


async def notify_callback_async(notifier: TwinNotifier, context: Any) -> None:
    """Render ``notifier`` for a callback's ``context`` and send from an event loop."""
    try:
        rendered = notifier.rendered(context)
    except Exception as exc:  # noqa: BLE001 - a notifier must never fail its caller
        log_not_sent(notifier.log, safe_event(context), exc, None)
        return
    await rendered.async_notify(context)


def notifier_config(notifier: TwinNotifier, config: TwinClientConfig) -> TwinClientConfig:
    """The connection's client settings with the notifier's short timeouts.

    The client itself does not retry (one attempt per request): the procedure owns the
    attempts, so the total stays bounded by ``max_attempts``.
    """
    return dataclasses.replace(
        config,
        connect_timeout=float(notifier.connect_timeout),
        read_timeout=float(notifier.read_timeout),
        retry=RetryPolicy(max_attempts=1),
        max_connections=2,
    )


def deliver(notifier: TwinNotifier, event: CallbackEvent) -> None:
    """Send ``notifier``'s (rendered) notification for ``event`` with a sync client."""
    plan: NotificationPlan | None = None
    try:
        config = notifier_config(notifier, TwinHook(twin_conn_id=notifier.twin_conn_id).client_config)
        plan = notifier.plan(event, connection_secrets(config))
        with TwinClient(config) as client:
            client.engine.on_new_token = mask_secret
            creation = client.run(plan.procedure(notifier.max_attempts))
    except Exception as exc:  # noqa: BLE001 - a notifier must never fail its caller
        log_not_sent(notifier.log, event, exc, plan)
        return
    log_delivery(notifier.log, event, plan, creation)


async def deliver_async(notifier: TwinNotifier, event: CallbackEvent) -> None:
    """Send ``notifier``'s (rendered) notification for ``event`` from an event loop."""
    plan: NotificationPlan | None = None
    try:
        conn = await TwinHook(twin_conn_id=notifier.twin_conn_id).aget_connection(notifier.twin_conn_id)
        config = notifier_config(notifier, client_config(conn))
        plan = notifier.plan(event, connection_secrets(config))
        async with AsyncTwinClient(config) as client:
            # Telling the supervisor about a token blocks: not inside the event loop.
            client.engine.on_new_token = mask_secret_locally
            creation = await client.run(plan.procedure(notifier.max_attempts))
    except Exception as exc:  # noqa: BLE001 - a notifier must never fail its caller
        log_not_sent(notifier.log, event, exc, plan)
        return
    log_delivery(notifier.log, event, plan, creation)
