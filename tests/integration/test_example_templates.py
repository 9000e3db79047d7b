"""The templates example runs green against the emulator (``dag.test()``): the template is
created once and updated on the next run, and every message carries its text with the
recipient's variables; a recipient without a variable fails the send before anything goes out."""

from __future__ import annotations

from typing import Any

import pytest

from tests.file_modules import load_file
from tests.integration.test_example_dags import EXAMPLES, Run, records

TEMPLATES = "/notify/api/v1/templates"


@pytest.fixture
def twin(airflow_twin: Any) -> Any:
    """The emulator knowing only the templates it stored (no implicit ones)."""
    airflow_twin.admin.update_settings(implicit_templates=False)
    return airflow_twin


@pytest.mark.integration
def test_templates_example_upserts_the_template_and_sends_with_it(twin: Any) -> None:
    dag = load_file(EXAMPLES / "example_twin_templates.py").dag
    first = Run(dag)
    assert first.state == "success", first.states
    created = first.value("upsert_template")
    assert created["name"] == "order-ready"
    assert created["created"] is True
    assert first.value("send")["accepted"] == 2
    texts = sorted(item["message"]["text"] for item in records(twin))
    assert texts == [
        "Hi Anna, order A-1001 is ready for pickup at MyShop, 1 Main St.",
        "Hi Boris, order A-1002 is ready for pickup at MyShop, 1 Main St.",
    ]
    assert {item["templateId"] for item in records(twin)} == {created["template_id"]}

    again = Run(dag)
    assert again.state == "success", again.states
    assert again.value("upsert_template") == {**created, "created": False}


@pytest.mark.integration
def test_templates_example_sends_nothing_when_a_recipient_lacks_a_variable(twin: Any) -> None:
    dag = load_file(EXAMPLES / "example_twin_templates.py").dag
    send = dag.get_task("send")
    send.recipients = [*send.recipients, {"phone": "+7 999 000-00-03", "var_name": "Chen"}]
    run = Run(dag)
    assert run.state == "failed"
    assert run.task_state("upsert_template") == "success"
    assert run.task_state("send") == "failed"
    counters = twin.admin.counters()
    assert counters["requests"].get("POST /notify/api/v1/messages", 0) == 0
    assert counters["messages_created"] == 0
