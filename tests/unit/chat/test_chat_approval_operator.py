"""The TWIN chat approval operators: their arguments checked where the DAG is parsed, the question
sent and the wait deferred to the chat approval trigger, the outcome told at the end.

Airflow's own part (writing the Human-in-the-loop detail) is faked where the operator calls it;
TWIN is the emulator.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.standard.operators import hitl as airflow_hitl
from airflow.sdk import DAG, Param
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred
from structlog.testing import capture_logs

from airflow_provider_twin.client.chat import parse_approvers, request_tag
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.operators.chat_approval import (
    TwinChatApprovalOperator,
    TwinChatBranchOperator,
    TwinChatHITLOperator,
)
from airflow_provider_twin.triggers.chat_approval import TwinChatApprovalTrigger
from tests.unit.chat.chat_fixtures import CHAT_ID, bot_texts

ANNA, BORIS = "+7 900 123-45-67", {"phone": "+7 900 765-43-21", "name": "Boris"}
TI_ID = uuid.UUID("0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")


def approval(**overrides: Any) -> TwinChatApprovalOperator:
    kwargs: dict[str, Any] = {
        "task_id": "approve_deploy",
        "subject": "Deploy release 42?",
        "approvers": [ANNA, BORIS],
        "chat_id": CHAT_ID,
    }
    kwargs.update(overrides)
    return TwinChatApprovalOperator(**kwargs)


# -- arguments -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"approvers": []}, "approvers"),
        ({"approvers": ["not a phone"]}, r"approvers\[0\]\.phone"),
        ({"approvers": [ANNA, {"email": "a@example.com"}]}, r"approvers\[1\]\.email"),
        ({"chat_id": ""}, "chat_id"),
        ({"chat_id": "my chat"}, "chat_id"),
        ({"language": "de"}, "language"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": "3"}, "poll_interval"),
    ],
)
def test_a_bad_argument_fails_where_the_dag_is_parsed_naming_it(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        approval(**overrides)


def test_params_without_a_valid_default_are_refused_where_the_dag_is_parsed() -> None:
    """A chat answer records each param's default: one that does not validate would fail the
    task after the answer is stored."""
    with pytest.raises(ValueError, match=r"give 'reason' a valid default or answer in Airflow"):
        approval(params={"reason": Param(type="string")})
    with pytest.raises(ValueError, match=r"params: .*'count'"):
        approval(params={"note": "fine", "count": Param("many", type="integer")})
    operator = approval(params={"reason": Param("none given", type="string", minLength=1)})
    assert operator.params["reason"] == "none given"


def test_dag_params_are_not_the_operator_s_and_are_not_checked() -> None:
    with DAG("approvals", schedule=None, params={"who": Param(type="string")}):
        operator = approval()
    assert "who" not in operator.params


def test_templates_are_checked_once_rendered() -> None:
    operator = approval(approvers="{{ params.approvers }}", chat_id="{{ var.value.approval_chat }}")
    assert operator.chat_id == "{{ var.value.approval_chat }}"
    assert set(operator.template_fields) >= {"subject", "body", "chat_id", "approvers"}
    operator.approvers, operator.chat_id = "+7 900 123-45-67", "not a uuid"
    with pytest.raises(AirflowFailException, match="chat_id"):
        operator.execute(make_context(operator))


@pytest.mark.parametrize(
    "approvers",
    [
        ["{{ var.value.boss }}"],
        [ANNA, {"phone": "{{ params.phone }}", "name": "On duty"}],
        ({"clientId": "{% if params.night %}c-night{% else %}c-day{% endif %}"},),
    ],
)
def test_templates_inside_the_approvers_are_checked_once_rendered(approvers: Any) -> None:
    operator = approval(approvers=approvers)
    assert operator.approvers == approvers
    operator.approvers = ["not a phone"]  # what the template rendered
    with pytest.raises(AirflowFailException, match=r"approvers\[0\]\.phone"):
        operator.execute(make_context(operator))


def test_approvers_without_templates_are_still_checked_at_parse() -> None:
    with pytest.raises(ValueError, match=r"approvers\[1\]\.phone"):
        approval(approvers=[{"phone": 79001234567, "name": "Ann"}, {"phone": "{ not a template }"}])


def test_each_airflow_operator_keeps_its_own_arguments() -> None:
    branch = TwinChatBranchOperator(
        task_id="pick",
        subject="Which way?",
        options=["Left", "Right"],
        options_mapping={"Left": "go_left"},
        approvers=[ANNA],
        chat_id=CHAT_ID,
        language="ru",
    )
    assert (branch.options, branch.options_mapping, branch.language) == (
        ["Left", "Right"],
        {"Left": "go_left"},
        "ru",
    )
    entry = TwinChatHITLOperator(
        task_id="ask", subject="Size?", options=["S", "M"], multiple=True, approvers=[ANNA], chat_id=CHAT_ID
    )
    assert entry.multiple is True
    with pytest.raises(ValueError, match="options"):
        approval(options=["Yes", "No"])  # ApprovalOperator's options are fixed


# -- run against the emulator ------------------------------------------------------------------------------
class FakeTI:
    id = TI_ID
    try_number = 1
    dag_id = "deploys"
    task_id = "approve_deploy"
    run_id = "manual__2026-12-01"
    map_index = -1


def make_context(operator: Any) -> Any:
    ti = FakeTI()
    return {"task_instance": ti, "ti": ti, "task": operator, "dag_run": SimpleNamespace(run_id=ti.run_id)}


@pytest.fixture
def hitl_detail(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Airflow's Human-in-the-loop detail writes, recorded instead of sent to the supervisor."""
    written: list[dict[str, Any]] = []
    monkeypatch.setattr(airflow_hitl, "upsert_hitl_detail", lambda **kwargs: written.append(kwargs))
    return written


def warnings_of(logs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The chat approval warnings among log entries captured by ``structlog.testing.capture_logs``
    (Airflow warns of its own that ``execute`` runs outside a task runner here)."""
    return [
        str(entry["event"])
        for entry in logs
        if entry.get("log_level") == "warning" and str(entry["event"]).startswith("Chat approval:")
    ]


def answer_in_airflow(operator: TwinChatApprovalOperator, deferred: TaskDeferred, option: str) -> None:
    """Resume the deferred operator as Airflow does when the admin answers ``option`` in its UI."""
    event = {  # HITLDetail.as_resume_event_payload() of Airflow 3.3
        "chosen_options": [option],
        "params_input": {},
        "responded_at": datetime.now(timezone.utc),
        "responded_by_user": {"id": "1", "name": "admin"},
        "timedout": False,
    }
    operator.execute_complete(make_context(operator), event, twin_chat=(deferred.kwargs or {})["twin_chat"])


@pytest.mark.integration
def test_the_question_goes_to_every_approver_and_the_wait_defers_to_the_chat_trigger(
    twin_emulator: TwinEmulator, twin_connection_env: str, hitl_detail: list[dict[str, Any]]
) -> None:
    operator = approval(body="Release notes: ...", response_timeout=timedelta(hours=1), defaults="Reject")
    with capture_logs() as logs, pytest.raises(TaskDeferred) as deferred:
        operator.execute(make_context(operator))
    assert warnings_of(logs) == []  # an hour: within a chat session's default lifetime
    assert hitl_detail[0]["subject"] == "Deploy release 42?"  # Airflow's request written first
    trigger = deferred.value.trigger
    assert isinstance(trigger, TwinChatApprovalTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert (trigger.ti_id, trigger.request_key, trigger.chat_id) == (str(TI_ID), f"{TI_ID}#1", CHAT_ID)
    assert [a.key for a in trigger.approvers] == ["phone:79001234567", "phone:79007654321"]
    assert trigger.defaults == ["Reject"]
    timeout = datetime.fromisoformat(trigger.timeout_datetime or "")
    assert timedelta(minutes=59) < timeout - datetime.now(timezone.utc) <= timedelta(hours=1)
    tag = request_tag(f"{TI_ID}#1")
    assert trigger.subject == "Deploy release 42?"
    for phone in ("79001234567", "79007654321"):
        (question,) = bot_texts(twin_emulator, phone)
        assert question.startswith(f"Deploy release 42? (ref {tag})\n\nRelease notes: ...\n\n")
        assert "\n1. Approve\n2. Reject\n\n" in question
        assert question.endswith(f'start the answer with the reference, e.g. "{tag} 1".')
    sessions = twin_emulator.admin.sessions(chatId=CHAT_ID)["items"]
    assert {s["name"] for s in sessions} == set(trigger.session_names.values())
    assert all(
        re.fullmatch(r"Airflow approval · deploys\.approve_deploy · [0-9a-f]{12}", s["name"])
        for s in sessions
    )
    twin_chat = (deferred.value.kwargs or {})["twin_chat"]

    # Resumed: Boris approved in chat; everyone is told, and ApprovalOperator's result comes back.
    event = {
        "chosen_options": ["Approve"],
        "params_input": {},
        "responded_at": datetime.now(timezone.utc),
        "responded_by_user": {"id": "twin:phone:79007654321", "name": "Boris (TWIN chat)"},
        "timedout": False,
        "answered_in": "twin_chat",
        "twin": {"approver": "phone:79007654321", "session_id": "s", "message_id": "m"},
    }
    result = operator.execute_complete(make_context(operator), event, twin_chat=twin_chat)
    assert result["chosen_options"] == ["Approve"]
    assert operator.hitl_summary_extra["answered_in"] == "twin_chat"
    assert operator.hitl_summary_extra["approved"] is True
    # Boris decided; Anna (who may have answered otherwise in the same round) is told by whom.
    heading = f"Deploy release 42? (ref {tag})"
    assert bot_texts(twin_emulator, "79007654321")[-1] == f"{heading}\nRecorded: Approve. Thank you."
    assert (
        bot_texts(twin_emulator, "79001234567")[-1]
        == f"{heading}\nAlready decided in TWIN chat by Boris: Approve"
    )
    operator.execute_complete(make_context(operator), event, twin_chat=twin_chat)  # a repeat
    assert bot_texts(twin_emulator, "79001234567")[-1].endswith(
        "\nAlready decided in TWIN chat by Boris: Approve"
    )
    assert len(bot_texts(twin_emulator, "79001234567")) == 2  # the outcome is sent once


@pytest.mark.integration
def test_an_answer_from_airflow_s_api_resumes_with_its_own_event_and_is_told_with_who(
    twin_emulator: TwinEmulator, twin_connection_env: str, hitl_detail: list[dict[str, Any]]
) -> None:
    operator = approval(approvers=[ANNA])
    operator.log.info("logging before the capture")  # a logger in use already is captured too
    with capture_logs() as logs, pytest.raises(TaskDeferred) as deferred:
        operator.execute(make_context(operator))
    # no response_timeout: a reply after the session ended would not be read
    (warning,) = warnings_of(logs)
    assert warning.startswith("Chat approval: no response_timeout: longer than any chat session lives.")
    answer_in_airflow(operator, deferred.value, "Reject")
    assert operator.hitl_summary_extra["answered_in"] == "airflow"
    assert operator.hitl_summary_extra["approved"] is False
    assert bot_texts(twin_emulator, "79001234567")[-1].endswith(
        "\nAlready decided in Airflow by admin: Reject"
    )


@pytest.mark.integration
def test_when_nobody_can_be_asked_the_task_fails_saying_so(
    twin_emulator: TwinEmulator, twin_connection_env: str, hitl_detail: list[dict[str, Any]]
) -> None:
    twin_emulator.admin.add_fault(method="POST", path="/notify/api/v1/messages*", status=400)
    operator = approval()
    with pytest.raises(AirflowException, match="nobody was asked in TWIN chat"):
        operator.execute(make_context(operator))


@pytest.mark.integration
def test_twin_refusing_the_outcome_does_not_fail_the_task(
    twin_emulator: TwinEmulator, twin_connection_env: str
) -> None:
    operator = approval(approvers=[ANNA])
    approver = parse_approvers([ANNA])[0]
    twin_chat = {
        "request_key": "r",
        "chat_id": CHAT_ID,
        "approvers": [approver.to_json()],
        "session_names": {approver.key: "Airflow approval · x · 000000000000"},
    }
    fault = twin_emulator.admin.add_fault(method="POST", path="/notify/api/v1/messages*", status=400)
    event = {
        "chosen_options": ["Reject"],
        "params_input": {},
        "responded_at": datetime.now(timezone.utc),
        "responded_by_user": None,
        "timedout": True,
        "answered_in": "timeout",
    }
    result = operator.execute_complete(make_context(operator), event, twin_chat=twin_chat)
    assert result["chosen_options"] == ["Reject"]
    assert operator.hitl_summary_extra["answered_in"] == "timeout"
    assert next(f for f in twin_emulator.admin.faults() if f["id"] == fault)["hits"] >= 1


def test_a_timeout_without_defaults_still_fails_the_task_as_airflow_s_does() -> None:
    from airflow.providers.standard.exceptions import HITLTimeoutError

    operator = approval(approvers=[ANNA])
    event = {"error": "The timeout has passed", "error_type": "timeout"}
    with pytest.raises(HITLTimeoutError):
        operator.execute_complete(make_context(operator), event, twin_chat=None)
    assert operator.hitl_summary_extra["answered_in"] == "timeout"


@pytest.mark.integration
def test_secrets_in_the_texts_never_reach_twin(
    twin_emulator: TwinEmulator, twin_connection_env: str, hitl_detail: list[dict[str, Any]]
) -> None:
    """The question and the outcome are redacted as ``TwinNotifier``'s texts are: a secret
    Airflow's masker knows and the connection's password become ``***``."""
    from airflow_provider_twin.hooks.secret_masking import mask_secret_locally

    password = json.loads(twin_emulator.connection_json)["password"]
    masked = "vault-" + uuid.uuid4().hex
    mask_secret_locally(masked)
    operator = approval(
        approvers=[ANNA], subject=f"Rotate {masked}?", body=f"Old key {masked}, login {password}"
    )
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(make_context(operator))
    answer_in_airflow(operator, deferred.value, "Approve")
    question, outcome = bot_texts(twin_emulator, "79001234567")
    for text in (question, outcome):
        assert masked not in text
        assert password not in text
        assert "Rotate ***?" in text
    assert "Old key ***, login ***" in question
