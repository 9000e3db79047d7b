"""Status webhooks (``callbackUrl``): one POST per status change, retries, faults, refusals, listing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from emulator_testkit import TwinApi, sms, wait_for
from webhook_testkit import WebhookReceiver

from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.emulator.webhook_delivery import (
    WebhookDispatcher,
    refusal,
    url_without_query,
)
from airflow_provider_twin.emulator.webhook_settings import WEBHOOK_DEFAULTS

pytestmark = pytest.mark.twin_strict

WEBHOOK_KEYS = [
    "id",
    "bulkId",
    "groupId",
    "flowId",
    "oldStatus",
    "newStatus",
    "oldStatusCode",
    "newStatusCode",
    "price",
    "partCount",
    "callbackData",
]


def deliveries(emulator: TwinEmulator, **filters: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = emulator.admin.webhooks(**filters)["items"]
    return items


def finished(emulator: TwinEmulator, count: int) -> list[dict[str, Any]]:
    """Wait until ``count`` deliveries have a final result; returns them all."""

    def done() -> list[dict[str, Any]]:
        items = deliveries(emulator)
        final = [item for item in items if item["result"] in ("delivered", "failed", "refused")]
        return items if len(final) >= count else []

    found: list[dict[str, Any]] = wait_for(done, timeout=10)
    return found


def test_delivery_posts_the_documented_body_without_anyone_listing(
    api: TwinApi, twin_emulator: TwinEmulator, receiver: WebhookReceiver
) -> None:
    [item] = api.send_ok(
        sms("79990000001", callbackUrl=f"{receiver.url}/hook?token=s3cret", callbackData="order-42")
    )
    # Nobody lists the messages: the emulator finds the status change itself.
    [arrived] = wait_for(lambda: receiver.received, timeout=10)
    assert arrived["path"] == "/hook?token=s3cret"
    assert arrived["content_type"] == "application/json"
    body = arrived["body"]
    assert list(body) == WEBHOOK_KEYS
    assert body == {
        "id": item["id"],
        "bulkId": item["bulkId"],
        "groupId": item["groupId"],
        "flowId": item["flowId"],
        "oldStatus": "PENDING",
        "newStatus": "DELIVERED",
        "oldStatusCode": 2,
        "newStatusCode": 6,
        "price": 0,
        "partCount": 1,
        "callbackData": "order-42",
    }
    [delivery] = finished(twin_emulator, 1)
    assert delivery["url"] == f"{receiver.url}/hook"
    assert delivery["message_id"] == item["id"]
    assert delivery["new_status"] == "DELIVERED"
    assert (delivery["attempts"], delivery["result"], delivery["last_status"]) == (1, "delivered", 200)
    created = datetime.fromisoformat(delivery["created_at"])
    delivered = datetime.fromisoformat(delivery["delivered_at"])
    assert timedelta(0) <= delivered - created < timedelta(seconds=5)
    assert delivery["delivered_ts"] >= delivery["created_ts"]


def test_messages_without_callback_send_nothing_and_callback_data_may_be_absent(
    api: TwinApi, twin_emulator: TwinEmulator, receiver: WebhookReceiver
) -> None:
    api.send_ok(sms("79990000002"))
    api.send_ok(sms("79990000003", callbackUrl=f"{receiver.url}/plain"))
    [body] = wait_for(receiver.bodies, timeout=10)
    assert body["callbackData"] is None
    twin_emulator.admin.advance_clock(5)
    assert len(finished(twin_emulator, 1)) == 1


def test_delayed_message_reports_each_change_when_the_clock_advances(
    api: TwinApi, twin_emulator: TwinEmulator, receiver: WebhookReceiver
) -> None:
    send_at = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    [item] = api.send_ok(sms("79990000004", callbackUrl=f"{receiver.url}/h", sendAt=send_at))
    assert item["status"] == "DELAYED"
    twin_emulator.admin.advance_clock(3600 + 60)
    bodies = wait_for(lambda: receiver.bodies() if len(receiver.bodies()) == 2 else None, timeout=10)
    assert [(b["oldStatus"], b["newStatus"]) for b in bodies] == [
        ("DELAYED", "PENDING"),
        ("PENDING", "DELIVERED"),
    ]
    assert bodies[0]["oldStatusCode"] == 1


def test_cancel_reports_cancelled_and_nothing_after(
    api: TwinApi, twin_emulator: TwinEmulator, receiver: WebhookReceiver
) -> None:
    send_at = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    [item] = api.send_ok(sms("79990000005", callbackUrl=f"{receiver.url}/h", sendAt=send_at))
    response = api.cancel({"id": item["id"]})
    assert response.status_code == 200, response.text
    [body] = wait_for(receiver.bodies, timeout=10)
    assert (body["oldStatus"], body["newStatus"], body["newStatusCode"]) == ("DELAYED", "CANCELLED", 10)
    twin_emulator.admin.advance_clock(7200)
    finished(twin_emulator, 1)
    assert twin_emulator.admin.webhooks()["pending"] == 0
    assert len(receiver.bodies()) == 1


def test_fallback_attempts_report_their_own_outcomes(
    api: TwinApi, twin_emulator: TwinEmulator, receiver: WebhookReceiver
) -> None:
    twin_emulator.admin.update_settings(
        outcome_rules=[{"channel": "whatsapp", "status": "UNDELIVERED"}], delivery_seconds=0.1
    )
    body = {
        "messages": [
            {
                "destinations": [{"phone": "79990000006"}],
                "channels": {"whatsapp": {"text": "Hi"}, "sms": {"text": "Hi"}},
                "callbackUrl": f"{receiver.url}/h",
                "callbackData": "x",
            }
        ]
    }
    api.send_ok(body)
    bodies = wait_for(lambda: receiver.bodies() if len(receiver.bodies()) == 2 else None, timeout=10)
    assert [b["newStatus"] for b in bodies] == ["UNDELIVERED", "DELIVERED"]
    assert bodies[0]["newStatusCode"] == 7
    assert bodies[0]["flowId"] == bodies[1]["flowId"]
    assert bodies[0]["id"] != bodies[1]["id"]


def test_receiver_down_is_retried_with_backoff(
    api: TwinApi, twin_emulator: TwinEmulator, receiver: WebhookReceiver
) -> None:
    twin_emulator.admin.update_settings(webhook_backoff_seconds=0.05)
    twin_emulator.admin.add_fault(target="webhook", kind="drop", path="/h", times=2)
    api.send_ok(sms("79990000007", callbackUrl=f"{receiver.url}/h"))
    [delivery] = finished(twin_emulator, 1)
    assert (delivery["attempts"], delivery["result"], delivery["last_status"]) == (3, "delivered", 200)
    # The two failed attempts never reached the receiver: it was "down".
    assert len(receiver.received) == 1
    [rule] = twin_emulator.admin.faults()
    assert (rule["target"], rule["hits"]) == ("webhook", 2)


def test_webhook_faults_do_not_touch_the_api_and_api_faults_do_not_touch_webhooks(
    api: TwinApi, twin_emulator: TwinEmulator, receiver: WebhookReceiver
) -> None:
    twin_emulator.admin.add_fault(target="webhook", kind="status", status=503, path="*")
    twin_emulator.admin.add_fault(kind="latency", latency_ms=1, path="/nothing/*")
    twin_emulator.admin.update_settings(webhook_attempts=2, webhook_backoff_seconds=0)
    api.send_ok(sms("79990000008", callbackUrl=f"{receiver.url}/h"))
    [delivery] = finished(twin_emulator, 1)
    assert (delivery["attempts"], delivery["result"], delivery["last_status"]) == (2, "failed", 503)
    assert "503" in delivery["last_error"]
    assert receiver.received == []
    assert twin_emulator.admin.webhooks(result="failed")["count"] == 1
    assert twin_emulator.admin.webhooks(result="delivered")["count"] == 0


def test_real_5xx_answers_are_retried_and_4xx_answers_are_not(
    api: TwinApi, twin_emulator: TwinEmulator, receiver: WebhookReceiver
) -> None:
    twin_emulator.admin.update_settings(webhook_backoff_seconds=0)
    receiver.answers = [500, 502]
    [first] = api.send_ok(sms("79990000009", callbackUrl=f"{receiver.url}/h"))
    [delivery] = finished(twin_emulator, 1)
    assert (delivery["attempts"], delivery["result"]) == (3, "delivered")
    assert len(receiver.received) == 3
    assert {b["id"] for b in receiver.bodies()} == {first["id"]}

    twin_emulator.admin.clear_webhooks()
    receiver.answers = [400]
    api.send_ok(sms("79990000010", callbackUrl=f"{receiver.url}/h"))
    [refused] = finished(twin_emulator, 1)
    assert (refused["attempts"], refused["result"], refused["last_status"]) == (1, "failed", 400)


def test_slow_receiver_times_out_and_is_retried(
    api: TwinApi, twin_emulator: TwinEmulator, receiver: WebhookReceiver
) -> None:
    twin_emulator.admin.update_settings(
        webhook_timeout_seconds=0.2, webhook_backoff_seconds=0, webhook_attempts=2
    )
    twin_emulator.admin.add_fault(target="webhook", kind="latency", latency_ms=1000, times=1)
    api.send_ok(sms("79990000011", callbackUrl=f"{receiver.url}/h"))
    [delivery] = finished(twin_emulator, 1)
    assert (delivery["attempts"], delivery["result"]) == (2, "delivered")
    assert len(receiver.received) == 1

    twin_emulator.admin.clear_webhooks()
    receiver.delay = 1.0
    api.send_ok(sms("79990000012", callbackUrl=f"{receiver.url}/h"))
    [slow] = finished(twin_emulator, 1)
    assert (slow["attempts"], slow["result"], slow["last_status"]) == (2, "failed", None)
    assert slow["last_error"]


def test_an_unexpected_error_while_sending_ends_the_delivery_failed_not_sending(
    api: TwinApi,
    twin_emulator: TwinEmulator,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> tuple[int | None, str | None]:
        raise RuntimeError("boom")

    monkeypatch.setattr(WebhookDispatcher, "_attempt", staticmethod(broken))
    api.send_ok(sms("79990000014", callbackUrl=f"{receiver.url}/h"))
    [delivery] = finished(twin_emulator, 1)
    assert (delivery["result"], delivery["last_error"]) == ("failed", "RuntimeError: boom")
    assert delivery["finished_at"]
    monkeypatch.undo()
    # The senders and the sweeper survive: the next change is delivered.
    twin_emulator.admin.clear_webhooks()
    api.send_ok(sms("79990000015", callbackUrl=f"{receiver.url}/h"))
    [next_delivery] = finished(twin_emulator, 1)
    assert next_delivery["result"] == "delivered"


def test_other_hosts_are_refused_and_never_sent(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    api.send_ok(sms("79990000013", callbackUrl="https://example.org/hook?token=t"))
    [delivery] = finished(twin_emulator, 1)
    assert (delivery["result"], delivery["attempts"]) == ("refused", 0)
    assert delivery["url"] == "https://example.org/hook"
    assert "loopback" in delivery["last_error"]


def test_refusal_and_url_rules() -> None:
    assert refusal("http://127.0.0.1:8080/h", False) is None
    assert refusal("http://[::1]:8080/h", False) is None
    assert refusal("http://localhost/h", False) is None
    assert refusal("https://example.org/h", True) is None
    assert refusal("https://example.org/h", False) is not None
    assert refusal("ftp://127.0.0.1/h", False) is not None
    assert refusal("not a url", True) is not None
    assert url_without_query("http://127.0.0.1:1/a/b?token=x#frag") == "http://127.0.0.1:1/a/b"


def test_a_small_queue_delays_but_loses_nothing(
    api: TwinApi, twin_emulator: TwinEmulator, receiver: WebhookReceiver
) -> None:
    twin_emulator.admin.update_settings(webhook_queue_size=1)
    phones = [f"7999100{index:04d}" for index in range(30)]
    items = api.send_ok(sms(*phones, callbackUrl=f"{receiver.url}/h"))
    found = finished(twin_emulator, 30)
    assert {item["message_id"] for item in found} == {item["id"] for item in items}
    assert all(item["result"] == "delivered" for item in found)


def test_listing_filters_clear_and_reset(
    api: TwinApi, twin_emulator: TwinEmulator, receiver: WebhookReceiver
) -> None:
    [one] = api.send_ok(sms("79990000014", callbackUrl=f"{receiver.url}/h"))
    api.send_ok(sms("79990000015", callbackUrl=f"{receiver.url}/h"))
    finished(twin_emulator, 2)
    assert twin_emulator.admin.webhooks(messageId=one["id"])["count"] == 1
    assert twin_emulator.admin.webhooks(newStatus="delivered")["count"] == 2
    assert len(twin_emulator.admin.webhooks(limit=1)["items"]) == 1
    assert twin_emulator.admin.clear_webhooks() == 2
    assert twin_emulator.admin.webhooks()["count"] == 0
    api.send_ok(sms("79990000016", callbackUrl=f"{receiver.url}/h", sendAt="2099-01-01T00:00:00+00:00"))
    assert twin_emulator.admin.webhooks()["pending"] == 2
    twin_emulator.admin.reset()
    assert twin_emulator.admin.webhooks() == {"count": 0, "pending": 0, "items": []}


def test_pending_changes_go_out_after_a_restart(
    api: TwinApi, twin_emulator: TwinEmulator, receiver: WebhookReceiver
) -> None:
    api.send_ok(sms("79990000017", callbackUrl=f"{receiver.url}/h"))
    twin_emulator.stop()
    twin_emulator.start()
    twin_emulator.admin.health()
    wait_for(receiver.bodies, timeout=10)
    [delivery] = finished(twin_emulator, 1)
    assert delivery["result"] == "delivered"


def test_webhook_settings_are_validated(twin_emulator: TwinEmulator) -> None:
    settings = twin_emulator.admin.settings()
    assert {key: settings[key] for key in WEBHOOK_DEFAULTS} == WEBHOOK_DEFAULTS
    bad = {
        "webhook_attempts": 0,
        "webhook_backoff_seconds": -1,
        "webhook_timeout_seconds": 0,
        "webhook_allow_any_host": "yes",
        "webhook_queue_size": 0,
    }
    with pytest.raises(httpx.HTTPStatusError) as caught:
        twin_emulator.admin.update_settings(**bad)
    assert caught.value.response.status_code == 422
    assert set(caught.value.response.json()["details"]) == set(bad)
    with pytest.raises(httpx.HTTPStatusError):
        twin_emulator.admin.add_fault(target="elsewhere")
