"""Approval over TWIN chat in a real Airflow: approved, rejected, answered in Airflow first, timed
out, a stranger's reply ignored, a branch chosen in the chat, and the example DAG approved.

One Airflow (api-server, scheduler, dag-processor and triggerer as separate processes on
loopback, SQLite) runs the DAGs of ``dags/`` (the test DAGs and the example) against one
emulator for the whole module. Every DAG's run is triggered as soon as Airflow is up, so the
runs wait for their approvers side by side; each test then plays its approver (the emulator's
``reply_in_chat``, a CLIENT message in the approver's chat session) or answers in Airflow's REST
API, and reads what Airflow recorded (task states, the Human-in-the-loop detail, the task's
return value) and what TWIN holds (the campaign's messages, the chat sessions and their
messages).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_twin.emulator import EmulatorSettings, TwinEmulator
from tests.integration.approvals.approval_stack import ApprovalStack, sessions_of, texts
from tests.integration.approvals.dags import approval_dags
from tests.integration.approvals.dags.approval_dags import APPROVERS, CAMPAIGN_PHONES, CHAT_ID

#: The approval example DAG (``dags/example_approval.py`` runs the example file), its chat and
#: approver as the example's params give them.
EXAMPLE_DAG = "example_twin_chat_approval"
EXAMPLE_CHAT_ID = "6f1c9a3e-2b7d-4e58-a0c4-93d2e1f7b865"
EXAMPLE_APPROVER = "79990000501"

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

try:  # Airflow's Human-in-the-loop operators (Airflow 3.1+, the standard provider)
    from airflow.providers.standard.operators import hitl  # noqa: F401
except Exception as missing:  # noqa: BLE001 - any reason it cannot be imported
    pytest.skip(
        f"this Airflow has no Human-in-the-loop operators, which chat approval builds on: {missing}",
        allow_module_level=True,
    )

#: How long a step may take here (a busy CI machine included).
STEP_TIMEOUT = 90.0
#: A phone that is nobody's approver.
STRANGER = "79990007099"


@pytest.fixture(scope="module")
def twin() -> Iterator[TwinEmulator]:
    with TwinEmulator(EmulatorSettings(delivery_seconds=0.3, bot_greeting="")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def stack(twin: TwinEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApprovalStack]:
    workdir: Path = tmp_path_factory.mktemp("approval-stack")
    running = ApprovalStack(workdir, twin, sorted([*APPROVERS, EXAMPLE_DAG]))
    with running:
        yield running


@pytest.fixture(scope="module")
def runs(stack: ApprovalStack) -> dict[str, str]:
    """One run of every approval DAG, all triggered at once: DAG id -> run id."""
    return {dag_id: stack.trigger(dag_id) for dag_id in [*APPROVERS, EXAMPLE_DAG]}


def phone_of(dag_id: str) -> str:
    return APPROVERS[dag_id][0]


def question_session(stack: ApprovalStack, twin: TwinEmulator, dag_id: str) -> dict[str, Any]:
    """Wait until the approver of ``dag_id`` has been asked in the chat; their session."""

    def asked() -> dict[str, Any] | None:
        for session in sessions_of(twin, CHAT_ID, phone_of(dag_id)):
            if str(session.get("name", "")).startswith("Airflow approval") and texts(session):
                return session
        return None

    return stack.wait_for(f"the question to {dag_id}'s approver", asked, time.monotonic() + STEP_TIMEOUT, 0.5)


def session_now(twin: TwinEmulator, session_id: str) -> dict[str, Any]:
    """The session as the emulator holds it now, with its messages."""
    items: list[dict[str, Any]] = [
        item
        for chat_id in (CHAT_ID, EXAMPLE_CHAT_ID)
        for item in twin.admin.sessions(chatId=chat_id, limit=1000)["items"]
    ]
    [session] = [item for item in items if item["id"] == session_id]
    return session


def wait_for_text(
    stack: ApprovalStack, twin: TwinEmulator, session_id: str, expected: str, timeout: float = STEP_TIMEOUT
) -> list[str]:
    """Wait until a message to the approver in the session contains ``expected``; all texts."""

    def told() -> list[str] | None:
        found = texts(session_now(twin, session_id))
        return found if any(expected in text for text in found) else None

    return stack.wait_for(f"{expected!r} in session {session_id}", told, time.monotonic() + timeout, 0.5)


def campaign_messages(
    stack: ApprovalStack, twin: TwinEmulator, dag_id: str, run_id: str, task_id: str
) -> list[Any]:
    """The messages the run's send task created in TWIN."""
    sent = stack.returned(dag_id, run_id, task_id)
    items: list[dict[str, Any]] = twin.admin.messages(bulkId=",".join(sent["bulk_ids"]), limit=100)["items"]
    return items


def finished(stack: ApprovalStack, dag_id: str, run_id: str) -> dict[str, str | None]:
    """Wait for the run to succeed; its tasks' states."""
    run = stack.wait_for_run(dag_id, run_id, timeout=STEP_TIMEOUT)
    tasks = stack.task_instances(dag_id, run_id)
    assert run["state"] == "success", tasks
    return tasks


def test_an_approval_in_the_chat_sends_the_campaign(
    stack: ApprovalStack, twin: TwinEmulator, runs: dict[str, str]
) -> None:
    dag_id, run_id = "twin_it_approve", runs["twin_it_approve"]
    session = question_session(stack, twin, dag_id)
    [question] = texts(session)
    assert "Send the campaign of twin_it_approve?" in question
    assert "1. Approve" in question
    assert "2. Reject" in question
    # The link to the task's Required Actions page, to answer in Airflow instead.
    assert f"{stack.base_url}/dags/{dag_id}/runs/{run_id}/tasks/approval/required_actions" in question
    twin.admin.reply_in_chat(chat_id=CHAT_ID, phone=phone_of(dag_id), body="yes")

    assert finished(stack, dag_id, run_id) == {"approval": "success", "send_campaign": "success"}
    detail = stack.hitl_detail(dag_id, run_id, "approval")
    assert (detail["chosen_options"], detail["response_received"]) == (["Approve"], True)
    # Airflow's execution API records a chat answer without an Airflow user; the task's return
    # value names the TWIN approver.
    returned = stack.returned(dag_id, run_id, "approval")
    assert returned["chosen_options"] == ["Approve"]
    assert "Olga Approver" in returned["responded_by_user"]["name"]
    assert phone_of(dag_id) in returned["responded_by_user"]["id"]
    assert "Olga Approver" in stack.task_log(dag_id, run_id, "approval")
    [sms] = campaign_messages(stack, twin, dag_id, run_id, "send_campaign")
    assert sms["destination"]["phone"] == CAMPAIGN_PHONES[dag_id]
    wait_for_text(stack, twin, session["id"], "Approve", timeout=10)
    assert any("Recorded" in text for text in texts(session_now(twin, session["id"])))


def test_a_rejection_in_the_chat_skips_the_send_and_other_words_get_help(
    stack: ApprovalStack, twin: TwinEmulator, runs: dict[str, str]
) -> None:
    dag_id, run_id = "twin_it_reject", runs["twin_it_reject"]
    session = question_session(stack, twin, dag_id)
    twin.admin.reply_in_chat(chat_id=CHAT_ID, phone=phone_of(dag_id), body="what is this about?")
    helped = wait_for_text(stack, twin, session["id"], "Please answer")
    assert "2. Reject" in helped[-1]
    assert stack.task_state(dag_id, run_id, "approval") == "deferred", "a question is no answer"
    twin.admin.reply_in_chat(chat_id=CHAT_ID, phone=phone_of(dag_id), body="Reject")

    assert finished(stack, dag_id, run_id) == {"approval": "success", "send_campaign": "skipped"}
    assert stack.hitl_detail(dag_id, run_id, "approval")["chosen_options"] == ["Reject"]
    # A Reject skips the downstream tasks, which ends the task without a return value: the
    # approver is in its log.
    assert "Rita Rejecter" in stack.task_log(dag_id, run_id, "approval")
    wait_for_text(stack, twin, session["id"], "Recorded: Reject", timeout=10)


def test_an_answer_in_airflow_first_tells_the_chat(
    stack: ApprovalStack, twin: TwinEmulator, runs: dict[str, str]
) -> None:
    dag_id, run_id = "twin_it_airflow_first", runs["twin_it_airflow_first"]
    session = question_session(stack, twin, dag_id)
    stack.wait_for_task_state(dag_id, run_id, "approval", {"deferred"}, STEP_TIMEOUT)
    answered = stack.answer(dag_id, run_id, "approval", ["Approve"])
    assert answered["chosen_options"] == ["Approve"]
    who = answered["responded_by"]["name"]

    assert finished(stack, dag_id, run_id) == {"approval": "success", "send_campaign": "success"}
    returned = stack.returned(dag_id, run_id, "approval")
    assert returned["chosen_options"] == ["Approve"]
    assert returned["responded_by_user"]["name"] == who  # Airflow's user, not a TWIN approver
    told = wait_for_text(stack, twin, session["id"], "Already decided in Airflow", timeout=10)
    assert "Approve" in told[-1]
    # A late chat answer changes nothing: the first answer won.
    with pytest.raises(httpx.HTTPStatusError) as again:
        stack.answer(dag_id, run_id, "approval", ["Reject"])
    assert again.value.response.status_code == 409


def test_no_answer_in_time_takes_the_default(
    stack: ApprovalStack, twin: TwinEmulator, runs: dict[str, str]
) -> None:
    dag_id, run_id = "twin_it_timeout", runs["twin_it_timeout"]
    session = question_session(stack, twin, dag_id)

    assert finished(stack, dag_id, run_id) == {"approval": "success", "send_campaign": "skipped"}
    assert stack.hitl_detail(dag_id, run_id, "approval")["chosen_options"] == ["Reject"]
    told = wait_for_text(stack, twin, session["id"], "No answer in time", timeout=10)
    assert "Reject" in told[-1]


def test_a_strangers_reply_is_ignored(stack: ApprovalStack, twin: TwinEmulator, runs: dict[str, str]) -> None:
    dag_id, run_id = "twin_it_stranger", runs["twin_it_stranger"]
    session = question_session(stack, twin, dag_id)
    chats = f"{twin.base_url}/chat/api/v1/chats/{CHAT_ID}/sessions"
    # A stranger in the same chat, in a session of their own; and a session of another name with
    # the approver's own phone (not the one the question opened).
    for client, name in ((STRANGER, "Support"), (phone_of(dag_id), "Airflow approval · not this one")):
        response = httpx.post(chats, json={"clientPhone": client, "name": name}, timeout=30, trust_env=False)
        response.raise_for_status()
        twin.admin.reply_in_chat("yes", session_id=response.json()["id"])
    time.sleep(4 * approval_dags.POLL_SECONDS)
    assert stack.task_state(dag_id, run_id, "approval") == "deferred", "a stranger's yes was taken"
    assert not stack.hitl_detail(dag_id, run_id, "approval")["response_received"]
    twin.admin.reply_in_chat("no", session_id=session["id"])

    assert finished(stack, dag_id, run_id) == {"approval": "success", "send_campaign": "skipped"}
    assert stack.hitl_detail(dag_id, run_id, "approval")["chosen_options"] == ["Reject"]
    assert "Sam Careful" in stack.task_log(dag_id, run_id, "approval")
    [stranger] = sessions_of(twin, CHAT_ID, STRANGER)
    assert texts(stranger, "BOT", "OPERATOR") == [], "nothing is sent to a stranger"


def test_the_branch_chosen_in_the_chat_runs(
    stack: ApprovalStack, twin: TwinEmulator, runs: dict[str, str]
) -> None:
    dag_id, run_id = "twin_it_branch", runs["twin_it_branch"]
    session = question_session(stack, twin, dag_id)
    [question] = texts(session)
    assert all(
        f"{number}. {option}" in question for number, option in enumerate(approval_dags.BRANCH_OPTIONS, 1)
    )
    twin.admin.reply_in_chat(chat_id=CHAT_ID, phone=phone_of(dag_id), body="2")

    tasks = finished(stack, dag_id, run_id)
    assert tasks == {
        "choose": "success",
        "send_now": "skipped",
        "send_tomorrow": "success",
        "cancel": "skipped",
    }
    assert stack.hitl_detail(dag_id, run_id, "choose")["chosen_options"] == ["Send tomorrow"]
    [held] = campaign_messages(stack, twin, dag_id, run_id, "send_tomorrow")
    assert held["status"] == "DELAYED"
    wait_for_text(stack, twin, session["id"], "Send tomorrow", timeout=10)


def test_the_example_dag_approved_in_the_chat_sends_its_campaign(
    stack: ApprovalStack, twin: TwinEmulator, runs: dict[str, str]
) -> None:
    run_id = runs[EXAMPLE_DAG]

    def asked() -> dict[str, Any] | None:
        found = [s for s in sessions_of(twin, EXAMPLE_CHAT_ID, EXAMPLE_APPROVER) if texts(s)]
        return found[0] if found else None

    session = stack.wait_for("the example's question", asked, time.monotonic() + STEP_TIMEOUT, 0.5)
    [question] = texts(session)
    assert question.startswith("Send the spring campaign to 3 clients? (ref #")
    assert "1. Approve\n2. Reject" in question
    twin.admin.reply_in_chat(chat_id=EXAMPLE_CHAT_ID, phone=EXAMPLE_APPROVER, body="yes")

    tasks = finished(stack, EXAMPLE_DAG, run_id)
    assert tasks == {"plan_campaign": "success", "approve_campaign": "success", "send_campaign": "success"}
    assert stack.hitl_detail(EXAMPLE_DAG, run_id, "approve_campaign")["chosen_options"] == ["Approve"]
    sent = campaign_messages(stack, twin, EXAMPLE_DAG, run_id, "send_campaign")
    assert sorted(m["destination"]["phone"] for m in sent) == ["79990000511", "79990000512", "79990000513"]
    # The example's TwinNotifier texted the approver the question with the Required Actions link.
    sms = [
        m
        for m in twin.admin.messages(channel="sms", limit=1000)["items"]
        if m["destination"].get("phone") == EXAMPLE_APPROVER
    ]
    link = f"{stack.base_url}/dags/{EXAMPLE_DAG}/runs/{run_id}/tasks/approve_campaign/required_actions"
    assert len(sms) == 1
    assert link in str(sms[0])
    wait_for_text(stack, twin, session["id"], "Recorded: Approve", timeout=10)
