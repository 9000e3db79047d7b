"""GET /notify/api/v1/messages: filters, paging and counting."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from emulator_testkit import TwinApi, sms, wait_for


@pytest.fixture
def seeded(api: TwinApi) -> dict[str, list[dict[str, str]]]:
    """Two bulks, three groups, two channels, a task id and one delayed message."""
    a = api.send_ok(
        {
            "bulkId": "bulk-a",
            "taskId": "task-1",
            "messages": [
                {
                    "groupId": "g1",
                    "destinations": [{"phone": f"7999000000{n}"} for n in range(5)],
                    "channels": {"sms": {"text": "a"}},
                },
                {
                    "groupId": "g2",
                    "destinations": [{"phone": "79990000100"}],
                    "channels": {"viber": {"text": "b"}},
                },
            ],
        }
    )
    b = api.send_ok(
        {
            "bulkId": "bulk-b",
            "messages": [
                {
                    "groupId": "g3",
                    "destinations": [{"phone": "79990000200"}],
                    "channels": {"sms": {"text": "c"}},
                    "sendAt": (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat(),
                },
            ],
        }
    )
    return {"a": a, "b": b}


def test_filters_by_ids(api: TwinApi, seeded: dict[str, list[dict[str, str]]]) -> None:
    a, b = seeded["a"], seeded["b"]
    assert api.count(bulkId="bulk-a") == 6
    assert api.count(bulkId="bulk-a,bulk-b") == 7
    assert api.count(groupId="g1") == 5
    assert api.count(groupId="g1,g3") == 6
    assert api.count(taskId="task-1") == 6
    assert api.count(bulkId="bulk-b", groupId="g1") == 0
    ids = f"{a[0]['id']},{a[1]['id']},{b[0]['id']}"
    assert [i["id"] for i in api.items(id=ids)] == [a[0]["id"], a[1]["id"], b[0]["id"]]
    assert api.count(flowId=a[3]["flowId"]) == 1
    assert api.count(id="not-an-id") == 0
    assert api.count(bulkId="unknown") == 0


def test_php_style_array_parameters(api: TwinApi, seeded: dict[str, list[dict[str, str]]]) -> None:
    a = seeded["a"]
    response = api.http.get(
        "/notify/api/v1/messages",
        params={"id[0]": a[0]["id"], "id[1]": a[1]["id"], "withoutItems": 1},
        headers=api.headers(),
    )
    assert response.json()["count"] == 2


def test_status_and_channel_filters_are_case_insensitive(
    api: TwinApi, seeded: dict[str, list[dict[str, str]]]
) -> None:
    assert api.count(status="pending") == 6
    assert api.count(status="DELAYED") == 1
    assert api.count(status="pending,delayed") == 7
    assert api.count(channel="viber") == 1
    assert api.count(channel="SMS,Viber") == 7
    assert api.count(channel="sms", status="DELAYED") == 1
    wait_for(lambda: api.count(status="DELIVERED") == 6)
    assert api.count(bulkId="bulk-a", status="DELIVERED") == 6
    assert api.count(bulkId="bulk-a", status="DELIVERED", channel="sms") == 5


def test_paging_and_without_flags(api: TwinApi) -> None:
    api.send_ok(sms(*[f"7999{n:07d}" for n in range(45)], bulk_id="pages"))
    response = api.messages(bulkId="pages")
    body = response.json()
    assert body["count"] == 45
    assert len(body["items"]) == 20  # default limit
    pages = [api.items(bulkId="pages", limit=20, offset=offset) for offset in (0, 20, 40)]
    assert [len(page) for page in pages] == [20, 20, 5]
    phones = [item["destination"]["phone"] for page in pages for item in page]
    assert phones == [f"7999{n:07d}" for n in range(45)]
    assert [i["destination"]["phone"] for i in api.items(bulkId="pages", limit=10, page=2)] == phones[10:20]
    assert api.messages(bulkId="pages", withoutItems="true").json() == {"count": 45, "items": []}
    no_count = api.messages(bulkId="pages", withoutCount=1, limit=5).json()
    assert no_count["count"] == 5  # an integer, as TWIN's SDK needs: the items in the answer
    assert len(no_count["items"]) == 5
    assert len(api.items(bulkId="pages", limit=5000)) == 45  # capped at 1000, not refused


@pytest.mark.parametrize(
    "params",
    [{"limit": "x"}, {"limit": 0}, {"offset": -1}, {"withoutItems": "maybe"}, {"from": "yesterday"}],
)
def test_bad_query_values(api: TwinApi, params: dict[str, object]) -> None:
    response = api.messages(**params)
    assert response.status_code == 422
    assert response.json()["error"] == "Validation failed"


def test_created_at_range(api: TwinApi) -> None:
    api.send_ok(sms("79990000001", bulk_id="early"))
    time.sleep(0.05)
    middle = datetime.now(timezone.utc)
    time.sleep(0.05)
    api.send_ok(sms("79990000002", bulk_id="late"))
    assert api.count(**{"from": middle.isoformat()}) == 1
    assert api.count(to=middle.isoformat()) == 1
    today = middle.date().isoformat()
    assert api.count(**{"from": today, "to": today}) == 2
    assert api.count(**{"from": (middle.date() + timedelta(days=1)).isoformat()}) == 0


def test_group_counts_match_the_records_of_the_group_through_fallbacks_and_cancels(
    api: TwinApi, twin_emulator: Any
) -> None:
    """Groups are counted like bulks, per status, also when one request mixes groups."""
    twin_emulator.admin.update_settings(
        outcome_rules=[{"status": "UNDELIVERED", "channel": "viber", "phone_suffix": "1"}]
    )
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    api.send_ok(
        {
            "bulkId": "mixed",
            "messages": [
                {
                    "groupId": group,
                    "destinations": [{"phone": f"7999{n:07d}"} for n in range(size)],
                    "channels": {"viber": {"text": "v"}, "sms": {"text": "s"}},
                    **({"sendAt": later} if group == "later" else {}),
                }
                for group, size in (("g-a", 12), ("g-b", 7), ("later", 3))
            ],
        }
    )
    [first_later] = api.items(groupId="later", limit=1)
    assert api.cancel({"id": first_later["id"]}).status_code == 200

    wait_for(lambda: api.count(groupId="g-a,g-b", status="PENDING") == 0)
    wait_for(lambda: api.count(groupId="g-a,g-b", channel="sms", status="PENDING") == 0)
    for group in ("g-a", "g-b", "later"):
        records = [item for item in api.items(bulkId="mixed", limit=100) if item["groupId"] == group]
        listed = api.items(groupId=group, limit=100)
        assert sorted(item["id"] for item in listed) == sorted(item["id"] for item in records)
        for status in {item["status"] for item in records}:
            expected = sum(item["status"] == status for item in records)
            assert api.count(groupId=group, status=status) == expected, (group, status)
            assert api.count(groupId=group, bulkId="mixed", status=status) == expected
    # Viber failed for phones ending in 1: those destinations fell back to SMS.
    assert api.count(groupId="g-a", channel="sms") == 2
    assert api.count(groupId="g-b", channel="sms") == 1
    assert api.count(groupId="later", status="CANCELLED") == 1
    assert api.count(groupId="later", status="DELAYED") == 2
