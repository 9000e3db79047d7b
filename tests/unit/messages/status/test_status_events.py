"""Message statuses as events: the filter, the listing per status, ids shared with webhooks.

Against the emulator (:mod:`.campaigns` decides each message's final status).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from airflow_provider_twin.client import (
    AsyncTwinClient,
    SeenEvents,
    TwinClient,
    TwinClientConfig,
    TwinCredentials,
    TwinEvent,
    TwinInputError,
)
from airflow_provider_twin.client.core.twin_events import MESSAGE_STATUS
from airflow_provider_twin.client.messages import (
    MessageEventFilter,
    message_events,
    message_status_event,
    poll_message_events,
)
from airflow_provider_twin.client.messages.status_events import PAYLOAD_FIELDS
from tests.unit.messages.status.campaigns import Campaigns


def config(twin: Campaigns) -> TwinClientConfig:
    return TwinClientConfig(TwinCredentials(api_token=twin.admin.mint_token()), twin.endpoints())


def poll(twin: Campaigns, flt: MessageEventFilter, now: float | None = None) -> list[TwinEvent]:
    async def run() -> list[TwinEvent]:
        async with AsyncTwinClient(config(twin)) as client:
            return await poll_message_events(client, flt, now)

    return asyncio.run(run())


# -- the filter ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"statuses": (), "bulk_ids": ["b"]}, "statuses"),
        ({"statuses": "", "bulk_ids": ["b"]}, "statuses"),
        ({"statuses": ["UNDELIVERED"]}, "created_within_seconds"),
        ({"statuses": ["UNDELIVERED"], "created_within_seconds": 0}, "created_within_seconds"),
        ({"statuses": ["UNDELIVERED"], "created_within_seconds": True}, "created_within_seconds"),
        ({"statuses": ["UNDELIVERED"], "bulk_ids": ["b", ""]}, "bulk_ids[1]"),
        ({"statuses": ["UNDELIVERED"], "group_ids": [7]}, "group_ids[0]"),
        ({"statuses": [None], "flow_ids": ["f"]}, "statuses[0]"),
        ({"statuses": ["UNDELIVERED"], "bulk_ids": ["b"], "channels": [" "]}, "channels[0]"),
    ],
)
def test_a_filter_that_cannot_bound_or_name_its_listing_is_refused_naming_the_field(
    arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(TwinInputError, match="^" + re.escape(field)):
        MessageEventFilter(**arguments)


def test_a_filter_reads_lists_and_comma_strings_upper_cases_statuses_and_round_trips_as_json() -> None:
    flt = MessageEventFilter(
        statuses="undelivered, Expired,UNDELIVERED", group_ids=["g1", "g2"], channels="sms"
    )
    assert flt.statuses == ("UNDELIVERED", "EXPIRED")
    assert flt.group_ids == ("g1", "g2")
    assert flt.channels == ("sms",)
    data = flt.to_json()
    assert data == {
        "statuses": ["UNDELIVERED", "EXPIRED"],
        "bulk_ids": [],
        "group_ids": ["g1", "g2"],
        "flow_ids": [],
        "channels": ["sms"],
        "created_within_seconds": None,
    }
    assert MessageEventFilter.from_json(data) == flt
    with pytest.raises(TwinInputError, match="unknown field"):
        MessageEventFilter.from_json({**data, "status": "X"})
    with pytest.raises(TwinInputError, match="^statuses"):
        MessageEventFilter.from_json({"bulk_ids": ["b"]})


def test_a_listing_per_status_channel_and_id_chunk() -> None:
    """TWIN's status and channel filters take one value; ids go 100 per request."""
    flt = MessageEventFilter(
        statuses=["UNDELIVERED", "EXPIRED"],
        bulk_ids=[f"b{i}" for i in range(150)],
        channels=["sms", "viber"],
        created_within_seconds=3600,
    )
    calls = flt.listings(now=1_800_000_000.0)
    assert len(calls) == 2 * 2 * 2
    first = calls[0].params
    assert (first["status"], first["channel"]) == ("UNDELIVERED", "sms")
    assert first["bulkId"].split(",") == [f"b{i}" for i in range(100)]
    assert first["from"] == "2027-01-15T07:00:00+00:00"
    assert first["limit"] == "1000"
    assert {call.params["bulkId"].count(",") + 1 for call in calls} == {100, 50}


# -- one event per message and status --------------------------------------------------------------
def test_the_event_id_of_a_listed_status_is_the_one_a_webhook_gives() -> None:
    item = {"id": "m-1", "bulkId": "b", "status": "delivered", "createdAt": "2026-12-01T10:00:00+00:00"}
    event = message_status_event(item)
    assert event.event_id == "message:m-1:DELIVERED"
    assert event.type == MESSAGE_STATUS
    assert event.payload["status"] == "DELIVERED"
    assert message_status_event({"id": "m-1"}, "delivered").event_id == event.event_id
    with pytest.raises(TwinInputError):
        message_status_event({"status": "DELIVERED"})


@pytest.mark.parametrize(
    ("status", "time_field"),
    [("DELIVERED", "deliveredAt"), ("EXPIRED", "expiredAt"), ("UNDELIVERED", "sentAt")],
)
def test_the_time_of_a_status_is_twins_own(status: str, time_field: str) -> None:
    item = {
        "id": "m",
        "status": status,
        "createdAt": "2026-12-01T10:00:00+00:00",
        "sentAt": "2026-12-01T10:00:01+00:00",
        "deliveredAt": "2026-12-01T10:00:02+00:00",
        "expiredAt": "2026-12-01T10:00:03+00:00",
    }
    assert message_status_event(item).time == item[time_field]
    assert message_status_event({"id": "m", "status": status, "createdAt": "c"}).time == "c"


def test_a_poll_reports_each_matching_message_once_with_ids_and_status_only(twin: Campaigns) -> None:
    undelivered = twin.send(3, "UNDELIVERED", bulk_id="bulk-1")
    twin.send(2, "DELIVERED", bulk_id="bulk-1")
    twin.send(1, "UNDELIVERED", bulk_id="bulk-2")
    twin.forget_requests()

    events = poll(twin, MessageEventFilter(statuses=["UNDELIVERED"], bulk_ids=["bulk-1"]))

    assert sorted(e.event_id for e in events) == sorted(f"message:{r['id']}:UNDELIVERED" for r in undelivered)
    assert twin.list_requests == 1
    for event in events:
        assert set(event.payload) == set(PAYLOAD_FIELDS)
        assert (event.payload["bulkId"], event.payload["status"]) == ("bulk-1", "UNDELIVERED")
        assert event.time  # TWIN's time, not empty
        payload = event.as_payload()
        assert not {"destination", "message"} & set(payload)


def test_delivered_messages_carry_their_delivery_time(twin: Campaigns) -> None:
    records = twin.send(2, "DELIVERED", bulk_id="bulk-1")
    events = poll(twin, MessageEventFilter(statuses=["DELIVERED"], bulk_ids=["bulk-1"]))
    listed = {r["id"]: r for r in twin.admin.messages(bulkId="bulk-1", limit=100)["items"]}
    assert {e.payload["id"] for e in events} == {r["id"] for r in records}
    for event in events:
        delivered_at = listed[event.payload["id"]].get("deliveredAt")
        assert delivered_at
        assert event.time == delivered_at


def test_several_statuses_list_once_each_and_unknown_statuses_are_asked_too(twin: Campaigns) -> None:
    twin.send(2, "UNDELIVERED")
    twin.send(1, "EXPIRED")
    twin.forget_requests()
    flt = MessageEventFilter(statuses=["UNDELIVERED", "EXPIRED", "SOMETHING_NEW"], bulk_ids=["bulk-1"])
    events = poll(twin, flt)
    assert sorted(e.payload["status"] for e in events) == ["EXPIRED", "UNDELIVERED", "UNDELIVERED"]
    assert twin.list_requests == 3


def test_a_listing_pages_through_every_message(twin: Campaigns) -> None:
    twin.send(1500, "UNDELIVERED")
    twin.forget_requests()
    events = poll(twin, MessageEventFilter(statuses=["UNDELIVERED"], bulk_ids=["bulk-1"]))
    assert len({e.event_id for e in events}) == len(events) == 1500
    assert twin.list_requests == 2


def test_the_window_bounds_a_listing_without_ids(twin: Campaigns) -> None:
    twin.send(2, "UNDELIVERED", bulk_id="bulk-1")
    twin.send(1, "UNDELIVERED", bulk_id="bulk-2")
    flt = MessageEventFilter(statuses=["UNDELIVERED"], created_within_seconds=600)
    assert len(poll(twin, flt)) == 3
    assert poll(twin, flt, now=time.time() + 3600) == []


def test_a_cursor_reports_a_new_status_of_a_message_already_reported(twin: Campaigns) -> None:
    """``PENDING`` then ``DELIVERED`` are two facts: two events; a repeat poll adds nothing."""
    records = twin.send(2, "PENDING")
    flt = MessageEventFilter(statuses=["PENDING", "DELIVERED"], bulk_ids=["bulk-1"])
    seen = SeenEvents()
    first = seen.new(poll(twin, flt))
    seen.mark(first)
    assert {e.event_id for e in first} == {f"message:{r['id']}:PENDING" for r in records}
    assert seen.new(poll(twin, flt)) == []
    twin.release()
    later = seen.new(poll(twin, flt))
    assert {e.event_id for e in later} == {f"message:{r['id']}:DELIVERED" for r in records}


def test_the_sync_client_runs_the_same_listing(twin: Campaigns) -> None:
    twin.send(2, "UNDELIVERED")
    flt = MessageEventFilter(statuses=["UNDELIVERED"], bulk_ids=["bulk-1"])
    with TwinClient(config(twin)) as client:
        events = client.run(message_events(flt, time.time()))
    assert {e.event_id for e in events} == {e.event_id for e in poll(twin, flt)}
