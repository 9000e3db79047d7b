"""Resend by SMS what Viber or WhatsApp could not deliver, as TWIN reports it.

The asset ``twin_undelivered_messenger`` has a watcher, a :class:`TwinMessageEventTrigger` in
Airflow's triggerer: every ``poll_interval`` seconds it lists the Viber and WhatsApp messages
created in the last two days (yesterday's campaign and today's) that are ``UNDELIVERED``, and
reports each one once as an asset event. The scheduler starts a run for the events that
arrived since the last one, so a campaign's failures are resent in a few runs, not one run
per message.

``undelivered_ids`` reads the run's events (``triggering_asset_events``) and drops repeats
(an event may be reported twice after a triggerer restart, with the same ``event_id``).
Events carry ids and statuses, never addresses, so ``resend_recipients`` reads each message
from TWIN (``GET /messages?id=…``, 100 ids a request) for its phone and text, and
``resend_by_sms`` sends them, once whatever the retries.

A run started by hand (the Trigger button) takes message ids from the ``message_ids`` param
instead.
"""

# Airflow's TaskFlow typing does not model an XComArg standing in for a value (arg-type)
# nor context arguments filled in at run time (call-arg).
# mypy: disable-error-code="arg-type, call-arg"

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, Param, task

from airflow_provider_twin.client import notify
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator
from airflow_provider_twin.triggers import TwinMessageEventTrigger

#: Message ids per ``GET /messages`` request (TWIN's id filter is a comma-separated list).
IDS_PER_REQUEST = 100

# [START howto_twin_resend_undelivered_watcher]
undelivered_messenger = Asset(
    "twin_undelivered_messenger",
    watchers=[
        AssetWatcher(
            name="twin_undelivered_messenger",
            trigger=TwinMessageEventTrigger(
                statuses=["UNDELIVERED"],
                channels=["viber", "whatsapp"],
                created_within_seconds=2 * 86400,  # yesterday's campaign and today's
                poll_interval=300,  # one listing per channel every five minutes
                cursor_name="resend_undelivered_messenger",  # the Variable twin_events.<name>
            ),
        )
    ],
)
# [END howto_twin_resend_undelivered_watcher]

with DAG(
    dag_id="example_twin_resend_undelivered",
    description="Resend by SMS the Viber and WhatsApp messages TWIN reports undelivered",
    schedule=[undelivered_messenger],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "twin"],
    params={
        "message_ids": Param(
            [],
            type="array",
            items={"type": "string"},
            description="For a run started by hand: TWIN message ids to resend, one a line",
        ),
    },
    doc_md=__doc__,
) as dag:
    # [START howto_twin_resend_undelivered]
    @task
    def undelivered_ids(params: dict[str, Any], triggering_asset_events: Any = None) -> list[str]:
        """The messages of this run's events, each once (repeats share an event_id)."""
        events = (triggering_asset_events or {}).get(undelivered_messenger, [])
        ids = [event.extra["payload"]["id"] for event in events] or list(params["message_ids"])
        return list(dict.fromkeys(ids))

    @task
    def resend_recipients(message_ids: list[str]) -> list[dict[str, str]]:
        """Each message's phone and text, read from TWIN (events carry no address)."""
        hook = TwinHook()
        try:
            client = hook.get_client()
            messages = []
            for start in range(0, len(message_ids), IDS_PER_REQUEST):
                chunk = message_ids[start : start + IDS_PER_REQUEST]
                messages.extend(client.send(notify.list_messages(ids=chunk, limit=len(chunk)))["items"])
        finally:
            hook.close()
        return [
            {"phone": message["destination"]["phone"], "var_text": message["message"]["text"]}
            for message in messages
            if message.get("destination", {}).get("phone") and (message.get("message") or {}).get("text")
        ]

    @task.short_circuit
    def anything_to_resend(recipients: list[dict[str, str]]) -> bool:
        """Skip the send when no message of this run can be resent by SMS (no phone, no text)."""
        return bool(recipients)

    recipients = resend_recipients(undelivered_ids())
    resend = TwinSendMessagesOperator(
        task_id="resend_by_sms",
        recipients=recipients,
        channels={"sms": {"from": "Northwind"}},
        text="{% raw %}{{text}}{% endraw %}",  # each message's own text, a TWIN variable
    )
    anything_to_resend(recipients) >> resend
    # [END howto_twin_resend_undelivered]
