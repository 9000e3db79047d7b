"""TwinMessageStatusTrigger against the emulator: events, serialization, resilience."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_twin.client import AsyncTwinClient, TwinConfigError, epoch_seconds
from airflow_provider_twin.client.messages import Criteria, Targets
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.triggers.messages import TwinMessageStatusTrigger
from tests.unit.conftest import HookUsage
from tests.unit.messages.status.campaigns import LIST_ROUTE, LOGIN_ROUTE, Campaigns


def make_trigger(**overrides: Any) -> TwinMessageStatusTrigger:
    kwargs: dict[str, Any] = {
        "targets": Targets.of(bulk_ids=["bulk-1"]).to_json(),
        "criteria": Criteria().to_json(),
        "deadline": time.time() + 10,
        "poll_interval": 0.02,
        "twin_conn_id": "twin_default",
    }
    kwargs.update(overrides)
    return TwinMessageStatusTrigger(**kwargs)


async def first_event(trigger: TwinMessageStatusTrigger) -> dict[str, Any]:
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1
    payload: dict[str, Any] = events[0]
    return payload


def test_serialization_round_trip_is_plain_json() -> None:
    trigger = make_trigger(
        targets=Targets.of(bulk_ids=["b1", "b2"], expected_total=20).to_json(),
        criteria=Criteria(min_success_ratio=0.9, max_failure_ratio=0.05).to_json(),
        deadline="2030-01-01T00:00:00Z",
        next_check_at=1_900_000_000.5,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_twin.triggers.messages.TwinMessageStatusTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs["deadline"] == datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp()
    assert "token" not in json.dumps(kwargs).lower()
    assert "password" not in json.dumps(kwargs).lower()
    module, _, name = classpath.rpartition(".")
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (classpath, kwargs)


def test_epoch_seconds_accepts_iso_epoch_and_datetimes() -> None:
    moment = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert epoch_seconds("2030-01-01T00:00:00+00:00") == moment.timestamp()
    assert epoch_seconds("2030-01-01T00:00:00") == moment.timestamp()
    assert epoch_seconds(str(moment.timestamp())) == moment.timestamp()
    assert epoch_seconds(moment) == moment.timestamp()
    assert epoch_seconds(12) == 12.0
    assert make_trigger(deadline="2030-01-01T00:00:00").deadline == moment.timestamp()


async def test_success_event_after_messages_settle(twin: Campaigns) -> None:
    twin.send(4)  # pending, then delivered
    twin.send(1, then="UNDELIVERED")

    async def deliver_later() -> None:
        await asyncio.sleep(0.1)
        await asyncio.to_thread(twin.release)

    task = asyncio.create_task(deliver_later())
    event = await first_event(make_trigger())
    await task
    assert event["status"] == "success"
    result = event["result"]
    assert (result["succeeded"], result["failed"], result["pending"], result["success_ratio"]) == (
        4,
        1,
        0,
        0.8,
    )
    assert result["by_status"]["DELIVERED"] == 4
    assert result["by_status"]["UNDELIVERED"] == 1
    assert result["reason"] == "all_final"


async def test_failure_event_on_max_failure_ratio(twin: Campaigns) -> None:
    twin.send(8)
    twin.send(2, "ERROR")
    event = await first_event(
        make_trigger(criteria=Criteria(max_failure_ratio=0.1).to_json(), deadline=time.time() + 5)
    )
    assert event["status"] == "failure"
    assert event["result"]["failure_ratio"] == 0.2
    assert "max_failure_ratio" in event["message"]


async def test_timeout_event_carries_the_last_progress(twin: Campaigns) -> None:
    twin.send(3)
    started = time.monotonic()
    event = await first_event(make_trigger(deadline=time.time() + 0.2, poll_interval=0.05))
    assert time.monotonic() - started < 2
    assert event["status"] == "timeout"
    assert event["result"]["pending"] == 3
    assert "timed out" in event["message"]


async def test_restart_after_the_deadline_checks_once_more(twin: Campaigns) -> None:
    twin.send(2, "DELIVERED")
    event = await first_event(make_trigger(deadline=time.time() - 60))
    assert event["status"] == "success"
    twin.send(1)
    event = await first_event(make_trigger(deadline=time.time() - 60))
    assert event["status"] == "timeout"


async def test_survives_server_errors_beyond_the_client_retries(twin: Campaigns) -> None:
    twin.send(2, "DELIVERED")
    twin.fail_next(7)  # the client tries twice per call: several whole checks fail
    event = await first_event(make_trigger(poll_interval=0.01))
    assert event["status"] == "success"
    assert twin.faults_left() == 0


async def test_survives_rate_limits(twin: Campaigns) -> None:
    twin.send(1, "DELIVERED")
    twin.fail_next(3, 429)
    event = await first_event(make_trigger(poll_interval=0.01))
    assert event["status"] == "success"


async def test_non_transient_errors_become_an_error_event(twin: Campaigns) -> None:
    twin.send(1)
    twin.fail_next(1, 422)
    event = await first_event(make_trigger())
    assert event["status"] == "error"
    assert event["error_type"] == "TwinValidationError"


async def test_connection_problems_become_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: TwinHook) -> AsyncTwinClient:
        raise TwinConfigError("connection 'twin_default': credentials are incomplete")

    monkeypatch.setattr(TwinHook, "get_async_client", broken)
    event = await first_event(make_trigger())
    assert event == {
        "status": "error",
        "message": "TwinConfigError: connection 'twin_default': credentials are incomplete",
        "error_type": "TwinConfigError",
    }


async def test_bad_serialized_state_becomes_an_error_event() -> None:
    event = await first_event(make_trigger(targets={"bulk_ids": []}))
    assert event["status"] == "error"


async def test_first_check_waits_for_next_check_at(twin: Campaigns) -> None:
    twin.send(1, "DELIVERED")
    started = time.monotonic()
    event = await first_event(make_trigger(next_check_at=time.time() + 0.3))
    assert event["status"] == "success"
    assert time.monotonic() - started >= 0.25


async def test_cost_of_a_check_does_not_depend_on_size(twin: Campaigns) -> None:
    twin.send(10, "DELIVERED", bulk_id="small")
    twin.send(10_000, "DELIVERED", bulk_id="large")
    for bulk in ("small", "large"):
        twin.forget_requests()
        event = await first_event(make_trigger(targets=Targets.of(bulk_ids=bulk).to_json()))
        assert event["status"] == "success"
        # one check: all records + one count per status (8); the final breakdown reuses them
        assert (twin.count_requests, twin.list_requests) == (1 + 8, 0)
    assert twin.served(LIST_ROUTE) == 18


async def test_triggers_of_one_connection_share_one_client_and_one_login(
    twin: Campaigns, hook_usage: HookUsage
) -> None:
    from airflow_provider_twin.triggers.connections import clients_in_use

    twin.send(6)
    waits = [asyncio.create_task(first_event(make_trigger())) for _ in range(5)]
    await asyncio.sleep(0.1)
    assert clients_in_use("twin_default") == 5, "all five triggers hold the one client"
    await asyncio.to_thread(twin.release)
    events = await asyncio.gather(*waits)

    assert [event["status"] for event in events] == ["success"] * 5
    assert hook_usage.built == ["twin_default"], "one connection read, one client built"
    assert twin.served(LOGIN_ROUTE) == 1, "one login for five triggers"
    assert hook_usage.closed == ["twin_default"], "the last trigger to leave closed the client"
    assert clients_in_use("twin_default") == 0

    await first_event(make_trigger())
    assert hook_usage.built == ["twin_default", "twin_default"], "a later trigger reads the connection afresh"


async def test_triggers_of_different_connections_do_not_share(twin: Campaigns) -> None:
    from airflow_provider_twin.triggers.connections import clients_in_use

    twin.send(1, "DELIVERED")
    one = asyncio.create_task(first_event(make_trigger(twin_conn_id="twin_a", poll_interval=0.05)))
    two = asyncio.create_task(first_event(make_trigger(twin_conn_id="twin_b", poll_interval=0.05)))
    await asyncio.gather(one, two)
    assert twin.served(LOGIN_ROUTE) == 2
    assert clients_in_use("twin_a") == clients_in_use("twin_b") == 0


async def test_a_timeout_while_twin_fails_says_since_when_and_the_last_error(twin: Campaigns) -> None:
    twin.send(3)  # pending: the first check succeeds, then TWIN fails every request
    event = await first_event(make_trigger(deadline=time.time() + 0.3, poll_interval=0.02))
    assert event["status"] == "timeout"
    assert event["result"]["pending"] == 3, "the first check saw the messages"
    twin.fail_next(10_000)
    event = await first_event(make_trigger(deadline=time.time() + 0.3, poll_interval=0.02))
    assert event["status"] == "timeout"
    assert event["result"] is None
    trouble = event["unreachable"]
    assert trouble["failed_checks"] >= 1
    assert "HTTP 500" in trouble["last_error"]
    assert datetime.fromisoformat(trouble["since"]).tzinfo is not None
    assert f"TWIN failed every check since {trouble['since']}" in event["message"]
    assert "HTTP 500" in event["message"]


async def test_a_token_refused_right_after_renewal_is_tried_again_at_the_next_poll(twin: Campaigns) -> None:
    twin.send(2, "DELIVERED")
    # Every request of the first check is refused 4 times (1 + 3 renewals): the check fails.
    twin.refuse_tokens(9 * 4 + 2)
    event = await first_event(make_trigger(poll_interval=0.01))
    assert event["status"] == "success", event
    assert twin.faults_left() == 0


async def test_tokens_refused_at_every_poll_end_the_wait_at_the_limit(twin: Campaigns) -> None:
    twin.send(2, "DELIVERED")
    twin.refuse_tokens()
    event = await first_event(make_trigger(poll_interval=0.01, auth_failure_limit=2))
    assert event["status"] == "error"
    assert event["error_type"] == "TwinTokenRejected"
    assert "at 2 checks in a row (auth_failure_limit=2)" in event["message"]
    assert make_trigger(auth_failure_limit=2).serialize()[1]["auth_failure_limit"] == 2
