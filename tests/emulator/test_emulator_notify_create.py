"""POST /notify/api/v1/messages: response shape, ids, and validation errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from emulator_testkit import TwinApi, sms

ITEM_KEYS = {"id", "bulkId", "groupId", "flowId", "status", "channel", "error"}


def is_uuid(value: Any) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except (TypeError, ValueError):
        return False


def test_response_shape_with_generated_ids(api: TwinApi) -> None:
    response = api.send(sms("79990000001", "79990000002", "79990000003"))
    assert response.status_code == 201
    items = response.json()
    assert len(items) == 3
    for item in items:
        assert set(item) == ITEM_KEYS
        assert item["status"] == "PENDING"
        assert item["channel"] == "SMS"
        assert item["error"] is None
        assert all(is_uuid(item[key]) for key in ("id", "bulkId", "groupId", "flowId"))
    assert len({item["bulkId"] for item in items}) == 1
    assert len({item["groupId"] for item in items}) == 1
    assert len({item["id"] for item in items}) == 3
    assert len({item["flowId"] for item in items}) == 3


def test_caller_ids_nulls_and_unknown_fields(api: TwinApi) -> None:
    body = {
        "bulkId": "my-bulk-1",
        "companyId": None,
        "taskId": None,
        "somethingNew": {"ignored": True},
        "messages": [
            {
                "groupId": "group-a",
                "destinations": [{"phone": "79990000001", "variables": {"name": "Ann", "n": 1, "vip": True}}],
                "channels": {"SMS": {"text": "Hi {{name}}", "from": "TwinService", "extra": 1}},
                "callbackUrl": None,
                "sendAt": None,
                "allowedTimeRanges": None,
            },
            {
                "destinations": [{"email": "a@example.org"}],
                "channels": {"email": {"text": "x", "subject": "s"}},
            },
        ],
    }
    items = api.send_ok(body)
    assert [item["bulkId"] for item in items] == ["my-bulk-1", "my-bulk-1"]
    assert items[0]["groupId"] == "group-a"
    assert is_uuid(items[1]["groupId"])
    assert [item["channel"] for item in items] == ["SMS", "EMAIL"]
    listed = api.items(bulkId="my-bulk-1", groupId="group-a")
    assert len(listed) == 1
    assert listed[0]["templateVariables"] == {"name": "Ann", "n": 1, "vip": True}
    assert listed[0]["destination"]["phone"] == "79990000001"


def test_one_item_per_destination_for_first_channel_only(api: TwinApi) -> None:
    body = {
        "messages": [
            {
                "destinations": [{"phone": "79990000001"}, {"phone": "79990000002"}],
                "channels": {"viber": {"text": "v"}, "sms": {"text": "s", "required": True}},
            }
        ]
    }
    items = api.send_ok(body)
    assert [item["channel"] for item in items] == ["VIBER", "VIBER"]


def test_companyid_as_string_and_chat_channel_without_text(api: TwinApi) -> None:
    body = {
        "companyId": "1",
        "messages": [
            {
                "destinations": [{"messengerUserId": "u-1"}],
                "channels": {
                    "chat": {"chatId": "2b1c5a9e-7a52-4a6f-9a3e-3d0c4f1e8b11", "messengerType": "WHATSAPP"}
                },
            }
        ],
    }
    assert api.send(body).status_code == 201


def test_malformed_json_is_400(api: TwinApi) -> None:
    response = api.http.post(
        "/notify/api/v1/messages",
        content=b'{"messages": [',
        headers={**api.headers(), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "error" in response.json()


def message(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"destinations": [{"phone": "79990000001"}], "channels": {"sms": {"text": "hi"}}}
    base.update(overrides)
    return base


CASES: list[tuple[str, Any, str]] = [
    ("not an object", [1, 2], "body"),
    ("no messages", {"messages": []}, "messages"),
    ("messages not a list", {"messages": {"a": 1}}, "messages"),
    ("message not an object", {"messages": ["x"]}, "messages[0]"),
    ("no destinations", {"messages": [message(destinations=[])]}, "messages[0].destinations"),
    ("no channels", {"messages": [message(channels={})]}, "messages[0].channels"),
    (
        "unknown channel",
        {"messages": [message(channels={"pigeon": {"text": "x"}})]},
        "messages[0].channels.pigeon",
    ),
    (
        "too many vk attachments",
        {
            "messages": [
                message(
                    channels={"vkontakte": {"text": "x", "attachments": [f"photo-1_{i}" for i in range(11)]}}
                )
            ]
        },
        "messages[0].channels.vkontakte.attachments",
    ),
    (
        "validity period too long",
        {"messages": [message(channels={"sms": {"text": "x", "validityPeriod": 2881}})]},
        "messages[0].channels.sms.validityPeriod",
    ),
    (
        "validity period not an integer",
        {"messages": [message(channels={"sms": {"text": "x", "validityPeriod": "10"}})]},
        "messages[0].channels.sms.validityPeriod",
    ),
    ("sendAt naive", {"messages": [message(sendAt="2026-02-01T10:00:00")]}, "messages[0].sendAt"),
    ("sendAt garbage", {"messages": [message(sendAt="tomorrow")]}, "messages[0].sendAt"),
    (
        "time range bad format",
        {"messages": [message(allowedTimeRanges=[["9:00", "21:00:00"]])]},
        "messages[0].allowedTimeRanges[0]",
    ),
    (
        "time range not a pair",
        {"messages": [message(allowedTimeRanges=[["09:00:00"]])]},
        "messages[0].allowedTimeRanges[0]",
    ),
    ("no content", {"messages": [message(channels={"sms": {"from": "X"}})]}, "messages[0].channels.sms.text"),
    (
        "destination not an object",
        {"messages": [message(destinations=["79990000001"])]},
        "messages[0].destinations[0]",
    ),
    (
        "destination without identity",
        {"messages": [message(destinations=[{"variables": {"a": 1}}])]},
        "messages[0].destinations[0]",
    ),
    (
        "non-scalar variable",
        {"messages": [message(destinations=[{"phone": "7999", "variables": {"a": [1]}}])]},
        "messages[0].destinations[0].variables.a",
    ),
    (
        "phone not a string",
        {"messages": [message(destinations=[{"phone": 79990000001}])]},
        "messages[0].destinations[0].phone",
    ),
    ("bulkId empty", {"bulkId": "", "messages": [message()]}, "bulkId"),
    (
        "second message is wrong",
        {"messages": [message(), message(channels={"sms": {"text": "x", "validityPeriod": 0}})]},
        "messages[1].channels.sms.validityPeriod",
    ),
]


@pytest.mark.parametrize(
    ("body", "path"), [(body, path) for _, body, path in CASES], ids=[c[0] for c in CASES]
)
def test_validation_errors(api: TwinApi, body: Any, path: str) -> None:
    response = api.send(body)
    assert response.status_code == 422, response.text
    data = response.json()
    assert data["error"] == "Validation failed"
    assert path in data["details"], data
    assert all(isinstance(text, str) for text in data["details"][path])


def test_valid_edge_values_are_accepted(api: TwinApi) -> None:
    body = {
        "messages": [
            message(
                channels={
                    "vkontakte": {"text": "x", "attachments": [f"photo-1_{i}" for i in range(10)]},
                    "sms": {"text": "x", "validityPeriod": 2880},
                },
                sendAt="2026-02-01T10:00:00Z",
                allowedTimeRanges=[["9:00:00", "21:00:00"], ["00:00:00", "03:59:59"]],
            ),
            message(templateId="5f8e0a52-0e0d-4a9b-9f53-37a2a4f0f0aa", channels={"whatsapp": {}}),
        ]
    }
    assert api.send(body).status_code == 201
