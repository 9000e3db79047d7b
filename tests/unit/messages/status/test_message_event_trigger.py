"""TwinMessageEventTrigger against the emulator: kwargs, one event per fact, cursor across restarts."""

from __future__ import annotations

import asyncio
import importlib
import json
import re
from typing import Any

import pytest
from airflow.triggers.base import BaseEventTrigger

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.triggers import TwinMessageEventTrigger
from airflow_provider_twin.triggers.cursor_shards import id_key
from tests.unit.event_watchers import Variables, collect, memory_variables
from tests.unit.messages.status.campaigns import LIST_ROUTE, Campaigns

FAST = {"poll_interval": 0.05, "commit_delay": 0.0}


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> Variables:
    return memory_variables(monkeypatch)


def watcher(**overrides: Any) -> TwinMessageEventTrigger:
    kwargs: dict[str, Any] = {"statuses": ["UNDELIVERED"], "bulk_ids": ["bulk-1"], **FAST}
    kwargs.update(overrides)
    return TwinMessageEventTrigger(**kwargs)


# -- arguments ------------------------------------------------------------------------------------
def test_kwargs_are_plain_json_that_re_create_the_same_watcher_and_hash() -> None:
    trigger = TwinMessageEventTrigger(
        statuses="undelivered,expired", group_ids=["g1"], channels=["sms"], created_within_seconds=172800
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_twin.triggers.message_events.TwinMessageEventTrigger"
    assert kwargs == {
        "statuses": ["UNDELIVERED", "EXPIRED"],
        "bulk_ids": [],
        "group_ids": ["g1"],
        "flow_ids": [],
        "channels": ["sms"],
        "created_within_seconds": 172800,
        "window_seconds": None,
        "twin_conn_id": "twin_default",
        "poll_interval": 30.0,
        "commit_delay": 5.0,
        "cursor_name": None,
    }
    assert json.loads(json.dumps(kwargs)) == kwargs
    module, _, name = classpath.rpartition(".")
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert again.cursor_variable == trigger.cursor_variable
    assert trigger.window == 172800 + 3600  # the creation window and an hour


def test_a_re_parsed_dag_finds_its_watcher_in_the_trigger_table() -> None:
    """Airflow's own path: the DAG's asset watcher serialised, stored as a Trigger row, re-created.

    The DAG processor compares ``BaseEventTrigger.hash`` of each watcher of a freshly parsed DAG
    with that of the ``Trigger`` rows (classpath and decrypted kwargs); a difference would drop
    the running watcher and start a new one at every parse.
    """
    from airflow.models.trigger import Trigger  # Airflow's metadata model
    from airflow.sdk import Asset, AssetWatcher
    from airflow.serialization.decoders import decode_asset_like
    from airflow.serialization.encoders import encode_asset_like, encode_trigger

    def parsed() -> dict[str, Any]:
        """The watcher's trigger as the DAG processor sees it in the serialised DAG."""
        trigger = TwinMessageEventTrigger(
            statuses="undelivered,expired", group_ids="g1", channels=["sms"], created_within_seconds=172800
        )
        asset = Asset("twin_undelivered", watchers=[AssetWatcher(name="twin_undelivered", trigger=trigger)])
        stored: Any = decode_asset_like(json.loads(json.dumps(encode_asset_like(asset))))
        encoded: dict[str, Any] = encode_trigger(stored.watchers[0].trigger)
        return encoded

    first = parsed()
    row = Trigger(classpath=first["classpath"], kwargs=first["kwargs"])
    in_table = BaseEventTrigger.hash(row.classpath, row.kwargs)
    assert BaseEventTrigger.hash(first["classpath"], first["kwargs"]) == in_table
    again = parsed()  # the next parse of the unchanged DAG file
    assert BaseEventTrigger.hash(again["classpath"], again["kwargs"]) == in_table
    module, _, name = row.classpath.rpartition(".")
    running = getattr(importlib.import_module(module), name)(**row.kwargs)  # as the triggerer makes it
    assert BaseEventTrigger.hash(*running.serialize()) == in_table


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"statuses": []}, "statuses"),
        ({"bulk_ids": None, "statuses": ["UNDELIVERED"]}, "created_within_seconds"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": "30"}, "poll_interval"),
        ({"commit_delay": -1}, "commit_delay"),
        ({"cursor_name": "my cursor"}, "cursor_name"),
        ({"cursor_name": ""}, "cursor_name"),
        ({"window_seconds": 0}, "window_seconds"),
        ({"created_within_seconds": 7200, "window_seconds": 3600}, "window_seconds"),
        ({"twin_conn_id": ""}, "twin_conn_id"),
    ],
)
def test_a_bad_argument_fails_where_the_dag_is_parsed_naming_it(
    arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(TwinInputError, match="^" + re.escape(field)):
        watcher(**arguments)


def test_the_cursor_variable_is_named_by_the_user_or_a_digest_of_connection_and_filter() -> None:
    assert watcher(cursor_name="resend.undelivered").cursor_variable == "twin_events.resend.undelivered"
    digest = watcher().cursor_variable
    assert re.fullmatch(r"twin_events\.[0-9a-f]{16}", digest)
    assert watcher(poll_interval=60, commit_delay=2).cursor_variable == digest  # not the filter
    assert watcher(statuses=["undelivered"]).cursor_variable == digest  # the same filter, normalised
    assert watcher(bulk_ids=["bulk-2"]).cursor_variable != digest
    assert watcher(twin_conn_id="twin_other").cursor_variable != digest


# -- events ---------------------------------------------------------------------------------------
def test_each_message_reaching_a_status_is_one_event_with_ids_and_no_address(
    twin: Campaigns, variables: Variables
) -> None:
    undelivered = twin.send(3, "UNDELIVERED")
    twin.send(2, "DELIVERED")
    twin.send(1, "UNDELIVERED", bulk_id="bulk-2")

    payloads = asyncio.run(collect(watcher(), seconds=20, count=3, then=1.0))

    assert sorted(p["event_id"] for p in payloads) == sorted(
        f"message:{r['id']}:UNDELIVERED" for r in undelivered
    )
    for payload in payloads:
        assert payload["type"] == "message.status"
        assert (payload["bulkId"], payload["status"], payload["channel"]) == ("bulk-1", "UNDELIVERED", "SMS")
        assert payload["time"]
        assert not {"destination", "message", "phone", "text"} & set(payload)
        assert json.loads(json.dumps(payload)) == payload


def test_a_running_watcher_reports_new_facts_and_never_repeats_one(
    twin: Campaigns, variables: Variables
) -> None:
    first = twin.send(2, "UNDELIVERED")

    async def scenario() -> list[dict[str, Any]]:
        async def later() -> None:
            await asyncio.sleep(0.5)
            await asyncio.to_thread(twin.send, 3, "UNDELIVERED")

        task = asyncio.ensure_future(later())
        payloads = await collect(watcher(), seconds=20, count=5, then=1.0)
        await task
        return payloads

    payloads = asyncio.run(scenario())
    ids = [p["id"] for p in payloads]
    assert len(ids) == len(set(ids)) == 5
    assert set(ids[:2]) == {r["id"] for r in first}
    assert twin.served(LIST_ROUTE) > 5  # it kept polling


def test_a_restarted_watcher_goes_on_from_its_stored_cursor(twin: Campaigns, variables: Variables) -> None:
    twin.send(3, "UNDELIVERED")
    trigger = watcher()
    assert len(asyncio.run(collect(trigger, seconds=20, count=3, then=1.0))) == 3
    assert len(variables.ids(trigger.cursor_variable)) == 3

    more = twin.send(2, "UNDELIVERED")
    again = asyncio.run(collect(watcher(), seconds=20, count=2, then=1.0))  # a new instance: a restart

    assert {p["id"] for p in again} == {r["id"] for r in more}
    assert len(variables.ids(trigger.cursor_variable)) == 5


def test_an_event_is_stored_only_commit_delay_after_it_was_yielded(
    twin: Campaigns, variables: Variables
) -> None:
    """A stop right after yielding: the asset event may not be written yet, so the id is not stored
    and the next run reports the fact again, with the same event_id: nothing lost."""
    twin.send(2, "UNDELIVERED")
    first = asyncio.run(collect(watcher(commit_delay=60), seconds=20, count=2, then=0.5))
    assert len(first) == 2
    assert variables.ids(watcher().cursor_variable) == set()

    second = asyncio.run(collect(watcher(commit_delay=0.5), seconds=20, count=2, then=1.5))
    assert [p["event_id"] for p in second] == [p["event_id"] for p in first]
    assert variables.ids(watcher().cursor_variable) == {id_key(p["event_id"]) for p in first}


def test_failed_polls_and_cursor_writes_do_not_end_the_watcher(twin: Campaigns, variables: Variables) -> None:
    records = twin.send(2, "UNDELIVERED")
    twin.fail_next(3, status=500)
    variables.failures["save"] = 1
    trigger = watcher()

    def stored() -> bool:
        return len(variables.ids(trigger.cursor_variable)) == 2

    payloads = asyncio.run(collect(trigger, seconds=20, count=2, then=20, until=stored))

    assert {p["id"] for p in payloads} == {r["id"] for r in records}
    assert twin.faults_left() == 0
    assert stored()  # written at the retry, a second or more after the failed write
    assert variables.failures.get("save") == 0
