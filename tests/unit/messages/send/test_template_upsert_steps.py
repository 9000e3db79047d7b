"""Template upsert after a lost create answer: it waits, then pages through the name listing."""

from __future__ import annotations

from typing import Any

from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.core.errors import TwinTransportError
from airflow_provider_twin.client.core.flows import Sleep
from airflow_provider_twin.client.messages.templates import upsert_template

BODY = {"name": "order-ready", "channels": {"sms": {"text": "Hi", "from": "Shop"}}}


def test_a_lost_create_answer_waits_then_finds_the_template_on_a_later_page() -> None:
    others = [{"id": f"o{i}", "name": f"order-ready {i}", "createdAt": "2026-01-01"} for i in range(2)]
    ours = {"id": "t-1", "name": "order-ready", "createdAt": "2026-01-02"}
    steps: list[str] = []
    procedure = upsert_template(BODY, settle_seconds=2.5)
    step: Any = procedure.send(None)
    lost_once = False
    try:
        while True:
            if isinstance(step, Sleep):
                steps.append(f"sleep {step.seconds}")
                step = procedure.send(None)
                continue
            assert isinstance(step, ApiCall)
            offset = int(step.params.get("offset", "0"))
            steps.append(f"{step.method} {step.path} {offset}")
            if step.method == "POST":
                assert not lost_once, "the create was repeated"
                lost_once = True
                step = procedure.throw(TwinTransportError("answer lost", ambiguous=True))
                continue
            if not lost_once:
                step = procedure.send({"count": 0, "items": []})
            elif offset == 0:
                step = procedure.send({"count": 3, "items": others})
            else:
                step = procedure.send({"count": 3, "items": [ours]})
    except StopIteration as done:
        result = done.value
    assert result == {"template_id": "t-1", "name": "order-ready", "created": True}
    assert steps == [
        "GET /templates 0",
        "POST /templates 0",
        "sleep 2.5",
        "GET /templates 0",
        "GET /templates 2",
    ]
