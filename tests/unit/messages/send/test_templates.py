"""Notify templates: the client's reader and checks, upsert by name across retries, the
template operators, and the send operator's template check (nothing sent on a problem)."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.messages import template_body, template_variables
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.templates import TwinDeleteTemplateOperator, TwinTemplateOperator
from tests.unit.messages.send.conftest import Twin
from tests.unit.messages.send.operator_runs import context as task_context
from tests.unit.messages.send.operator_runs import operator
from tests.unit.messages.twin_wire import POST

TEMPLATES = "/notify/api/v1/templates"
UNKNOWN = "0b7d8c1e-5a0f-4c1e-9d7a-2f3e4a5b6c7d"
CHANNELS = {"sms": {"from": "Shop"}}
TEXT = "Hi {{name}}, your order {{ order }} is ready at {{shop}}"


def test_template_variables_reads_every_string_of_every_channel() -> None:
    template = {
        "channels": {
            "sms": {"text": TEXT, "validityPeriod": 10},
            "email": {"subject": "Order {{order}}", "text": "Dear {{name}}"},
        }
    }
    assert template_variables(template) == {"name", "order", "shop"}
    assert template_variables({"channels": {}}) == set()
    assert template_variables({}) == set()


def test_template_body_copies_the_text_and_the_default_sender() -> None:
    body = template_body("order-ready", ["sms", "email"], TEXT, [["9:00:00", "21:00:00"]])
    assert body["channels"] == {"sms": {"text": TEXT, "from": "TwinService"}, "email": {"text": TEXT}}
    assert body["allowedTimeRanges"] == [["09:00:00", "21:00:00"]]


def test_template_body_names_every_problem() -> None:
    with pytest.raises(TwinInputError) as caught:
        template_body(" ", {"vkontakte": {}, "fax": {}}, None)
    text = str(caught.value)
    assert "name:" in text
    assert "channels.fax" in text
    assert "channels.vkontakte.text" in text
    assert "channels.vkontakte.templateName" in text
    assert "nothing was sent" in text


def test_upsert_creates_once_then_updates(twin: Twin) -> None:
    hook = TwinHook()
    first = hook.upsert_template("order-ready", CHANNELS, TEXT)
    second = hook.upsert_template("order-ready", CHANNELS, "Bye {{name}}")
    hook.close()
    assert first["created"] is True
    assert second == {"template_id": first["template_id"], "name": "order-ready", "created": False}
    page = TwinHook().list_templates(name="order-ready")
    assert page["count"] == 1
    assert page["items"][0]["channels"]["sms"]["text"] == "Bye {{name}}"


def test_upsert_whose_create_answer_was_lost_leaves_one_template(twin: Twin) -> None:
    twin.admin.add_fault(method="POST", path=TEMPLATES, kind="drop", times=1)
    result = TwinHook().upsert_template("order-ready", CHANNELS, TEXT)
    assert result["created"] is True
    page = TwinHook().list_templates(name="order-ready")
    assert [item["id"] for item in page["items"]] == [result["template_id"]]


def test_hook_reads_updates_and_deletes(twin: Twin) -> None:
    hook = TwinHook()
    template_id = hook.create_template("welcome", CHANNELS, "Welcome, {{name}}")
    hook.update_template(template_id, "welcome", CHANNELS, "Welcome back, {{name}}")
    stored = hook.get_template(template_id)
    assert stored is not None
    assert stored["channels"]["sms"]["text"] == "Welcome back, {{name}}"
    assert hook.delete_template(template_id) is True
    assert hook.delete_template(template_id) is False
    twin.admin.update_settings(implicit_templates=False)
    assert hook.get_template(template_id) is None


def context() -> dict[str, Any]:
    """A task context whose DAG run has no start date."""
    found = task_context()
    found["dag_run"].start_date = None
    return found


def _run(task: Any) -> Any:
    return task.execute(context())


def test_template_operators_upsert_and_delete_idempotently(twin: Twin) -> None:
    with DAG("templates", schedule=None):
        upsert = TwinTemplateOperator(task_id="upsert", name="order-ready", channels=CHANNELS, text=TEXT)
    first, again = _run(upsert), _run(upsert)
    assert first["created"] is True
    assert again == {**first, "created": False}
    with DAG("cleanup", schedule=None):
        delete = TwinDeleteTemplateOperator(task_id="delete", template_id=first["template_id"])
    assert _run(delete) == {"template_id": first["template_id"], "deleted": True}
    assert _run(delete) == {"template_id": first["template_id"], "deleted": False}


def test_template_operator_refuses_bad_channels_before_any_request(twin: Twin) -> None:
    with DAG("templates", schedule=None):
        upsert = TwinTemplateOperator(task_id="upsert", name="vk", channels={"vkontakte": {}}, text="Hi")
    with pytest.raises(AirflowFailException, match="channels.vkontakte.templateName"):
        _run(upsert)
    assert twin.requests[f"GET {TEMPLATES}"] == 0


def _stored(twin: Twin) -> str:
    return TwinHook().create_template("order-ready", CHANNELS, TEXT)


def test_send_with_a_template_checks_every_recipient_has_its_variables(twin: Twin) -> None:
    template_id = _stored(twin)
    recipients = [
        {"phone": "79990000001", "var_name": "Ann", "var_order": "A-1"},
        {"phone": "79990000002", "var_name": "Bob"},
        {"email": "carol@example.com", "variables": {"order": "A-3"}},
    ]
    send = operator(
        recipients=recipients,
        channels={"sms": {"from": "Shop"}, "email": {}},
        text=None,
        template_id=template_id,
        variables={"shop": "Main St"},
    )
    with pytest.raises(AirflowFailException) as caught:
        send.execute(context())
    text = str(caught.value)
    assert "recipients[1] (phone 79*******02): no value for the variable(s) order the template uses" in text
    assert (
        "recipients[2] (email c***@example.com): no value for the variable(s) name the template uses" in text
    )
    assert "recipients[0]" not in text
    assert "nothing was sent" in text
    assert twin.requests[f"GET {TEMPLATES}/{template_id}"] == 1
    assert twin.requests[POST] == 0
    assert twin.admin.counters()["messages_created"] == 0


def test_send_with_a_template_and_every_variable_goes_out_with_its_text(twin: Twin) -> None:
    template_id = _stored(twin)
    recipients = [{"phone": "79990000001", "var_name": "Ann", "var_order": "A-1"}]
    send = operator(
        recipients=recipients,
        channels=["sms"],
        text=None,
        template_id=template_id,
        variables={"shop": "Main St"},
    )
    summary = send.execute(context())
    assert summary["accepted"] == 1
    [item] = twin.admin.messages(limit=10)["items"]
    assert item["templateId"] == template_id
    assert item["message"]["text"] == "Hi Ann, your order A-1 is ready at Main St"


def test_send_with_an_unknown_template_sends_nothing(twin: Twin) -> None:
    twin.admin.update_settings(implicit_templates=False)
    send = operator(recipients=[{"phone": "79990000001"}], text=None, template_id=UNKNOWN)
    with pytest.raises(AirflowFailException, match=f"template_id: TWIN has no template {UNKNOWN}"):
        send.execute(context())
    assert twin.requests[POST] == 0


def test_variable_default_fills_a_template_variable(twin: Twin) -> None:
    template_id = _stored(twin)
    send = operator(
        recipients=[{"phone": "79990000001"}], text=None, template_id=template_id, variable_default="-"
    )
    assert send.execute(context())["accepted"] == 1
    [body] = twin.wire.bodies[POST]
    assert body["messages"][0]["destinations"][0]["variables"] == {"name": "-", "order": "-", "shop": "-"}


def test_a_bad_template_id_is_refused_without_a_request(twin: Twin) -> None:
    send = operator(recipients=[{"phone": "79990000001"}], text=None, template_id="order-ready")
    with pytest.raises(AirflowFailException, match="is not a TWIN template id"):
        send.execute(context())
    assert sum(count for route, count in twin.requests.items() if "templates" in route) == 0
