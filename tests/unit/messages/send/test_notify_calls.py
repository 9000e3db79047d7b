"""Notify endpoint calls: the bodies and query strings TWIN gets (twin-api.md §3)."""

from __future__ import annotations

import pytest

from airflow_provider_twin.client import TwinInputError, notify


def test_create_messages_body_and_safety() -> None:
    call = notify.create_messages([{"destinations": [{"phone": "79990000000"}]}], bulk_id="b-1")
    assert call.json == {
        "messages": [{"destinations": [{"phone": "79990000000"}]}],
        "companyId": None,
        "taskId": None,
        "bulkId": "b-1",
    }
    assert not call.safe_to_repeat
    assert notify.create_messages([{}], idempotent=True).safe_to_repeat
    with pytest.raises(TwinInputError):
        notify.create_messages([])


def test_filters_are_comma_joined() -> None:
    call = notify.list_messages(bulk_ids=["a", "b"], status=["DELIVERED", "UNDELIVERED"], limit=50)
    assert dict(call.params) == {
        "bulkId": "a,b",
        "status": "DELIVERED,UNDELIVERED",
        "limit": "50",
        "offset": "0",
    }
    assert notify.count_messages(group_ids="g1, g2").params["groupId"] == "g1,g2"
    with pytest.raises(TwinInputError, match="limit"):
        notify.list_messages(limit=5000)


def test_cancel_sends_a_json_body_and_needs_a_target() -> None:
    call = notify.cancel_messages(bulk_ids=["b1", "b2"])
    assert call.method == "DELETE"
    assert call.json == {"id": None, "bulkId": "b1,b2", "groupId": None, "flowId": None}
    assert call.safe_to_repeat
    with pytest.raises(TwinInputError, match="at least one"):
        notify.cancel_messages()
