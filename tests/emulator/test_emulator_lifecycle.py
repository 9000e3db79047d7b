"""Status lifecycle: PENDING -> outcome, DELAYED, cancel, outcome rules, fallback and required channels."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from emulator_testkit import TwinApi, sms, wait_for

from airflow_provider_twin.emulator import TwinEmulator


def in_future(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat()


def test_pending_then_delivered_with_timestamps(api: TwinApi) -> None:
    [item] = api.send_ok(sms("79990000001"))
    [pending] = api.items(id=item["id"])
    assert pending["status"] == "PENDING"
    assert pending["statusCode"] == 2
    assert pending["sentAt"] is not None
    assert pending["deliveredAt"] is None
    delivered = wait_for(lambda: [i for i in api.items(id=item["id"]) if i["status"] == "DELIVERED"])[0]
    assert delivered["statusCode"] == 6
    assert delivered["statusDescription"]
    created = datetime.fromisoformat(delivered["createdAt"])
    done = datetime.fromisoformat(delivered["deliveredAt"])
    assert created.tzinfo is not None
    assert abs((done - created).total_seconds() - 0.3) < 0.01


def test_message_list_item_fields(api: TwinApi) -> None:
    api.send_ok(sms("79990000001", text="x" * 200))
    [item] = api.items()
    assert set(item) == {
        "id",
        "bulkId",
        "groupId",
        "flowId",
        "status",
        "statusCode",
        "statusDescription",
        "partCount",
        "network",
        "channel",
        "templateId",
        "templateName",
        "destination",
        "message",
        "templateVariables",
        "tracks",
        "createdAt",
        "sentAt",
        "deliveredAt",
        "sendAt",
        "expiredAt",
    }
    assert item["partCount"] == 2
    assert item["message"] == {"text": "x" * 200}
    assert item["channel"] == "SMS"


def test_delayed_send_then_cancel(api: TwinApi) -> None:
    send_at = in_future(3600)
    [item] = api.send_ok(sms("79990000001", sendAt=send_at))
    assert item["status"] == "DELAYED"
    [listed] = api.items(id=item["id"])
    assert listed["status"] == "DELAYED"
    assert listed["statusCode"] == 1
    assert datetime.fromisoformat(listed["sendAt"]) == datetime.fromisoformat(send_at).replace(
        microsecond=datetime.fromisoformat(send_at).microsecond // 1000 * 1000
    )
    assert listed["sentAt"] is None
    response = api.cancel({"id": item["id"], "bulkId": None, "groupId": None, "flowId": None})
    assert response.status_code == 200
    [cancelled] = response.json()
    assert cancelled == {**item, "status": "CANCELLED"}
    [after] = api.items(id=item["id"])
    assert after["status"] == "CANCELLED"
    assert after["statusCode"] == 10
    assert api.count(status="CANCELLED") == 1


def test_send_at_in_the_past_is_sent_now(api: TwinApi) -> None:
    [item] = api.send_ok(sms("79990000001", sendAt="2020-01-01T00:00:00+03:00"))
    assert item["status"] == "PENDING"


def test_cancel_of_delivered_message_is_unchanged(api: TwinApi) -> None:
    [item] = api.send_ok(sms("79990000001"))
    wait_for(lambda: api.count(id=item["id"], status="DELIVERED") == 1)
    response = api.cancel({"bulkId": item["bulkId"]})
    assert response.status_code == 200
    assert response.json() == [{**item, "status": "DELIVERED"}]
    assert api.items(id=item["id"])[0]["status"] == "DELIVERED"


def test_cancel_by_lists_and_requires_a_key(api: TwinApi) -> None:
    items = api.send_ok(sms("79990000001", "79990000002", "79990000003", sendAt=in_future(600)))
    response = api.cancel({"id": f"{items[0]['id']},{items[1]['id']}"})
    assert [i["status"] for i in response.json()] == ["CANCELLED", "CANCELLED"]
    response = api.cancel({"flowId": [items[2]["flowId"]]})
    assert [i["status"] for i in response.json()] == ["CANCELLED"]
    response = api.cancel({"id": None, "bulkId": None, "groupId": None, "flowId": None})
    assert response.status_code == 422
    assert api.cancel({"id": 5}).status_code == 422


def test_allowed_time_ranges_delay_until_window(api: TwinApi) -> None:
    now = datetime.now(timezone.utc)
    start = now + timedelta(hours=2)
    end = now + timedelta(hours=3)
    window = [start.strftime("%H:%M:%S"), end.strftime("%H:%M:%S")]
    [item] = api.send_ok(sms("79990000001", allowedTimeRanges=[window]))
    assert item["status"] == "DELAYED"
    [inside] = api.send_ok(sms("79990000002", allowedTimeRanges=[["00:00:00", "23:59:59"]]))
    assert inside["status"] == "PENDING"


def test_outcome_rules_and_fallback_share_flow(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(
        outcome_rules=[{"channel": "whatsapp", "phone_suffix": "13", "status": "UNDELIVERED"}]
    )
    body = {
        "bulkId": "fallback-1",
        "messages": [
            {
                "destinations": [{"phone": "79990000001"}, {"phone": "79990000013"}],
                "channels": {"whatsapp": {"text": "w"}, "sms": {"text": "s"}},
            }
        ],
    }
    ok, failing = api.send_ok(body)
    # Before the WhatsApp attempt finished, the SMS fallback is not visible.
    assert api.count(bulkId="fallback-1") == 2
    final = wait_for(lambda: (items := api.items(flowId=failing["flowId"])) and len(items) == 2 and items)
    assert [(i["channel"], i["status"]) for i in final] == [("WHATSAPP", "UNDELIVERED"), ("SMS", "PENDING")]
    assert final[1]["id"] != failing["id"]
    assert final[1]["createdAt"] == datetime.fromisoformat(final[0]["createdAt"]).__add__(
        timedelta(seconds=0.3)
    ).isoformat(timespec="milliseconds")
    wait_for(lambda: api.count(flowId=failing["flowId"], status="DELIVERED") == 1)
    assert [i["status"] for i in api.items(flowId=ok["flowId"])] == ["DELIVERED"]
    assert api.count(bulkId="fallback-1", channel="sms") == 1
    assert twin_emulator.admin.counters()["records_created"] == 3


def test_fallback_is_dropped_when_first_attempt_is_cancelled(
    api: TwinApi, twin_emulator: TwinEmulator
) -> None:
    twin_emulator.admin.update_settings(outcome_rules=[{"channel": "viber", "status": "ERROR"}])
    body = {
        "messages": [
            {
                "destinations": [{"phone": "79990000001"}],
                "channels": {"viber": {"text": "v"}, "sms": {"text": "s"}},
                "sendAt": in_future(600),
            }
        ]
    }
    [item] = api.send_ok(body)
    assert [i["status"] for i in api.cancel({"flowId": item["flowId"]}).json()] == ["CANCELLED"]
    dump = twin_emulator.admin.messages(flowId=item["flowId"])
    assert [(i["channel"], i["dropped"]) for i in dump["items"]] == [("VIBER", False), ("SMS", True)]


def test_required_channel_runs_in_parallel(api: TwinApi) -> None:
    body = {
        "messages": [
            {
                "destinations": [{"phone": "79990000001"}],
                "channels": {
                    "viber": {"text": "v"},
                    "whatsapp": {"text": "w"},
                    "sms": {"text": "s", "required": True},
                },
            }
        ]
    }
    [item] = api.send_ok(body)
    items = api.items(flowId=item["flowId"])
    assert [(i["channel"], i["status"]) for i in items] == [("VIBER", "PENDING"), ("SMS", "PENDING")]
    wait_for(lambda: api.count(flowId=item["flowId"], status="DELIVERED") == 2)
    # Viber delivered, so the sequential WhatsApp fallback never happens.
    assert [i["channel"] for i in api.items(flowId=item["flowId"])] == ["VIBER", "SMS"]


def test_weighted_outcomes_are_seeded(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(
        delivery_seconds=0,
        seed=7,
        outcomes={"DELIVERED": 0.5, "UNDELIVERED": 0.3, "ERROR": 0.1, "EXPIRED": 0.1},
    )
    phones = [f"7999{n:07d}" for n in range(400)]
    first = api.send_ok(sms(*phones, bulk_id="w1"))
    counts = {
        status: api.count(bulkId="w1", status=status)
        for status in ("DELIVERED", "UNDELIVERED", "ERROR", "EXPIRED")
    }
    assert sum(counts.values()) == 400
    assert 150 < counts["DELIVERED"] < 250
    assert counts["UNDELIVERED"] > counts["ERROR"] > 10
    expired = api.items(bulkId="w1", status="EXPIRED", limit=1)[0]
    assert expired["expiredAt"] is not None
    # Same seed, same sequence.
    twin_emulator.admin.update_settings(seed=7)
    api.send_ok(sms(*phones, bulk_id="w2"))
    statuses_1 = [i["status"] for i in api.items(bulkId="w1", limit=1000)]
    statuses_2 = [i["status"] for i in api.items(bulkId="w2", limit=1000)]
    assert statuses_1 == statuses_2
    assert len(first) == 400
