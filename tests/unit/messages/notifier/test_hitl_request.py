"""TwinNotifier in a human-in-the-loop operator's ``notifiers``: the request, once, redacted."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_twin.client.messages.text_fitting import TRUNCATION_MARKER
from airflow_provider_twin.notifications import TwinNotifier
from airflow_provider_twin.notifications.event import callback_event
from airflow_provider_twin.notifications.hitl_request import (
    BODY_PREVIEW_LENGTH,
    HITL_DEFAULT_TEXT,
    hitl_variables,
    is_hitl_request,
    is_hitl_task,
)
from tests.unit.messages.notifier.callback_contexts import lines, logged, task_context
from tests.unit.messages.notifier.conftest import Twin
from tests.unit.messages.twin_wire import GET, POST

LINK = "http://airflow.example.com/dags/nightly_crm/runs/r/tasks/load/required_actions?map_index=-1"
TELEGRAM: dict[str, dict[str, Any]] = {"telegram": {}}


def hitl_task(link: str | None = LINK, **values: Any) -> Any:
    """An object with what Airflow's HITL operators have (their class is not needed)."""

    def generate_link_to_ui_from_context(*, context: Any, base_url: str | None = None) -> str:
        if link is None:
            raise ValueError("Not able to retrieve base_url")
        return link

    fields = {
        "subject": "Load 1250 CRM rows into production?",
        "body": "The export of 2026-01-28 is ready.",
        "options": ["Approve", "Reject"],
        "multiple": False,
        "defaults": None,
        "generate_link_to_ui_from_context": generate_link_to_ui_from_context,
    }
    fields.update(values)
    return SimpleNamespace(**fields)


def hitl_context(task: Any = None, **ti: Any) -> dict[str, Any]:
    """The context a HITL operator hands its notifiers: the running try, ``task`` the operator."""
    return {**task_context(state="running", **ti), "task": hitl_task() if task is None else task}


def notifier(**kwargs: Any) -> TwinNotifier:
    kwargs.setdefault("recipients", ["+7 999 123-45-67"])
    kwargs.setdefault("channels", TELEGRAM)
    return TwinNotifier(**kwargs)


def text_of(n: TwinNotifier, context: dict[str, Any]) -> str:
    """The text ``n`` renders for ``context``."""
    return str(n.rendered(context).text)


def sent_texts(twin: Twin, channel: str = "telegram") -> list[str]:
    return [message["channels"][channel]["text"] for message in twin.messages()]


# -- recognising the request -----------------------------------------------------------------------
def test_a_hitl_operator_waiting_is_a_request_event() -> None:
    event = callback_event(hitl_context())
    assert (event.scope, event.kind, event.event) == ("task", "hitl_request", "waits for your decision")
    assert event.summary == (
        "nightly_crm.load waits for your decision (try 1, run scheduled__2026-01-28T02:00:00+00:00)"
    )
    assert event.identity() == (
        "task",
        "nightly_crm",
        "scheduled__2026-01-28T02:00:00+00:00",
        "load",
        "-1",
        "1",
        "hitl_request",
    )


def test_the_same_operators_callbacks_stay_callbacks_and_get_other_bulk_ids() -> None:
    n = notifier()
    request = callback_event(hitl_context())
    failed = callback_event({**task_context(error=ValueError("x")), "task": hitl_task()})
    succeeded = callback_event({**task_context(state="success"), "task": hitl_task()})
    assert (failed.kind, succeeded.kind) == ("failed", "success")
    bulk_ids = {n.bulk_id(event)[0] for event in (request, failed, succeeded)}
    assert len(bulk_ids) == 3
    assert n.bulk_id(callback_event(hitl_context()))[0] == n.bulk_id(request)[0]
    assert n.bulk_id(callback_event(hitl_context(try_number=2)))[0] != n.bulk_id(request)[0]


@pytest.mark.parametrize(
    "task",
    [
        None,
        {"subject": "s", "options": ["a"], "multiple": False},
        SimpleNamespace(subject="s", options=["a"], multiple=False),  # no link helper
        SimpleNamespace(task_id="load", render_template_as_native_obj=False),  # any other operator
    ],
)
def test_other_tasks_are_no_requests(task: Any) -> None:
    context = {**task_context(state="running"), "task": task}
    assert not is_hitl_task(task)
    assert not is_hitl_request(context)
    assert callback_event(context).kind == "running"


def test_dag_callbacks_are_no_requests() -> None:
    assert not is_hitl_request({**hitl_context(), "reason": "success"})


# -- what the approver reads ------------------------------------------------------------------------
def test_default_text_asks_with_subject_body_numbered_options_and_link() -> None:
    assert text_of(notifier(), hitl_context()) == (
        "Airflow: Load 1250 CRM rows into production?\n"
        "The export of 2026-01-28 is ready.\n"
        "Choose one:\n"
        "1. Approve\n"
        "2. Reject\n"
        f"Decide in Airflow: {LINK}"
    )


def test_several_options_without_body_or_link() -> None:
    task = hitl_task(link=None, body=None, options=["CRM", "ERP", "Billing"], multiple=True)
    assert text_of(notifier(), hitl_context(task)) == (
        "Airflow: Load 1250 CRM rows into production?\nChoose one or more:\n1. CRM\n2. ERP\n3. Billing"
    )


def test_a_long_body_is_shortened_so_the_options_and_link_stay() -> None:
    task = hitl_task(body="Rows: " + "lorem ipsum " * 100)
    text = text_of(notifier(), hitl_context(task))
    body = text.split("\n")[1]
    assert len(body) <= BODY_PREVIEW_LENGTH
    assert body.endswith("...")
    assert text.endswith(f"2. Reject\nDecide in Airflow: {LINK}")


def test_own_templates_see_the_request() -> None:
    n = notifier(
        text="{{ subject }} [{{ options | join('/') }}] {{ required_actions_url }}\n{{ options_text }}",
        channels={"email": {"subject": "Decide: {{ subject }}"}, "telegram": {}},
        recipients=["+7 999 123-45-67", "ops@example.com"],
    )
    rendered = n.rendered(hitl_context())
    assert rendered.text == (
        f"Load 1250 CRM rows into production? [Approve/Reject] {LINK}\n1. Approve\n2. Reject"
    )
    channels: Any = rendered.channels
    assert channels["email"]["subject"] == "Decide: Load 1250 CRM rows into production?"
    variables = hitl_variables(hitl_context(hitl_task(defaults=["Reject"])))
    assert variables["defaults"] == ["Reject"]
    assert variables["multiple"] is False


def test_an_own_text_is_kept_and_the_default_applies_when_it_fails() -> None:
    assert text_of(notifier(text="{{ summary }}"), hitl_context()) == (
        "nightly_crm.load waits for your decision (try 1, run scheduled__2026-01-28T02:00:00+00:00)"
    )
    broken = notifier(text="{{ conn.twin_default.password }}")
    log = logged(broken)
    assert text_of(broken, hitl_context()).startswith("Airflow: Load 1250 CRM rows")
    assert "the text template failed to render" in lines(log, "error")[0]


def test_the_link_comes_from_airflows_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    task = ApprovalOperator(task_id="approve", subject="Ship it?", response_timeout=timedelta(hours=1))
    context = hitl_context(task, task_id="approve")
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com")
    assert hitl_variables(context)["required_actions_url"] == (
        "https://airflow.example.com/dags/nightly_crm/runs/scheduled__2026-01-28T02:00:00+00:00"
        "/tasks/approve/required_actions?map_index=-1"
    )
    monkeypatch.delenv("AIRFLOW__API__BASE_URL")
    assert hitl_variables(context)["required_actions_url"] == ""
    assert "Decide in Airflow" not in text_of(notifier(), context)


# -- sent once, redacted ----------------------------------------------------------------------------
def test_the_request_is_sent_once_per_try(twin: Twin) -> None:
    n = notifier()
    log = logged(n)
    n(hitl_context())
    n(hitl_context())  # the same try again, e.g. after the worker crashed
    assert twin.requests[POST] == 1
    assert twin.requests[GET] >= 2
    [text] = sent_texts(twin)
    assert text.startswith("Airflow: Load 1250 CRM rows into production?\n")
    assert "1. Approve\n2. Reject" in text
    assert LINK in text
    sent, again = lines(log, "info")
    assert sent.startswith("TWIN notification sent for nightly_crm.load waits for your decision (try 1")
    assert "was already sent" in again
    n(hitl_context(try_number=2))  # a new try asks again
    n({**task_context(error=ValueError("rejected")), "task": hitl_task()})  # its failure is news too
    assert twin.requests[POST] == 3


def test_secrets_in_the_request_never_reach_twin(twin: Twin) -> None:
    from airflow.sdk.log import mask_secret

    mask_secret("crm-db-pass-7c1d")
    task = hitl_task(
        subject=f"Rotate {twin.password}?",
        body="Connect with postgres://crm:crm-db-pass-7c1d@db/crm to check.",
        options=["Approve crm-db-pass-7c1d", "Reject"],
        link=f"{LINK}&token=crm-db-pass-7c1d",
    )
    notifier(channels={"telegram": {}, "sms": {"from": "TwinService"}})(hitl_context(task))
    [message] = twin.messages()
    bodies = str(twin.wire.bodies[POST])
    assert "crm-db-pass-7c1d" not in bodies
    assert twin.password not in bodies
    text = message["channels"]["telegram"]["text"]
    assert text.startswith("Airflow: Rotate ***?\nConnect with postgres://crm:***@db/crm to check.")
    assert "1. Approve ***\n2. Reject" in text
    assert f"{LINK}&token=***" in text
    assert message["channels"]["sms"]["text"] == text


def test_an_sms_request_is_cut_like_any_other(twin: Twin) -> None:
    task = hitl_task(subject="Подтвердите загрузку " * 20)
    notifier(channels={"sms": {"from": "TwinService"}})(hitl_context(task))
    [text] = sent_texts(twin, "sms")
    assert text.endswith(TRUNCATION_MARKER)


def test_the_docs_describe_the_request() -> None:
    from tests.unit.messages.notifier.test_notifier_docs import DOC

    doc = DOC.read_text()
    assert "## Human-in-the-loop notifications" in doc
    missing = [name for name in hitl_variables(hitl_context()) if f"`{name}`" not in doc]
    assert not missing, missing
    assert "`hitl_request`" in doc
    assert "waits for your decision" in doc
    assert HITL_DEFAULT_TEXT.startswith("Airflow: {{ subject }}")


@pytest.mark.twin_strict
def test_the_docs_email_example_is_a_valid_send(twin: Twin) -> None:
    import re

    from tests.unit.messages.notifier.test_notifier_docs import DOC

    [example] = [
        block
        for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
        if "required_actions_url" in block
    ]
    n = eval(example, {"TwinNotifier": TwinNotifier})  # noqa: S307 - the docs' own example
    log = logged(n)
    n(hitl_context())
    assert lines(log, "error") == []
    [message] = twin.messages()
    assert message["channels"]["email"]["subject"] == (
        "Airflow needs your decision: Load 1250 CRM rows into production?"
    )
    assert message["channels"]["email"]["text"] == (
        f"The export of 2026-01-28 is ready.\n\n1. Approve\n2. Reject\n\nAnswer here: {LINK}"
    )
