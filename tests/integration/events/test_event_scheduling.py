"""TWIN events start DAG runs in a real Airflow: watchers over REST and the websocket, webhooks,
and a triggerer restarted (gracefully, then killed) in the middle of a stream of events.

One Airflow (api-server, scheduler, dag-processor and triggerer as separate processes on
loopback, SQLite) runs the DAGs of ``dags/event_dags.py`` against one emulator for the whole
module. The first facts of every source are made together as soon as Airflow is up, so their
waits overlap. What Airflow recorded is read through its REST API: the asset events, the runs,
each run's triggering asset events and what its task returned.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.webhooks.callback_urls import callback_url
from tests.integration.events.dags import event_dags
from tests.integration.events.event_stack import EventStack, event_ids, payload, repeats
from tests.integration.events.twin_traffic import (
    MessageStream,
    close_session,
    emulator_client,
    event_emulator_settings,
    send_message,
    start_session,
    status_event_id,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

#: How long an event may take from TWIN to a DAG run here (a busy CI machine included).
RUN_TIMEOUT = 120.0
#: Messages per second of the restart test's stream.
STREAM_RATE = 1.0
WEBHOOK_GROUP = "c4a2e8f1-5b3d-4e6a-9f70-1d2b3c4e5f03"


@dataclass(frozen=True)
class Facts:
    """The first facts made in TWIN, one per source, right after Airflow came up."""

    undelivered: str
    delivered: str
    webhooked: str
    session: str


@pytest.fixture(scope="module")
def twin() -> Iterator[TwinEmulator]:
    with TwinEmulator(event_emulator_settings()) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def stack(twin: TwinEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStack]:
    workdir: Path = tmp_path_factory.mktemp("event-stack")
    running = EventStack(workdir, twin, sorted(event_dags.SCHEDULES))
    with running:
        yield running


@pytest.fixture(scope="module")
def facts(stack: EventStack, twin: TwinEmulator) -> Facts:
    url = callback_url(event_dags.WEBHOOK.name, base_url=stack.base_url, secret=stack.webhook_secret)
    with emulator_client(twin) as client:
        undelivered = send_message(client, event_dags.UNDELIVERED_GROUP, reachable=False)
        delivered = send_message(client, event_dags.UNDELIVERED_GROUP, reachable=True)
        webhooked = send_message(client, WEBHOOK_GROUP, callback_url=url)
    return Facts(undelivered, delivered, webhooked, start_session(twin, event_dags.CHAT_ID))


def the_event(run: dict[str, Any], event_id: str) -> dict[str, Any]:
    """The one triggering asset event of ``run`` carrying ``event_id``."""
    [event] = [event for event in run["events"] if payload(event).get("event_id") == event_id]
    found: dict[str, Any] = event
    return found


def task_saw(stack: EventStack, dag_id: str, run_id: str) -> list[str]:
    """The event ids the run's ``received`` task read from its ``triggering_asset_events``."""
    finished = stack.wait_for_run(dag_id, run_id, timeout=RUN_TIMEOUT)
    assert finished["state"] == "success", stack.task_instances(dag_id, run_id)
    path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/received/xcomEntries/return_value"
    value = stack.api("GET", path)["value"]
    seen = json.loads(value) if isinstance(value, str) else value
    return [item["event_id"] for item in seen]


def test_an_undelivered_message_runs_the_dag_watching_its_group(stack: EventStack, facts: Facts) -> None:
    event_id = status_event_id(facts.undelivered, "UNDELIVERED")
    run = stack.wait_for_run_of("twin_it_undelivered", event_id, timeout=RUN_TIMEOUT)
    event = the_event(run, event_id)
    assert event["extra"]["from_trigger"] is True
    assert payload(event) | {"time": None} == {
        "event_id": event_id,
        "type": "message.status",
        "time": None,
        "id": facts.undelivered,
        "bulkId": payload(event)["bulkId"],
        "groupId": event_dags.UNDELIVERED_GROUP,
        "flowId": payload(event)["flowId"],
        "channel": "SMS",  # as TWIN lists it
        "status": "UNDELIVERED",
        "statusCode": 7,
    }
    assert payload(event)["time"], "TWIN's time of the status"
    assert event_id in task_saw(stack, "twin_it_undelivered", run["dag_run_id"])
    # The group's delivered message is no event of this watcher.
    recorded = event_ids(stack.asset_events(event_dags.UNDELIVERED.name))
    assert not [found for found in recorded if facts.delivered in found]


def listening(twin: TwinEmulator, session_id: str) -> bool:
    """Whether a websocket connection (the chat watcher's) listens to the session."""
    connections = twin.admin.realtime()["connections"]
    return any(session_id in connection["sessions"] for connection in connections)


def test_a_closed_chat_session_runs_the_chat_dag_over_the_websocket(
    stack: EventStack, twin: TwinEmulator, facts: Facts
) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    stack.wait_for(
        "the chat watcher to listen to the session", lambda: listening(twin, facts.session), deadline
    )
    close_session(twin, facts.session, rating=2)
    event_id = f"session:{facts.session}:closed"
    run = stack.wait_for_run_of("twin_it_chat_closed", event_id, timeout=RUN_TIMEOUT)
    found = payload(the_event(run, event_id))
    assert found["type"] == "chat.session_closed"
    assert (found["sessionId"], found["chatId"]) == (facts.session, event_dags.CHAT_ID)
    assert (found["sessionRatingRequired"], found["rating"]) == (True, 2)
    # The close was pushed to the watcher's socket, the one listening to the session.
    [published] = twin.admin.publications(event="sessionClosed", session_id=facts.session)
    assert published["connections"] == 1
    assert event_id in task_saw(stack, "twin_it_chat_closed", run["dag_run_id"])


def test_a_status_webhook_runs_the_dag_of_its_asset(
    stack: EventStack, twin: TwinEmulator, facts: Facts
) -> None:
    event_id = status_event_id(facts.webhooked, "DELIVERED")
    run = stack.wait_for_run_of("twin_it_webhook", event_id, timeout=RUN_TIMEOUT)
    event = the_event(run, event_id)
    assert event["extra"]["from_webhook"] is True
    found = payload(event)
    assert (found["type"], found["id"], found["status"]) == ("message.status", facts.webhooked, "DELIVERED")
    assert found["groupId"] == WEBHOOK_GROUP
    assert event_id in task_saw(stack, "twin_it_webhook", run["dag_run_id"])


def written_at(event: dict[str, Any]) -> float:
    """When Airflow wrote an asset event (epoch seconds)."""
    return datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00")).timestamp()


def test_triggerer_restarts_lose_no_event_and_repeat_only_the_uncommitted(
    stack: EventStack,
    twin: TwinEmulator,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    record_property: Callable[[str, object], None],
) -> None:
    """A graceful stop (SIGTERM) and a crash (SIGKILL of the process group) mid-stream.

    Nothing is lost. What may repeat, once and with the same event id, are the events written in
    the last ``commit_delay`` before a stop (give or take a poll and the triggerer's one-second
    loop): their ids had not reached the stored cursor. That holds for the graceful stop too:
    Airflow's triggerer stops its event loop without a last exchange with its supervisor, so a
    watcher cannot store its cursor on the way out (a trigger's cleanup runs after the runner's
    link to the supervisor, which the Variable needs, is gone).
    """
    asset = event_dags.STREAM.name
    # commit_delay, then a poll, the triggerer's loop and the cursor's write on a busy machine
    may_repeat = event_dags.STREAM_COMMIT_DELAY + event_dags.STREAM_POLL_SECONDS + 4.0
    with MessageStream(twin, event_dags.STREAM_GROUP, rate=STREAM_RATE) as stream:
        stack.wait_for_events(asset, 5, timeout=RUN_TIMEOUT)
        terminated_at = time.time()
        assert stack.restart("triggerer", signal.SIGTERM) == 0, "the triggerer stops cleanly on SIGTERM"
        stack.wait_for_events(asset, len(stack.asset_events(asset)) + 3, timeout=RUN_TIMEOUT)
        time.sleep(may_repeat)  # the two stops' windows do not overlap
        killed_at = time.time()
        stack.restart("triggerer", signal.SIGKILL)
        stack.wait_for_events(asset, len(stack.asset_events(asset)) + 3, timeout=RUN_TIMEOUT)
    assert not stream.errors, stream.errors
    expected = {status_event_id(message_id, "DELIVERED") for message_id, _ in stream.sent}

    def all_arrived() -> list[dict[str, Any]] | None:
        events = stack.asset_events(asset)
        return events if expected <= set(event_ids(events)) else None

    stack.wait_for(f"all {len(expected)} stream events", all_arrived, time.monotonic() + RUN_TIMEOUT)
    time.sleep(3 * event_dags.STREAM_POLL_SECONDS)  # a late repeat would show by now
    events = stack.asset_events(asset)
    ids = event_ids(events)
    first_written: dict[str, float] = {}
    for event in events:
        first_written.setdefault(payload(event)["event_id"], written_at(event))
    stops = {"SIGTERM": terminated_at, "SIGKILL": killed_at}

    def stop_before(event_id: str) -> str:
        written = first_written[event_id]
        found = [name for name, at in stops.items() if at - may_repeat <= written <= at + 2.0]
        return found[0] if found else "no stop"

    doubled = repeats(ids)
    after = Counter(stop_before(event_id) for event_id in doubled)
    first = stream.sent[0][1]
    figures = (
        f"{len(expected)} messages over {stream.sent[-1][1] - first:.0f} s, {len(ids)} asset events; "
        f"SIGTERM at +{terminated_at - first:.1f} s, SIGKILL at +{killed_at - first:.1f} s; repeated "
        f"after SIGTERM {after['SIGTERM']}, after SIGKILL {after['SIGKILL']}, elsewhere {after['no stop']}"
    )
    record_property("triggerer_restarts", figures)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        with capsys.disabled():  # the figures are the point of the run: show them, pass or fail
            reporter.write_line(f"\n[triggerer restarts] {figures}")
    assert set(ids) == expected, (
        f"{figures}; lost: {sorted(expected - set(ids))}; foreign: {sorted(set(ids) - expected)}"
    )
    assert all(count == 2 for count in doubled.values()), f"{figures}: {doubled}"
    elsewhere = {
        event_id: first_written[event_id] for event_id in doubled if stop_before(event_id) == "no stop"
    }
    assert not elsewhere, f"{figures}; repeated although not written just before a stop: {elsewhere}"
