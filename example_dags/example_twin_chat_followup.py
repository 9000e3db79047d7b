"""Chat follow-up: when support chat sessions are rated low, text those clients.

No schedule and no sensor: the DAG runs when TWIN says a session closed or was rated. The
asset ``twin_support_chat_closed`` has a watcher, a :class:`TwinChatEventTrigger` in Airflow's
triggerer. It polls REST every ``poll_interval``, and hears over TWIN's websocket, within a
second or so, the close of each open session a poll has listed; a session that starts and
closes between two polls, anything the websocket missed, and the ratings come at poll speed.
TWIN asks the client to rate *after* the close (``sessionRatingRequired``), so a close usually
carries no rating yet; the rating comes as a ``chat.session_rated`` event at a later poll.
Each is one asset event; the scheduler starts a run for the events that arrived since the last
one, so a run may carry several.

``pick_low_rated`` reads the run's events (``triggering_asset_events``) and keeps the sessions
rated ``max_rating`` or lower, whichever event carried the rating, once per session: a rating
given at the close arrives twice (on the close, at once, and as a "rated" event later), and an
event may be reported twice after a triggerer restart. Each session followed up gets a
Variable of its own, ``twin_chat_followup.<sessionId>`` holding when (``max_active_runs=1`` so
runs see each other's); a client is texted once. ``look_up_clients`` reads each session from
TWIN for its client (events carry ids, never contact details) and ``send_follow_ups`` texts
them, each client once whatever the retries; ``remember_followed_up`` then records them.

The limits: a task's ``Variable.get`` answers a failed read as "missing", so a failed read
texts that one client again, and a crash between the send and the record could text a run's
clients again; neither erases another session's record. On Airflow 3.3 and later the records
older than two days are deleted; Airflow 3.2 cannot list Variables, so there they stay (one
small Variable a session followed up: delete ``twin_chat_followup.*`` now and then).

A run started by hand (the Trigger button) takes its sessions from the ``closed_sessions``
param instead, e.g. ``[{"sessionId": "…", "rating": 1}]``. Against the local emulator, close a
session and rate it as a client would::

    curl -X POST http://127.0.0.1:8765/_emulator/sessions/<session id>/close
    curl -X POST http://127.0.0.1:8765/_emulator/sessions/<session id>/rate \\
         -H 'content-type: application/json' -d '{"rating": 1}'
"""

# Airflow's TaskFlow typing does not model an XComArg standing in for a value (arg-type)
# nor context arguments filled in at run time (call-arg).
# mypy: disable-error-code="arg-type, call-arg"

from __future__ import annotations

import time
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, Param, Variable, task

from airflow_provider_twin.client.chat import get_session
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator
from airflow_provider_twin.triggers import TwinChatEventTrigger

SUPPORT_CHAT_ID = "0b8f6a52-4c1e-4d3a-9f57-2e6d1c0a9b34"
#: Prefix of the Variables of the sessions followed up, one a session holding when, kept
#: REMEMBER_SECONDS: a failed read or write concerns one session, never the others' records.
FOLLOWED_UP_PREFIX = "twin_chat_followup."
REMEMBER_SECONDS = 2 * 86400

# [START howto_twin_chat_followup_watcher]
support_chat_closed = Asset(
    "twin_support_chat_closed",
    watchers=[
        AssetWatcher(
            name="twin_support_chat_closed",
            trigger=TwinChatEventTrigger(
                chat_id=SUPPORT_CHAT_ID,
                events=["session_closed", "session_rated"],
                created_within_seconds=12 * 3600,  # TWIN sessions live at most 12 hours
                poll_interval=60,  # the websocket brings closes at once; REST the ratings
            ),
        )
    ],
)
# [END howto_twin_chat_followup_watcher]

with DAG(
    dag_id="example_twin_chat_followup",
    description="Text the clients of support chats rated low, as the ratings come",
    schedule=[support_chat_closed],
    max_active_runs=1,  # each run sees the sessions the previous ones followed up
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "twin"],
    params={
        "max_rating": Param(2, type="integer", minimum=1, maximum=5, description="Follow up at or below"),
        "closed_sessions": Param(
            [],
            type="array",
            items={"type": "object"},
            description="For a run started by hand: rated sessions (JSON), as the events carry them",
        ),
    },
    doc_md=__doc__,
) as dag:
    # [START howto_twin_chat_followup]
    def followed_up(session_id: str) -> bool:
        """Whether the session was followed up; a failed read says no (one more text at most)."""
        return Variable.get(FOLLOWED_UP_PREFIX + session_id, default=None) is not None

    def forget_old_follow_ups() -> None:
        """Delete the records older than REMEMBER_SECONDS where Airflow lists Variables (3.3+)."""
        if not hasattr(Variable, "keys"):
            return  # Airflow 3.2: the records stay
        horizon = time.time() - REMEMBER_SECONDS
        for key in list(Variable.keys(prefix=FOLLOWED_UP_PREFIX)):
            at = Variable.get(key, default=None, deserialize_json=True)
            if at is not None and at < horizon:  # a failed read (None) deletes nothing
                Variable.delete(key)

    @task
    def pick_low_rated(params: dict[str, Any], triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """The sessions of this run's events rated low, each once and none followed up before.

        A close that carries a rating and a "rated" event say the same thing: one per session.
        """
        events = (triggering_asset_events or {}).get(support_chat_closed, [])
        payloads = [event.extra["payload"] for event in events] or list(params["closed_sessions"])
        ratings = {p["sessionId"]: p["rating"] for p in payloads if p.get("rating") is not None}
        return [
            {"sessionId": session_id, "rating": rating}
            for session_id, rating in ratings.items()
            if rating <= params["max_rating"] and not followed_up(session_id)
        ]

    @task
    def look_up_clients(low_rated: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each session's TWIN client, to text by its ``clientId`` (TWIN knows its phone)."""
        hook = TwinHook()
        try:
            client = hook.get_client()
            sessions = [client.send(get_session(close["sessionId"])) for close in low_rated]
        finally:
            hook.close()
        return [
            {"clientId": session["clientId"], "var_rating": str(close["rating"])}
            for session, close in zip(sessions, low_rated, strict=True)
            if session.get("clientId")
        ]

    @task.short_circuit
    def anyone(recipients: list[dict[str, Any]]) -> bool:
        """Skip the send when no session of this run was rated low."""
        return bool(recipients)

    @task
    def remember_followed_up(low_rated: list[dict[str, Any]]) -> None:
        """Record the sessions just texted, so a later event of theirs texts nobody again."""
        for close in low_rated:
            Variable.set(FOLLOWED_UP_PREFIX + close["sessionId"], time.time(), serialize_json=True)
        forget_old_follow_ups()

    low_rated = pick_low_rated()
    recipients = look_up_clients(low_rated)
    follow_ups = TwinSendMessagesOperator(
        task_id="send_follow_ups",
        recipients=recipients,
        channels={"sms": {"from": "Northwind"}},
        # {{rating}} is a TWIN variable: keep Jinja away from it with raw.
        text="{% raw %}Sorry our chat earned a {{rating}}. A team lead will call you today.{% endraw %}",
    )
    anyone(recipients) >> follow_ups >> remember_followed_up(low_rated)
    # [END howto_twin_chat_followup]
