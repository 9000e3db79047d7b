"""A send, planned: arguments checked at parse time, inputs validated, stable ids, and running."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.messages import (
    SHARED_SETTINGS,
    MessageSpec,
    bulk_id_for,
    check_send_arguments,
    frozen_heap,
    plan_send,
    rejected_threshold,
    run_coroutine,
)
from airflow_provider_twin.client.messages import send_plan as send_plan_module

IDENTITY = ("campaign", "manual__1", "send", -1)
SETTINGS = dict.fromkeys(SHARED_SETTINGS) | {"channels": ["sms"], "text": "Hello"}


def test_shared_settings_are_the_message_spec() -> None:
    assert tuple(MessageSpec.__dataclass_fields__) == SHARED_SETTINGS


def test_plan_derives_its_group_and_chunk_ids_from_the_task_instance() -> None:
    plan = plan_send(IDENTITY, SETTINGS, recipients=["+7 999 000-00-01", "79990000002"])
    assert plan.total == 2
    assert (plan.group_id, plan.own_group) == (bulk_id_for(*IDENTITY, "group"), True)
    [chunk] = plan.chunks(10)
    assert chunk.bulk_id == plan.bulk_id(0) == bulk_id_for(*IDENTITY, 0)
    assert chunk.messages[0]["groupId"] == plan.group_id
    given = plan_send(
        IDENTITY, SETTINGS | {"group_id": "6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"}, recipients=["79990000001"]
    )
    assert given.own_group is False
    report = plan.report(max_message_ids=5)
    assert (report.total, report.group_id, report.own_group, report.max_message_ids) == (
        2,
        plan.group_id,
        True,
        5,
    )


def test_plan_refuses_invalid_input_before_anything_is_sent() -> None:
    with pytest.raises(TwinInputError, match="1 problem in recipients; nothing was sent"):
        plan_send(IDENTITY, SETTINGS, recipients=["12"])
    with pytest.raises(TwinInputError, match="channels.fax: unknown channel"):
        plan_send(IDENTITY, SETTINGS | {"channels": ["fax"]}, recipients=["79990000001"])


def test_rejected_threshold() -> None:
    assert [rejected_threshold(value) for value in (True, False, None, 0.05)] == [0.0, None, None, 0.05]
    with pytest.raises(ValueError, match="fail_on_rejected"):
        check_send_arguments(
            "Op",
            {"recipients": []},
            {},
            batch_size=1,
            max_in_flight=1,
            max_requests_per_second=None,
            fail_on_rejected=2,
        )


def test_run_coroutine_works_inside_a_running_loop() -> None:
    async def inner() -> int:
        return 7

    async def outer() -> int:
        return run_coroutine(inner())

    assert run_coroutine(inner()) == 7
    assert asyncio.run(outer()) == 7


def test_frozen_heap_leaves_an_existing_freeze_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    gc = send_plan_module.gc
    calls: list[str] = []
    frozen = [0]
    monkeypatch.setattr(gc, "get_freeze_count", lambda: frozen[0])
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("unfreeze"))
    with frozen_heap():
        assert calls == ["freeze"]
    assert calls == ["freeze", "unfreeze"]

    calls.clear()
    frozen[0] = 1000  # the process froze objects itself (a pre-fork optimisation)
    with frozen_heap():
        pass
    assert calls == []
