"""Resend by SMS what Viber or WhatsApp could not deliver, as TWIN reports it.

The asset ``twin_undelivered_messenger`` has a watcher, a :class:`TwinMessageEventTrigger` in
Airflow's triggerer: every ``poll_interval`` seconds it lists the Viber and WhatsApp messages
created in the last two days (yesterday's campaign and today's) that are ``UNDELIVERED``, and
reports each one once as an asset event. The scheduler starts a run for the events that
arrived since the last one, so a campaign's failures are resent in a few runs, not one run
per message.

``undelivered_ids`` reads the run's events (``triggering_asset_events``) and keeps each
message once and only if no earlier run resent it: an event may be reported twice after a
triggerer restart (with the same ``event_id``), and the repeat may start a run of its own. Each
message resent gets a Variable of its own, ``twin_resend_undelivered.<messageId>`` holding when,
kept three days, longer than the watcher remembers (two days and an hour), and runs go one at
a time (``max_active_runs=1``) so each sees the ones before. Events carry ids and statuses,
never addresses, so ``resend_recipients`` reads each message from TWIN (``GET /messages?id=…``,
100 ids a request) for its phone and text, ``resend_by_sms`` sends them, once whatever the
retries, and ``remember_resent`` records them.

The limits: a task's ``Variable.get`` answers a failed read as "missing", so a failed read
resends that one message, and a crash between the send and the record could resend a run's
messages once; neither erases another message's record. On Airflow 3.3 and later the records
older than three days are deleted (each run that resent something reads them all: fine for
thousands of failures a day, a table beyond); Airflow 3.2 cannot list Variables, so there they
stay (delete ``twin_resend_undelivered.*`` now and then).

A run started by hand (the Trigger button) takes message ids from the ``message_ids`` param
instead.
"""

# Airflow's TaskFlow typing does not model an XComArg standing in for a value (arg-type)
# nor context arguments filled in at run time (call-arg).
# mypy: disable-error-code="arg-type, call-arg"

from __future__ import annotations

import time
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, Param, Variable, task

from airflow_provider_twin.client import notify
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator
from airflow_provider_twin.triggers import TwinMessageEventTrigger

#: Message ids per ``GET /messages`` request (TWIN's id filter is a comma-separated list).
IDS_PER_REQUEST = 100
#: Prefix of the Variables of the messages resent, one a message holding when, kept
#: REMEMBER_SECONDS: a failed read or write concerns one message, never the others' records.
RESENT_PREFIX = "twin_resend_undelivered."
REMEMBER_SECONDS = 3 * 86400

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
    max_active_runs=1,  # each run sees the messages the previous ones resent
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
    def resent(message_id: str) -> bool:
        """Whether the message was resent; a failed read says no (one more SMS at most)."""
        return Variable.get(RESENT_PREFIX + message_id, default=None) is not None

    def forget_old_resends() -> None:
        """Delete the records older than REMEMBER_SECONDS where Airflow lists Variables (3.3+)."""
        if not hasattr(Variable, "keys"):
            return  # Airflow 3.2: the records stay
        horizon = time.time() - REMEMBER_SECONDS
        for key in list(Variable.keys(prefix=RESENT_PREFIX)):
            at = Variable.get(key, default=None, deserialize_json=True)
            if at is not None and at < horizon:  # a failed read (None) deletes nothing
                Variable.delete(key)

    @task
    def undelivered_ids(params: dict[str, Any], triggering_asset_events: Any = None) -> list[str]:
        """The messages of this run's events, each once, none resent by an earlier run."""
        events = (triggering_asset_events or {}).get(undelivered_messenger, [])
        ids = [event.extra["payload"]["id"] for event in events] or list(params["message_ids"])
        return [message_id for message_id in dict.fromkeys(ids) if not resent(message_id)]

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

    @task
    def remember_resent(message_ids: list[str]) -> None:
        """Record the messages just resent, so a repeated event of theirs resends nothing."""
        for message_id in message_ids:
            Variable.set(RESENT_PREFIX + message_id, time.time(), serialize_json=True)
        forget_old_resends()

    @task.short_circuit
    def anything_to_resend(recipients: list[dict[str, str]]) -> bool:
        """Skip the send when no message of this run can be resent by SMS (no phone, no text)."""
        return bool(recipients)

    message_ids = undelivered_ids()
    recipients = resend_recipients(message_ids)
    resend = TwinSendMessagesOperator(
        task_id="resend_by_sms",
        recipients=recipients,
        channels={"sms": {"from": "Northwind"}},
        text="{% raw %}{{text}}{% endraw %}",  # each message's own text, a TWIN variable
    )
    anything_to_resend(recipients) >> resend >> remember_resent(message_ids)
    # [END howto_twin_resend_undelivered]
