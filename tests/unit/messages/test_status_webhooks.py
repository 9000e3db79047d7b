"""A status webhook body (twin-api.md §3.2.7) becomes the same event a status listing gives."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.messages import status_webhook_event

#: The sample body of twin-api.md §3.2.7.
BODY: dict[str, Any] = {
    "id": "00a54d39-a18b-45f6-959e-1a4cea82ff91",
    "bulkId": "a91f09a5-33f6-4a23-9f17-505a57956948",
    "groupId": "d9a74f70-7547-4603-bd5e-523f0a290c8c",
    "flowId": "5350e5f6-3215-4a0c-8869-dbeae14a6539",
    "oldStatus": "PENDING",
    "newStatus": "DELIVERED",
    "oldStatusCode": 2,
    "newStatusCode": 6,
    "price": 0,
    "partCount": 1,
    "callbackData": "order-42",
}
AT = datetime(2026, 12, 1, 12, 30, tzinfo=timezone.utc)


def test_the_documented_body_is_a_message_status_event() -> None:
    event = status_webhook_event(BODY, received_at=AT)
    assert event.event_id == "message:00a54d39-a18b-45f6-959e-1a4cea82ff91:DELIVERED"
    assert event.type == "message.status"
    assert event.time == "2026-12-01T12:30:00.000+00:00"
    assert event.as_payload() == {
        "event_id": event.event_id,
        "type": "message.status",
        "time": event.time,
        "id": BODY["id"],
        "bulkId": BODY["bulkId"],
        "groupId": BODY["groupId"],
        "flowId": BODY["flowId"],
        "channel": None,
        "status": "DELIVERED",
        "statusCode": 6,
        "oldStatus": "PENDING",
        "oldStatusCode": 2,
        "callbackData": "order-42",
    }


def test_only_id_and_new_status_are_required_and_the_status_is_upper_case() -> None:
    event = status_webhook_event({"id": "m1", "newStatus": "undelivered"}, received_at=AT)
    assert event.event_id == "message:m1:UNDELIVERED"
    assert event.payload["bulkId"] is None
    assert event.payload["callbackData"] is None


def test_fields_of_another_type_are_dropped_not_refused() -> None:
    body = {**BODY, "bulkId": 7, "newStatusCode": "6", "oldStatusCode": True}
    payload = status_webhook_event(body, received_at=AT).payload
    assert (payload["bulkId"], payload["statusCode"], payload["oldStatusCode"]) == (None, None, None)


def test_without_a_time_of_receipt_the_event_is_dated_now() -> None:
    before = datetime.now(timezone.utc)
    event = status_webhook_event(BODY)
    assert before.timestamp() - 0.001 <= event.epoch <= datetime.now(timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({**BODY, "id": ""}, ["id"]),
        ({k: v for k, v in BODY.items() if k != "newStatus"}, ["newStatus"]),
        ({**BODY, "callbackData": {"order": 42}}, ["callbackData"]),
        ({**BODY, "callbackData": "x" * 10241}, ["callbackData"]),
        ({"id": 5, "newStatus": None}, ["id", "newStatus"]),
        ([BODY], ["body"]),
    ],
)
def test_a_malformed_body_names_each_bad_field(body: Any, named: list[str]) -> None:
    with pytest.raises(TwinInputError) as raised:
        status_webhook_event(body)
    assert [line.partition(":")[0] for line in raised.value.problems] == named
