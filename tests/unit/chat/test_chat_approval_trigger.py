"""TwinChatApprovalTrigger: its kwargs, and its wait against the emulator with Airflow's side faked.

Airflow's side (the Human-in-the-loop detail behind the triggerer's supervisor) is faked where
the trigger asks it, at :mod:`airflow_provider_twin.triggers.hitl_responses`: one row, the first
response kept, a second refused as the execution API does (409, here None). TWIN is the
emulator: the question goes out through the chat channel, the approver replies with the
emulator's admin API.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from airflow.sdk.api.datamodels._generated import HITLDetailResponse, HITLUser

from airflow_provider_twin.client import chat_message_procedure
from airflow_provider_twin.client.chat import (
    Approver,
    chat_message,
    conversation_bulk_id,
    parse_approvers,
    question_text,
    request_tag,
    session_name,
)
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.triggers import chat_approval_wait, hitl_responses
from airflow_provider_twin.triggers.chat_approval import TwinChatApprovalTrigger
from airflow_provider_twin.triggers.connections import connections_in_use
from tests.unit.chat.chat_fixtures import CHAT_ID, bot_texts, listened, until

TI_ID = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
REQUEST_KEY = f"{TI_ID}#1"
ANNA, BORIS = "+7 900 123-45-67", {"phone": "+7 900 765-43-21", "name": "Boris"}
STRANGER = "79005550000"
OPTIONS = ["Approve", "Reject"]
SUBJECT = "Deploy?"
TAG = request_tag(REQUEST_KEY)


class FakeAirflow:
    """The task instance's Human-in-the-loop detail as the execution API keeps it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.response: HITLDetailResponse | None = None
        self.recorded: list[tuple[list[str], dict[str, Any]]] = []
        self.before_record: Any = None  # called before a record: another answer may come first
        self.fail_reads = 0
        monkeypatch.setattr(hitl_responses, "hitl_response", self.read)
        monkeypatch.setattr(hitl_responses, "record_hitl_response", self.record)

    def answer(
        self, chosen: list[str], user: dict[str, str] | None, params: dict[str, Any] | None = None
    ) -> None:
        self.response = HITLDetailResponse(
            response_received=True,
            responded_by_user=None if user is None else HITLUser(**user),
            responded_at=datetime.now(timezone.utc),
            chosen_options=chosen,
            params_input=params or {},
        )

    async def read(self, ti_id: str) -> HITLDetailResponse:
        assert ti_id == TI_ID
        if self.fail_reads:
            self.fail_reads -= 1
            raise RuntimeError("API server error 503")
        if self.response is None:
            return HITLDetailResponse(response_received=False, responded_at=None, chosen_options=None)
        return self.response

    async def record(
        self, ti_id: str, chosen: list[str], params: dict[str, Any]
    ) -> HITLDetailResponse | None:
        if self.before_record is not None:
            self.before_record()
        if self.response is not None:
            return None
        self.recorded.append((list(chosen), dict(params)))
        self.answer(list(chosen), None, params)
        return self.response


@pytest.fixture
def airflow(monkeypatch: pytest.MonkeyPatch) -> FakeAirflow:
    return FakeAirflow(monkeypatch)


def names(approvers: list[Approver]) -> dict[str, str]:
    return {approver.key: session_name(REQUEST_KEY, approver, "approvals.deploy") for approver in approvers}


def ask(approvers: list[Approver]) -> float:
    """Send the question to each approver as the operator does; returns when it was asked."""
    asked_at = time.time()
    hook = TwinHook()
    try:
        for approver in approvers:
            message = chat_message(
                approver,
                chat_id=CHAT_ID,
                session_name=names(approvers)[approver.key],
                text=question_text(SUBJECT, None, OPTIONS, False, None, "en", tag=TAG),
                continue_session=False,
            )
            bulk_id = conversation_bulk_id(REQUEST_KEY, approver, "question")
            hook.get_client().run(chat_message_procedure(message, bulk_id))
    finally:
        hook.close()
    return asked_at


async def anna_asked() -> tuple[list[Approver], float]:
    """Ask Anna alone (off the event loop); her approver list and when she was asked."""
    approvers = parse_approvers([ANNA])
    return approvers, await asyncio.to_thread(ask, approvers)


def make_trigger(approvers: list[Approver], asked_at: float, **overrides: Any) -> TwinChatApprovalTrigger:
    kwargs: dict[str, Any] = {
        "ti_id": TI_ID,
        "request_key": REQUEST_KEY,
        "subject": SUBJECT,
        "chat_id": CHAT_ID,
        "approvers": [approver.to_json() for approver in approvers],
        "session_names": names(approvers),
        "options": OPTIONS,
        "params": {"reason": {"value": "none given", "description": None, "schema": {}, "source": "task"}},
        "timeout_datetime": (datetime.now(timezone.utc) + timedelta(seconds=30)).isoformat(),
        "asked_at": asked_at,
        "poll_interval": 0.2,
    }
    kwargs.update(overrides)
    return TwinChatApprovalTrigger(**kwargs)


async def first_event(trigger: TwinChatApprovalTrigger) -> dict[str, Any]:
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1
    payload: dict[str, Any] = events[0]
    return payload


def reply(emulator: TwinEmulator, body: str, phone: str) -> dict[str, Any]:
    result: dict[str, Any] = emulator.admin.reply_in_chat(body, chat_id=CHAT_ID, phone=phone)
    return result


def send_as_stranger() -> None:
    """Someone else talks to the chat at the same time (a session of their own)."""
    stranger = Approver("phone:" + STRANGER, "Eve", {"phone": STRANGER})
    message = chat_message(
        stranger, chat_id=CHAT_ID, session_name="Lunch?", text="Hi", continue_session=False
    )
    hook = TwinHook()
    try:
        hook.get_client().run(chat_message_procedure(message, conversation_bulk_id("other", stranger, "hi")))
    finally:
        hook.close()


HELP = "Please answer with the number or the text of an option:"
HEADING = f"{SUBJECT} (ref {TAG})"


# -- kwargs ------------------------------------------------------------------------------------------
def test_kwargs_are_plain_json_without_credentials_and_re_create_the_trigger() -> None:
    approvers = parse_approvers([ANNA, BORIS])
    trigger = make_trigger(approvers, 1_790_000_000.5, defaults=["Reject"], messenger_type="WHATSAPP")
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_twin.triggers.chat_approval.TwinChatApprovalTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs["approvers"][0] == {
        "key": "phone:79001234567",
        "name": "+79001234567",
        "destination": {"phone": "79001234567"},
        "client_id": None,
    }
    assert kwargs["defaults"] == ["Reject"]
    assert kwargs["timeout_datetime"].endswith("+00:00")
    assert "token" not in json.dumps(kwargs).lower()
    assert "password" not in json.dumps(kwargs).lower()
    module, _, name = classpath.rpartition(".")
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (classpath, kwargs)


def test_params_are_rebuilt_as_hitl_trigger_does_keeping_airflow_s_notset_marker() -> None:
    """A param without a default holds Airflow's NOTSET, known by identity: a deep copy of it
    would read as a value (and fail as one that is not JSON)."""
    from airflow.sdk.definitions._internal.types import NOTSET

    note: dict[str, Any] = {"value": NOTSET, "description": None, "schema": {}, "source": "task"}
    serialized: dict[str, Any] = {"note": note}
    trigger = make_trigger(parse_approvers([ANNA]), 1_790_000_000.0, params=serialized)
    _, kwargs = trigger.serialize()
    assert kwargs["params"]["note"]["value"] is NOTSET
    again = TwinChatApprovalTrigger(**kwargs)
    assert again.serialize()[1]["params"]["note"]["value"] is NOTSET
    plain = make_trigger(parse_approvers([ANNA]), 1_790_000_000.0, params={"reason": "none"})
    assert plain.serialize()[1]["params"]["reason"]["value"] == "none"  # Airflow 3.1.0-3.1.2 form


def test_the_trigger_table_stores_and_re_creates_it() -> None:
    """Airflow's own path: the deferral's trigger stored as a Trigger row, then built by the triggerer."""
    from airflow.models.trigger import Trigger

    trigger = make_trigger(parse_approvers([ANNA]), 1_790_000_000.0, defaults=["Approve"])
    row = Trigger.from_object(trigger)
    module, _, name = row.classpath.rpartition(".")
    running = getattr(importlib.import_module(module), name)(**row.kwargs)
    assert running.serialize() == trigger.serialize()


def test_a_bad_poll_interval_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        make_trigger(parse_approvers([ANNA]), 0.0, poll_interval=0)


# -- against the emulator ------------------------------------------------------------------------------
@pytest.mark.integration
async def test_an_approval_in_chat_is_recorded_and_reported(
    twin_emulator: TwinEmulator, twin_connection_env: str, airflow: FakeAirflow
) -> None:
    approvers = parse_approvers([ANNA, BORIS])
    asked_at = await asyncio.to_thread(ask, approvers)
    run = asyncio.ensure_future(first_event(make_trigger(approvers, asked_at)))
    await asyncio.sleep(0.5)
    assert not run.done()
    await asyncio.to_thread(reply, twin_emulator, "Approve", "79007654321")  # Boris
    event = await asyncio.wait_for(run, 15)
    assert event["answered_in"] == "twin_chat"
    assert event["chosen_options"] == ["Approve"]
    assert event["params_input"] == {"reason": "none given"}
    assert event["responded_by_user"] == {"id": "twin:phone:79007654321", "name": "Boris (TWIN chat)"}
    assert event["timedout"] is False
    assert event["responded_at"].tzinfo is not None
    assert event["twin"]["approver"] == "phone:79007654321"
    assert airflow.recorded == [(["Approve"], {"reason": "none given"})]
    assert connections_in_use() == []


@pytest.mark.integration
async def test_a_reply_wakes_the_wait_over_the_websocket_long_before_the_next_poll(
    twin_emulator: TwinEmulator, twin_connection_env: str, airflow: FakeAirflow
) -> None:
    """TWIN publishes no event for a client's message; the session's next event (the bot typing)
    wakes the wait, which reads the reply over REST at once."""
    approvers, asked_at = await anna_asked()
    run = asyncio.ensure_future(first_event(make_trigger(approvers, asked_at, poll_interval=25.0)))
    await until(lambda: listened(twin_emulator) == 1)
    await asyncio.sleep(0.3)  # joined, and the REST read after the join done
    started = time.monotonic()
    await asyncio.to_thread(reply, twin_emulator, "1", "79001234567")
    event = await asyncio.wait_for(run, 20)
    assert time.monotonic() - started < 5
    assert (event["answered_in"], event["chosen_options"]) == ("twin_chat", ["Approve"])


@pytest.mark.integration
async def test_strangers_are_ignored_and_a_reply_that_chooses_nothing_gets_help(
    twin_emulator: TwinEmulator, twin_connection_env: str, airflow: FakeAirflow
) -> None:
    approvers, asked_at = await anna_asked()
    await asyncio.to_thread(send_as_stranger)
    run = asyncio.ensure_future(first_event(make_trigger(approvers, asked_at)))
    await asyncio.to_thread(reply, twin_emulator, "1", STRANGER)  # not an approver's session
    await asyncio.to_thread(reply, twin_emulator, "maybe tomorrow", "79001234567")
    await until(lambda: any(HELP in text for text in bot_texts(twin_emulator, "79001234567")))
    await asyncio.sleep(0.6)  # a few more rounds: the help is sent once, the stranger stays unheard
    assert not run.done()
    assert [t for t in bot_texts(twin_emulator, "79001234567") if HELP in t] == [
        f"{HEADING}\n{HELP}\n1. Approve\n2. Reject"
    ]
    assert bot_texts(twin_emulator, STRANGER) == ["Hi"]
    await asyncio.to_thread(reply, twin_emulator, "2", "79001234567")
    event = await asyncio.wait_for(run, 15)
    assert (event["answered_in"], event["chosen_options"]) == ("twin_chat", ["Reject"])
    assert airflow.recorded == [(["Reject"], {"reason": "none given"})]


@pytest.mark.integration
async def test_a_forged_widget_session_with_the_approvers_session_name_is_ignored(
    twin_emulator: TwinEmulator, twin_connection_env: str, airflow: FakeAirflow
) -> None:
    """Starting a widget session needs no credentials: a stranger who learnt the session name
    starts one with it and answers "1". No message of ours is in it, so it counts for nobody."""
    approvers, asked_at = await anna_asked()
    run = asyncio.ensure_future(first_event(make_trigger(approvers, asked_at)))
    forged = await asyncio.to_thread(
        httpx.post,
        f"{twin_emulator.base_url}/chat/api/v1/chats/{CHAT_ID}/sessions",
        json={"name": names(approvers)[approvers[0].key], "clientPhone": STRANGER, "messageBody": "1"},
    )
    assert forged.status_code == 201, forged.text
    await asyncio.to_thread(twin_emulator.admin.reply_in_chat, "yes", session_id=forged.json()["id"])
    await asyncio.sleep(1.0)  # several rounds
    assert not run.done()
    assert airflow.recorded == []
    # the bot greeted the stranger, but nothing of ours reached them (no help either)
    assert not any(TAG in text for text in bot_texts(twin_emulator, STRANGER))
    await asyncio.to_thread(twin_emulator.admin.reply_in_chat, "2", session_id=own_session(twin_emulator))
    event = await asyncio.wait_for(run, 15)
    assert (event["answered_in"], event["chosen_options"]) == ("twin_chat", ["Reject"])


def own_session(emulator: TwinEmulator) -> str:
    """Anna's session: the one the question opened."""
    sessions = emulator.admin.sessions(chatId=CHAT_ID, limit=1000)["items"]
    [session] = [s for s in sessions if s.get("clientPhone") == "79001234567"]
    session_id: str = session["id"]
    return session_id


@pytest.mark.integration
async def test_an_answer_given_in_airflow_first_is_reported_as_airflow_s(
    twin_emulator: TwinEmulator, twin_connection_env: str, airflow: FakeAirflow
) -> None:
    approvers, asked_at = await anna_asked()
    run = asyncio.ensure_future(first_event(make_trigger(approvers, asked_at)))
    await asyncio.sleep(0.5)
    airflow.answer(["Reject"], {"id": "7", "name": "Admin"}, {"reason": "not today"})
    event = await asyncio.wait_for(run, 15)
    assert event["answered_in"] == "airflow"
    assert (event["chosen_options"], event["params_input"]) == (["Reject"], {"reason": "not today"})
    assert event["responded_by_user"] == {"id": "7", "name": "Admin"}
    assert event["timedout"] is False
    assert "twin" not in event
    assert airflow.recorded == []


@pytest.mark.integration
async def test_a_chat_answer_that_loses_the_race_reports_the_answer_airflow_kept(
    twin_emulator: TwinEmulator, twin_connection_env: str, airflow: FakeAirflow
) -> None:
    approvers, asked_at = await anna_asked()
    airflow.before_record = lambda: airflow.answer(["Reject"], {"id": "7", "name": "Admin"})
    run = asyncio.ensure_future(first_event(make_trigger(approvers, asked_at)))
    await asyncio.to_thread(reply, twin_emulator, "yes", "79001234567")
    event = await asyncio.wait_for(run, 15)
    assert (event["answered_in"], event["chosen_options"]) == ("airflow", ["Reject"])
    assert event["responded_by_user"] == {"id": "7", "name": "Admin"}
    assert airflow.recorded == []


@pytest.mark.integration
async def test_at_the_timeout_the_defaults_are_recorded(
    twin_emulator: TwinEmulator, twin_connection_env: str, airflow: FakeAirflow
) -> None:
    approvers, asked_at = await anna_asked()
    soon = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    trigger = make_trigger(approvers, asked_at, defaults=["Reject"], timeout_datetime=soon)
    event = await asyncio.wait_for(first_event(trigger), 15)
    assert event["answered_in"] == "timeout"
    assert (event["chosen_options"], event["timedout"], event["responded_by_user"]) == (
        ["Reject"],
        True,
        None,
    )
    assert event["responded_at"].tzinfo is not None
    assert airflow.recorded == [(["Reject"], {"reason": "none given"})]


@pytest.mark.integration
async def test_a_chat_answer_given_before_the_timeout_wins_over_the_defaults(
    twin_emulator: TwinEmulator, twin_connection_env: str, airflow: FakeAirflow
) -> None:
    """The reply comes between two reads and the next read is after the timeout: the last read
    at the timeout still takes it, as TWIN created it in time."""
    approvers, asked_at = await anna_asked()
    soon = (datetime.now(timezone.utc) + timedelta(seconds=3)).isoformat()
    trigger = make_trigger(
        approvers, asked_at, defaults=["Reject"], timeout_datetime=soon, poll_interval=10.0, realtime=False
    )
    run = asyncio.ensure_future(first_event(trigger))
    await asyncio.sleep(1.0)
    await asyncio.to_thread(reply, twin_emulator, "Approve", "79001234567")
    event = await asyncio.wait_for(run, 15)
    assert (event["answered_in"], event["chosen_options"], event["timedout"]) == (
        "twin_chat",
        ["Approve"],
        False,
    )
    assert airflow.recorded == [(["Approve"], {"reason": "none given"})]


async def test_at_the_timeout_without_defaults_the_wait_fails(airflow: FakeAirflow) -> None:
    past = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
    trigger = make_trigger(parse_approvers([ANNA]), time.time() - 60, timeout_datetime=past)
    event = await asyncio.wait_for(first_event(trigger), 15)
    assert event == {
        "error": "The timeout has passed, and the response has not yet been received.",
        "error_type": "timeout",
    }


async def test_a_response_recorded_by_an_earlier_run_is_reported_after_a_restart(
    airflow: FakeAirflow,
) -> None:
    """The triggerer restarted after recording: the response has no responder (execution API)."""
    airflow.answer(["Approve"], None)
    event = await asyncio.wait_for(first_event(make_trigger(parse_approvers([ANNA]), time.time())), 15)
    assert (event["answered_in"], event["chosen_options"], event["timedout"]) == (
        "twin_chat",
        ["Approve"],
        False,
    )


@pytest.mark.integration
async def test_errors_asking_airflow_or_twin_are_retried(
    twin_emulator: TwinEmulator, twin_connection_env: str, airflow: FakeAirflow
) -> None:
    approvers, asked_at = await anna_asked()
    airflow.fail_reads = 2
    twin_emulator.admin.add_fault(method="GET", path="/chat/api/v1/sessions*", status=503, times=8)
    run = asyncio.ensure_future(first_event(make_trigger(approvers, asked_at, realtime=False)))
    await asyncio.to_thread(reply, twin_emulator, "approve", "79001234567")
    event = await asyncio.wait_for(run, 30)
    assert (event["answered_in"], event["chosen_options"]) == ("twin_chat", ["Approve"])
    assert airflow.fail_reads == 0


@pytest.mark.integration
async def test_a_connection_that_cannot_log_in_ends_the_wait_with_an_error(
    twin_emulator: TwinEmulator, monkeypatch: pytest.MonkeyPatch, airflow: FakeAirflow
) -> None:
    connection = json.loads(twin_emulator.connection_json)
    connection["password"] = "wrong"
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(connection))
    event = await asyncio.wait_for(first_event(make_trigger(parse_approvers([ANNA]), time.time())), 30)
    assert event["error_type"] == "unknown"
    assert "twin_default" in event["error"]


async def test_without_a_connection_the_wait_ends_with_an_error(
    airflow: FakeAirflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_TWIN_MISSING", raising=False)
    trigger = make_trigger(parse_approvers([ANNA]), time.time(), twin_conn_id="twin_missing")
    event = await asyncio.wait_for(first_event(trigger), 15)
    assert event["error_type"] == "unknown"
    assert "twin_missing" in event["error"]


@pytest.mark.integration
async def test_without_the_realtime_extra_the_wait_polls(
    twin_emulator: TwinEmulator,
    twin_connection_env: str,
    airflow: FakeAirflow,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(module: str) -> Any:
        raise ImportError("TWIN realtime needs the 'realtime' extra")

    monkeypatch.setattr(chat_approval_wait, "load_realtime", missing)
    approvers, asked_at = await anna_asked()
    run = asyncio.ensure_future(first_event(make_trigger(approvers, asked_at)))
    await asyncio.sleep(0.5)
    await asyncio.to_thread(reply, twin_emulator, "да", "79001234567")
    event = await asyncio.wait_for(run, 15)
    assert (event["answered_in"], event["chosen_options"]) == ("twin_chat", ["Approve"])
    assert listened(twin_emulator) == 0  # no websocket was opened
