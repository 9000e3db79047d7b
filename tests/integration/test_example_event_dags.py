"""The event-driven example DAGs, fed what their watchers report, run green against the emulator.

Each DAG's own watcher (its trigger's kwargs, polling fast) runs against the emulator and its
payloads are handed to the DAG as a manual run's param, then the DAG runs with ``dag.test()``.
That the watcher's events start runs in a real scheduler and triggerer is for the tests with
real Airflow processes (``tests/integration/events/``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from airflow_provider_twin.client import notify
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.triggers import TwinChatEventTrigger, TwinMessageEventTrigger
from tests.file_modules import load_file
from tests.integration.test_example_dags import Run, records
from tests.unit.event_watchers import collect, memory_variables

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ModuleType]:
    memory_variables(monkeypatch)  # the watchers' cursors (a triggerer keeps them in Variables)
    return lambda name: load_file(EXAMPLES / f"{name}.py")


def fast(trigger: Any) -> dict[str, Any]:
    """The kwargs of an example's watcher, polling every tenth of a second."""
    kwargs: dict[str, Any] = {**trigger.serialize()[1], "poll_interval": 0.1, "commit_delay": 0}
    return kwargs


# -- the chat follow-up --------------------------------------------------------------------------------
def start_session(emulator: Any, chat_id: str, phone: str) -> str:
    import httpx

    response = httpx.post(
        f"{emulator.base_url}/chat/api/v1/chats/{chat_id}/sessions", json={"clientPhone": phone}
    )
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


def test_chat_followup_texts_the_clients_of_low_rated_sessions_once(
    airflow_twin: Any, example: Callable[[str], ModuleType]
) -> None:
    module = example("example_twin_chat_followup")
    chat_id = module.SUPPORT_CHAT_ID
    # Rated at the close (1, 5), rated after it (2), never rated.
    ratings = {"79990000501": 1, "79990000502": 5, "79990000503": None, "79990000504": None}
    sessions = {phone: start_session(airflow_twin, chat_id, phone) for phone in ratings}
    for phone, rating in ratings.items():
        closing = {} if rating is None else {"rating": rating}
        airflow_twin.admin.close_session(sessions[phone], rating_required=True, **closing)
    airflow_twin.admin.rate_session(sessions["79990000503"], 2)
    trigger = TwinChatEventTrigger(**fast(module.support_chat_closed.watchers[0].trigger))

    events = asyncio.run(collect(trigger, seconds=2.0))

    assert (
        sorted(event["type"] for event in events) == ["chat.session_closed"] * 4 + ["chat.session_rated"] * 3
    )
    run = Run(module.dag, closed_sessions=events + events[:1])  # a repeated event is followed up once
    assert run.state == "success", run.states
    assert sorted(close["rating"] for close in run.value("pick_low_rated")) == [1, 2]
    assert run.task_state("send_follow_ups") == "success"
    texted = {item["destination"]["clientId"] for item in records(airflow_twin)}
    clients = {session["id"]: session["clientId"] for session in airflow_twin.admin.sessions()["items"]}
    assert texted == {clients[sessions["79990000501"]], clients[sessions["79990000503"]]}

    # A later run with the same sessions' events (the close came first, the rating later): no text.
    again = Run(module.dag, closed_sessions=[e for e in events if e["type"] == "chat.session_rated"])
    assert again.state == "success", again.states
    assert again.value("pick_low_rated") == []
    assert again.task_state("send_follow_ups") == "skipped"
    assert len(records(airflow_twin)) == 2


def test_chat_followup_skips_the_send_when_nobody_rated_low(
    airflow_twin: Any, example: Callable[[str], ModuleType]
) -> None:
    module = example("example_twin_chat_followup")
    run = Run(module.dag, closed_sessions=[{"sessionId": "s-1", "rating": 4}])
    assert run.state == "success", run.states
    assert run.value("pick_low_rated") == []
    assert run.task_state("send_follow_ups") == "skipped"
    assert records(airflow_twin) == []


# -- the resend of undelivered messenger messages ------------------------------------------------------
def test_resend_undelivered_sends_each_failed_messenger_message_by_sms(
    airflow_twin: Any, example: Callable[[str], ModuleType]
) -> None:
    module = example("example_twin_resend_undelivered")
    airflow_twin.admin.update_settings(
        delivery_seconds=0.1,
        outcome_rules=[{"channel": "viber", "phone_suffix": "7", "status": "UNDELIVERED"}],
    )
    phones = [f"7999000060{i}" for i in range(8)]
    message: Any = {
        "destinations": [{"phone": phone} for phone in phones],
        "channels": {"viber": {"from": "Northwind", "text": "Your parcel is on its way"}},
    }
    hook = TwinHook()
    try:
        hook.get_client().send(notify.create_messages([message]))
    finally:
        hook.close()
    deadline = time.monotonic() + 10
    while records(airflow_twin, status="UNDELIVERED") == [] and time.monotonic() < deadline:
        time.sleep(0.1)
    trigger = TwinMessageEventTrigger(**fast(module.undelivered_messenger.watchers[0].trigger))

    events = asyncio.run(collect(trigger, seconds=2.0))

    assert [event["channel"] for event in events] == ["VIBER"]
    run = Run(module.dag, message_ids=[event["id"] for event in events])
    assert run.state == "success", run.states
    assert run.task_state("resend_by_sms") == "success"
    sms = records(airflow_twin, channel="SMS")
    assert [(item["destination"]["phone"], item["message"]["text"]) for item in sms] == [
        ("79990000607", "{{text}}")
    ]
    assert sms[0]["destination"]["variables"] == {"text": "Your parcel is on its way"}  # TWIN fills it in

    # The same event again (reported once more after a triggerer restart) starts a run: no SMS.
    again = Run(module.dag, message_ids=[event["id"] for event in events])
    assert again.state == "success", again.states
    assert again.value("undelivered_ids") == []
    assert again.task_state("resend_by_sms") == "skipped"
    assert len(records(airflow_twin, channel="SMS")) == 1


def test_resend_undelivered_skips_the_send_without_messages(
    airflow_twin: Any, example: Callable[[str], ModuleType]
) -> None:
    run = Run(example("example_twin_resend_undelivered").dag)
    assert run.state == "success", run.states
    assert run.task_state("resend_by_sms") == "skipped"
