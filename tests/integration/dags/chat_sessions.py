"""DAGs that start TWIN chat sessions and wait for them to close (run by tests/integration/test_chat.py).

Each DAG is ``start -> close -> wait -> report``:

* ``start``: :class:`TwinStartChatSessionOperator` (mapped over leads in the mapped DAG);
* ``close``: asks the emulator (``params.emulator_url``) to close the session after
  ``params.close_after`` seconds, as an operator would end the chat (a negative value leaves it
  to the test);
* ``wait``: :class:`TwinChatSessionClosedSensor` on ``start.output["session_id"]``;
* ``report``: reads what ``wait`` returned (``sessionRatingRequired``) and returns it.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_twin.emulator.admin_client import EmulatorAdmin
from airflow_provider_twin.operators.chat import TwinStartChatSessionOperator
from airflow_provider_twin.sensors.chat import EVENT_XCOM_KEY, TwinChatSessionClosedSensor

CHAT_ID = "5f0c7a1e-3b2d-4c8e-9a61-0d2e4b6f8a10"
PARAMS: dict[str, Any] = {"emulator_url": "", "close_after": 1.0, "rating_required": True}


@task
def close(session_ids: Any, params: dict[str, Any]) -> list[str]:
    """Have the emulator close the session(s) after ``close_after`` seconds (or not at all)."""
    ids = [session_ids] if isinstance(session_ids, str) else list(session_ids)
    after = float(params["close_after"])
    if after >= 0:
        with EmulatorAdmin(params["emulator_url"]) as admin:
            for session_id in ids:
                admin.close_session(
                    session_id, after_seconds=after, rating_required=params["rating_required"]
                )
    return ids


@task(trigger_rule="all_done")
def report(payload: Any = None, ti: Any = None) -> dict[str, Any]:
    """What the sensor(s) handed over: the close payload(s) and the event name(s)."""
    payloads = [payload] if payload is None or isinstance(payload, dict) else list(payload)
    events = ti.xcom_pull(task_ids="wait", key=EVENT_XCOM_KEY, map_indexes=None)
    return {
        "rating_required": [p.get("sessionRatingRequired") if p else None for p in payloads],
        "session_ids": [p.get("sessionId") if p else None for p in payloads],
        "events": events if isinstance(events, list) else [events],
    }


def chat_dag(dag_id: str, **sensor_kwargs: Any) -> DAG:
    """``start -> close -> wait -> report`` for one lead."""
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        params=dict(PARAMS),
        tags=["test", "twin"],
    ) as dag:
        start = TwinStartChatSessionOperator(
            task_id="start",
            chat_id=CHAT_ID,
            client_phone="79990000001",
            message_body="I would like to book a visit",
            session_ttl=600,
            client_metadata={"lead": "{{ run_id }}"},
        )
        closing = close(start.output["session_id"])
        wait = TwinChatSessionClosedSensor(
            task_id="wait",
            session_id=start.output["session_id"],
            poke_interval=1,
            timeout=60,
            **sensor_kwargs,
        )
        closing >> wait
        report(wait.output)
    return dag


deferrable_dag = chat_dag("test_chat_deferrable", deferrable=True)
poke_dag = chat_dag("test_chat_poke", deferrable=False, mode="poke", listen_timeout=30)
reschedule_dag = chat_dag("test_chat_reschedule", deferrable=False, mode="reschedule", listen_timeout=1)

with DAG(
    dag_id="test_chat_mapped",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params=dict(PARAMS),
    tags=["test", "twin"],
) as mapped_dag:
    starts = TwinStartChatSessionOperator.partial(task_id="start", chat_id=CHAT_ID, message_body="Hi").expand(
        client_phone=["79990000011", "79990000012", "79990000013"]
    )
    closing = close(starts.output["session_id"])
    waits = TwinChatSessionClosedSensor.partial(
        task_id="wait", deferrable=True, poke_interval=1, timeout=60
    ).expand(session_id=starts.output)
    closing >> waits
    report(waits.output)
