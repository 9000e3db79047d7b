"""Chat follow-up: when support chat sessions close with a low rating, text those clients.

No schedule and no sensor: the DAG runs when TWIN says a session closed. The asset
``twin_support_chat_closed`` has a watcher, a :class:`TwinChatEventTrigger` in Airflow's
triggerer, which hears a close over TWIN's websocket within a second or so (and polls REST
every ``poll_interval`` for anything the websocket missed). Each close is one asset event; the
scheduler starts a run for the events that arrived since the last one, so a run may carry
several closes.

``pick_low_rated`` reads the run's events (``triggering_asset_events``), keeps the sessions
rated ``max_rating`` or lower and drops repeats (an event may be reported twice after a
triggerer restart, always with the same ``event_id``). ``look_up_clients`` reads each session
from TWIN for its client (events carry ids, never contact details) and
``send_follow_ups`` texts them, each client once whatever the retries.

A run started by hand (the Trigger button) takes its closes from the ``closed_sessions``
param instead, e.g. ``[{"sessionId": "…", "rating": 1}]``. Against the local emulator, close a
session with a rating as a client would::

    curl -X POST http://127.0.0.1:8765/_emulator/sessions/<session id>/close \\
         -H 'content-type: application/json' -d '{"rating": 1}'
"""

# Airflow's TaskFlow typing does not model an XComArg standing in for a value (arg-type)
# nor context arguments filled in at run time (call-arg).
# mypy: disable-error-code="arg-type, call-arg"

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, Param, task

from airflow_provider_twin.client.chat import get_session
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator
from airflow_provider_twin.triggers import TwinChatEventTrigger

SUPPORT_CHAT_ID = "0b8f6a52-4c1e-4d3a-9f57-2e6d1c0a9b34"

# [START howto_twin_chat_followup_watcher]
support_chat_closed = Asset(
    "twin_support_chat_closed",
    watchers=[
        AssetWatcher(
            name="twin_support_chat_closed",
            trigger=TwinChatEventTrigger(
                chat_id=SUPPORT_CHAT_ID,
                events=["session_closed"],
                created_within_seconds=12 * 3600,  # TWIN sessions live at most 12 hours
                poll_interval=60,  # the websocket brings closes at once; REST catches the rest
            ),
        )
    ],
)
# [END howto_twin_chat_followup_watcher]

with DAG(
    dag_id="example_twin_chat_followup",
    description="Text the clients of support chats that closed with a low rating, as they close",
    schedule=[support_chat_closed],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "twin"],
    params={
        "max_rating": Param(2, type="integer", minimum=1, maximum=5, description="Follow up at or below"),
        "closed_sessions": Param(
            [],
            type="array",
            items={"type": "object"},
            description="For a run started by hand: closed sessions (JSON), as the events carry them",
        ),
    },
    doc_md=__doc__,
) as dag:
    # [START howto_twin_chat_followup]
    @task
    def pick_low_rated(params: dict[str, Any], triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """The low-rated closes of this run's events, each once (repeats share an event_id)."""
        events = (triggering_asset_events or {}).get(support_chat_closed, [])
        closes = [event.extra["payload"] for event in events] or list(params["closed_sessions"])
        unique = {close.get("event_id") or close["sessionId"]: close for close in closes}
        return [
            {"sessionId": close["sessionId"], "rating": close["rating"]}
            for close in unique.values()
            if close.get("rating") is not None and close["rating"] <= params["max_rating"]
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

    recipients = look_up_clients(pick_low_rated())
    follow_ups = TwinSendMessagesOperator(
        task_id="send_follow_ups",
        recipients=recipients,
        channels={"sms": {"from": "Northwind"}},
        # {{rating}} is a TWIN variable: keep Jinja away from it with raw.
        text="{% raw %}Sorry our chat earned a {{rating}}. A team lead will call you today.{% endraw %}",
    )
    anyone(recipients) >> follow_ups
    # [END howto_twin_chat_followup]
