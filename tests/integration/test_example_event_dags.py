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


def stored(key: str) -> Any:
    """The Variable ``key`` as the metadata database holds it (JSON), or None."""
    from airflow.models.variable import Variable

    return Variable.get(key, default_var=None, deserialize_json=True)


def store(key: str, value: Any) -> None:
    from airflow.models.variable import Variable

    Variable.set(key, value, serialize_json=True)


def lists_variables() -> bool:
    """Whether a task can list Variables (Airflow 3.3 and later), which old records' deletion needs."""
    from airflow.sdk import Variable

    return hasattr(Variable, "keys")


def test_chat_followup_records_each_session_apart_and_forgets_old_ones(
    airflow_twin: Any, example: Callable[[str], ModuleType]
) -> None:
    module = example("example_twin_chat_followup")
    prefix, now = module.FOLLOWED_UP_PREFIX, time.time()
    store(prefix + "s-recent", now - 3600)  # followed up an hour ago: kept, and never texted again
    store(prefix + "s-old", now - module.REMEMBER_SECONDS - 60)
    session = start_session(airflow_twin, module.SUPPORT_CHAT_ID, "79990000505")
    airflow_twin.admin.close_session(session, rating=1)

    run = Run(
        module.dag,
        closed_sessions=[{"sessionId": session, "rating": 1}, {"sessionId": "s-recent", "rating": 1}],
    )

    assert run.state == "success", run.states
    assert run.value("pick_low_rated") == [{"sessionId": session, "rating": 1}]
    assert len(records(airflow_twin)) == 1
    assert stored(prefix + session) >= now  # this run's record, written beside the others
    assert stored(prefix + "s-recent") == now - 3600
    assert (stored(prefix + "s-old") is None) is lists_variables()  # Airflow 3.2 keeps old records


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


def test_resend_undelivered_keeps_the_other_messages_records_and_forgets_old_ones(
    airflow_twin: Any, example: Callable[[str], ModuleType]
) -> None:
    module = example("example_twin_resend_undelivered")
    prefix, now = module.RESENT_PREFIX, time.time()
    store(prefix + "m-recent", now - 3600)
    store(prefix + "m-old", now - module.REMEMBER_SECONDS - 60)
    hook = TwinHook()
    try:
        created = hook.get_client().send(
            notify.create_messages(
                [
                    {
                        "destinations": [{"phone": "79990000611"}],
                        "channels": {"sms": {"from": "N", "text": "Hi"}},
                    }
                ]
            )
        )
    finally:
        hook.close()
    message_id = created[0]["id"]
    assert message_id is not None

    run = Run(module.dag, message_ids=[message_id, "m-recent"])

    assert run.state == "success", run.states
    assert run.value("undelivered_ids") == [message_id]
    assert stored(prefix + message_id) >= now
    assert stored(prefix + "m-recent") == now - 3600
    assert (stored(prefix + "m-old") is None) is lists_variables()


def test_resend_undelivered_skips_the_send_without_messages(
    airflow_twin: Any, example: Callable[[str], ModuleType]
) -> None:
    run = Run(example("example_twin_resend_undelivered").dag)
    assert run.state == "success", run.states
    assert run.task_state("resend_by_sms") == "skipped"
