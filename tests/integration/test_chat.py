"""Chat sessions end to end in real DAG runs (``dag.test()``) against the emulator.

``start`` starts a session, ``close`` has the emulator close it after a delay (as an operator
would), ``wait`` is the sensor and ``report`` reads ``sessionRatingRequired`` from its result.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.unit.chat.chat_fixtures import settled

pytestmark = pytest.mark.integration


def run(dag: Any, **conf: Any) -> tuple[Any, dict[tuple[str, int], Any], dict[str, Any] | None]:
    """Run ``dag``: the run, its task states by (task, map index) and what ``report`` returned."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = dag.test(run_conf=conf or None)
    with create_session() as session:
        states = {(ti.task_id, ti.map_index): ti.state for ti in dag_run.get_task_instances(session=session)}
        row = session.scalars(
            XComModel.get_many(
                run_id=dag_run.run_id, dag_ids=dag.dag_id, task_ids="report", key="return_value"
            )
        ).first()
        report = XComModel.deserialize_value(row) if row is not None else None
    return dag_run, states, report


@pytest.fixture
def emulator(airflow_twin: Any) -> Any:
    airflow_twin.admin.update_realtime(ping_interval=1)
    return airflow_twin


#: Seconds from the session start to its close: long enough that the sensor is listening on the
#: websocket by then even where Airflow takes several seconds between two tasks (3.2's dag.test()).
CLOSE_AFTER = 12.0


def closes(emulator: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = emulator.admin.publications(event="sessionClosed")
    return items


def test_sensor_defers_and_sees_the_close(emulator: Any) -> None:
    from tests.integration.dags import chat_sessions

    dag_run, states, report = run(
        chat_sessions.deferrable_dag, emulator_url=emulator.base_url, close_after=CLOSE_AFTER
    )
    assert dag_run.state == "success", states
    assert report is not None
    assert report["rating_required"] == [True]
    assert report["events"] == ["sessionClosed"]
    # The close was pushed to the trigger's websocket (one socket, one listener).
    [published] = closes(emulator)
    assert published["connections"] == 1
    assert published["session_id"] == report["session_ids"][0]
    assert emulator.admin.realtime()["stats"]["connections_opened"] == 1


def test_close_before_the_sensor_subscribes(emulator: Any) -> None:
    from tests.integration.dags import chat_sessions

    dag_run, states, report = run(
        chat_sessions.deferrable_dag, emulator_url=emulator.base_url, close_after=0, rating_required=False
    )
    assert dag_run.state == "success", states
    assert report is not None
    assert report["rating_required"] == [False]
    # Nobody listened when it closed; the sensor's REST pre-check saw it and never deferred.
    assert [item["connections"] for item in closes(emulator)] == [0]
    assert emulator.admin.realtime()["stats"]["connections_opened"] == 0


def test_websocket_dropped_mid_wait(emulator: Any) -> None:
    from tests.integration.dags import chat_sessions

    def drop_then_close() -> None:
        # Settled: the trigger joined the session and made its REST check after the join (the
        # sensor made one before deferring), so only the websocket can report the close now.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if settled(emulator, joins=1, reads=2):
                session_id = emulator.admin.realtime()["connections"][0]["sessions"][0]
                break
            time.sleep(0.05)
        else:
            return
        emulator.admin.drop_websockets()
        # Closed while the trigger is reconnecting: only the REST check after the reconnect can see it.
        emulator.admin.close_session(session_id, rating_required=True)

    helper = threading.Thread(target=drop_then_close, daemon=True)
    helper.start()
    dag_run, states, report = run(
        chat_sessions.deferrable_dag, emulator_url=emulator.base_url, close_after=-1
    )
    helper.join(5)
    assert dag_run.state == "success", states
    assert report is not None
    assert report["rating_required"] == [True]
    assert [item["connections"] for item in closes(emulator)] == [0]
    stats = emulator.admin.realtime()["stats"]
    assert (stats["dropped"], stats["connections_opened"]) == (1, 2)


def test_poke_mode_listens_with_websocket_client(emulator: Any) -> None:
    from tests.integration.dags import chat_sessions

    dag_run, states, report = run(
        chat_sessions.poke_dag, emulator_url=emulator.base_url, close_after=CLOSE_AFTER
    )
    assert dag_run.state == "success", states
    assert report is not None
    assert report["rating_required"] == [True]
    [published] = closes(emulator)
    assert published["connections"] == 1  # seen while the poke listened


def test_reschedule_mode_checks_again_after_rescheduling(emulator: Any) -> None:
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    from tests.integration.dags import chat_sessions

    # Each poke: REST check, then 1 s listening; the close comes later, after a reschedule.
    dag_run, states, report = run(
        chat_sessions.reschedule_dag, emulator_url=emulator.base_url, close_after=CLOSE_AFTER
    )
    assert dag_run.state == "success", states
    assert report is not None
    assert report["rating_required"] == [True]
    with create_session() as session:
        ti = dag_run.get_task_instance("wait", session=session)
        query = select(func.count()).select_from(TaskReschedule).where(TaskReschedule.ti_id == ti.id)
        assert int(session.scalar(query) or 0) >= 1


def test_one_session_per_mapped_lead(emulator: Any) -> None:
    from tests.integration.dags import chat_sessions

    dag_run, states, report = run(
        chat_sessions.mapped_dag, emulator_url=emulator.base_url, close_after=CLOSE_AFTER
    )
    assert dag_run.state == "success", states
    assert [states[("start", i)] for i in range(3)] == ["success"] * 3
    assert [states[("wait", i)] for i in range(3)] == ["success"] * 3
    assert report is not None
    assert report["rating_required"] == [True, True, True]
    assert len(set(report["session_ids"])) == 3
    assert emulator.admin.counters()["sessions_started"] == 3


def test_documented_example(emulator: Any) -> None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from tests.integration.dags import chat_example

    dag_run = chat_example.dag.test(run_conf={"emulator_url": emulator.base_url})
    with create_session() as session:
        states = {(ti.task_id, ti.map_index): ti.state for ti in dag_run.get_task_instances(session=session)}
        row = session.scalars(
            XComModel.get_many(
                run_id=dag_run.run_id,
                dag_ids=chat_example.dag.dag_id,
                task_ids="ask_for_ratings",
                key="return_value",
            )
        ).first()
        to_rate = XComModel.deserialize_value(row) if row is not None else None
        first = session.scalars(
            XComModel.get_many(
                run_id=dag_run.run_id,
                dag_ids=chat_example.dag.dag_id,
                task_ids="start_chat",
                map_indexes=0,
                key="return_value",
            )
        ).first()
        first_lead = XComModel.deserialize_value(first) if first is not None else None
    assert dag_run.state == "success", states
    started = [session["id"] for session in emulator.admin.sessions()["items"]]
    assert len(started) == 2
    assert first_lead is not None
    assert first_lead["session_id"] in started
    # Only the first lead's chat asked for a rating (mapped tasks start in any order).
    assert to_rate == [first_lead["session_id"]]
