"""DAGs scheduled on TWIN events, for tests/integration/events (run by a real Airflow there).

Each DAG is scheduled on one asset and has one task, ``received``, which returns the TWIN
events of the run's ``triggering_asset_events`` (their ``payload``), so a test reads through
Airflow's REST API what the run itself saw. The sources:

* ``twin_it_undelivered``: a watcher on messages of group :data:`UNDELIVERED_GROUP` that end
  UNDELIVERED (REST listing every 2 s);
* ``twin_it_chat_closed``: a watcher on chat sessions closing (websocket for the sessions it
  knows, REST every :data:`CHAT_POLL_SECONDS`);
* ``twin_it_webhook``: no watcher; TWIN's status webhooks reach the asset through the receiver
  on Airflow's API server (``callbackUrl`` = the asset's webhook URL);
* ``twin_it_stream``: a watcher on messages of group :data:`STREAM_GROUP` that end DELIVERED,
  polled every second; the restart test kills the triggerer under it and counts the asset's
  events. Its DAG waits for that asset *and* one nothing ever updates, so the watcher runs
  (the DAG is scheduled on its asset) but no DAG run competes with the stream for the machine.

The DAGs are unpaused at creation: Airflow runs an asset's watchers only while a DAG scheduled on
it is unpaused.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_twin.triggers import TwinChatEventTrigger, TwinMessageEventTrigger

UNDELIVERED_GROUP = "7d1f3c52-0a4e-4b8e-9c61-2f5a8e3b9d01"
STREAM_GROUP = "3b8e5a17-6c2d-4f90-8a13-9e4d7c1b2a02"
CHAT_ID = "5f0c7a1e-3b2d-4c8e-9a61-0d2e4b6f8a10"
CHAT_POLL_SECONDS = 5.0
STREAM_POLL_SECONDS = 1.0
STREAM_COMMIT_DELAY = 5.0

UNDELIVERED = Asset(
    "twin_it_undelivered",
    watchers=[
        AssetWatcher(
            name="twin_it_undelivered_watcher",
            trigger=TwinMessageEventTrigger(
                statuses=["UNDELIVERED"],
                group_ids=[UNDELIVERED_GROUP],
                poll_interval=2.0,
                cursor_name="it_undelivered",
            ),
        )
    ],
)
CHAT_CLOSED = Asset(
    "twin_it_chat_closed",
    watchers=[
        AssetWatcher(
            name="twin_it_chat_watcher",
            trigger=TwinChatEventTrigger(
                chat_id=CHAT_ID,
                events=("session_closed",),
                poll_interval=CHAT_POLL_SECONDS,
                realtime=True,
                cursor_name="it_chat",
            ),
        )
    ],
)
WEBHOOK = Asset("twin_it_webhook")
STREAM = Asset(
    "twin_it_stream",
    watchers=[
        AssetWatcher(
            name="twin_it_stream_watcher",
            trigger=TwinMessageEventTrigger(
                statuses=["DELIVERED"],
                group_ids=[STREAM_GROUP],
                poll_interval=STREAM_POLL_SECONDS,
                commit_delay=STREAM_COMMIT_DELAY,
                cursor_name="it_stream",
            ),
        )
    ],
)
#: Nothing updates it: the stream's DAG never runs (see the module's docstring).
NEVER = Asset("twin_it_never_updated")
#: DAG id -> what it is scheduled on.
SCHEDULES: dict[str, Any] = {
    "twin_it_undelivered": [UNDELIVERED],
    "twin_it_chat_closed": [CHAT_CLOSED],
    "twin_it_webhook": [WEBHOOK],
    "twin_it_stream": STREAM & NEVER,
}


@task
def received(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
    """The TWIN events that triggered this run, as the run sees them."""
    payloads: list[dict[str, Any]] = []
    for events in (triggering_asset_events or {}).values():
        payloads.extend(dict(event.extra.get("payload") or {}) for event in events)
    return payloads


for _dag_id, _schedule in SCHEDULES.items():
    with DAG(
        _dag_id,
        schedule=_schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        is_paused_upon_creation=False,
        max_active_runs=1,
        tags=["twin", "events", "test"],
    ):
        received()
