"""Admin API: counters, request log, reset, settings and state dumps."""

from __future__ import annotations

import httpx
from emulator_testkit import CHAT_ID, TwinApi, sms

from airflow_provider_twin.emulator import TwinEmulator


def test_counters(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    token = api.token
    api.http.post(
        "/iam/api/v1/auth/refresh", json={"refreshToken": api.login().json()["refreshToken"], "ttl": 60}
    )
    api.send_ok(sms("79990000001", "79990000002", bulk_id="b1"))
    api.send_ok(
        {
            "bulkId": "b1",
            "messages": [
                {
                    "destinations": [{"phone": "79990000001", "variables": {"other": 1}}],
                    "channels": {"sms": {"text": "x"}},
                },
                {
                    "destinations": [{"phone": "79990000001"}, {"email": "x@example.org"}],
                    "channels": {"email": {"text": "y"}},
                },
            ],
        }
    )
    api.send_ok(sms("79990000001", bulk_id="b2"))  # another bulk: not a duplicate
    api.messages(token=token)
    api.http.get("/notify/api/v1/messages")  # 401
    counters = twin_emulator.admin.counters()
    assert counters["requests"] == {
        "POST /iam/api/v1/auth/login": 2,
        "POST /iam/api/v1/auth/refresh": 1,
        "POST /notify/api/v1/messages": 3,
        "GET /notify/api/v1/messages": 2,
    }
    assert counters["responses_by_status"] == {"200": 4, "201": 3, "401": 1}
    assert counters["messages_created"] == 4
    assert counters["destinations_created"] == 6
    assert counters["records_created"] == 6
    # 79990000001 in bulk b1 was created three times: one pair, counted once per destination identity.
    assert counters["duplicate_pairs"] == 1
    assert counters["duplicate_destinations"] == 2
    assert counters["logins"] == 2
    assert counters["refreshes"] == 1


def test_request_log(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    session = api.http.post(f"/chat/api/v1/chats/{CHAT_ID}/sessions", json={}).json()
    api.http.get(f"/chat/api/v1/sessions/{session['id']}", headers=api.headers())
    twin_emulator.admin.counters()  # admin calls are not logged
    log = twin_emulator.admin.requests()
    assert [(e["method"], e["route"], e["status"]) for e in log] == [
        ("POST", "/chat/api/v1/chats/{chatId}/sessions", 201),
        ("POST", "/iam/api/v1/auth/login", 200),
        ("GET", "/chat/api/v1/sessions/{sessionId}", 200),
    ]
    assert log[2]["path"] == f"/chat/api/v1/sessions/{session['id']}"
    assert all(e["timestamp"].endswith("+00:00") for e in log)
    assert [e["status"] for e in twin_emulator.admin.requests(method="POST", limit=1)] == [200]


def test_reset_keeps_settings(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(delivery_seconds=5)
    twin_emulator.admin.add_fault(path="/nothing", kind="status", status=500)
    api.send_ok(sms("79990000001"))
    twin_emulator.admin.reset()
    assert twin_emulator.admin.counters()["destinations_created"] == 0
    assert twin_emulator.admin.faults() == []
    assert twin_emulator.admin.requests() == []
    assert twin_emulator.admin.messages()["count"] == 0
    assert twin_emulator.admin.settings()["delivery_seconds"] == 5
    assert api.count() == 0  # the old token still works after a reset


def test_settings_patch_validation(twin_emulator: TwinEmulator) -> None:
    settings = twin_emulator.admin.settings()
    assert settings["delivery_seconds"] == 0.3
    assert settings["port"] == twin_emulator.port
    assert settings["accounts"][0]["email"] == "demo@twin.local"
    admin = httpx.Client(base_url=f"{twin_emulator.base_url}/_emulator")
    for patch in (
        {"delivery_seconds": -1},
        {"outcomes": {"LOST": 1}},
        {"outcome_rules": [{"status": "DELIVERED", "channel": "fax"}]},
        {"expired_token_status": 500},
        {"chats": ["x"]},
        {"port": 1},
        {"nonsense": 1},
    ):
        response = admin.patch("/settings", json=patch)
        assert response.status_code == 422, patch
        assert response.json()["error"] == "Validation failed"
    admin.close()
    updated = twin_emulator.admin.update_settings(outcomes={"delivered": 1, "error": 0}, token_ttl_cap=None)
    assert updated["outcomes"] == {"DELIVERED": 1.0, "ERROR": 0.0}


def test_state_dumps(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(outcome_rules=[{"channel": "viber", "status": "UNDELIVERED"}])
    api.send_ok(
        {
            "bulkId": "dump",
            "messages": [
                {
                    "destinations": [{"phone": "79990000001"}],
                    "channels": {"viber": {"text": "v"}, "sms": {"text": "s"}},
                    "callbackUrl": "https://example.org/hook",
                    "callbackData": "order-1",
                },
            ],
        }
    )
    dump = twin_emulator.admin.messages(bulkId="dump")
    assert dump["count"] == 2  # includes the SMS fallback that is not visible yet
    first, fallback = dump["items"]
    assert first["visible"] is True
    assert first["outcome"] == "UNDELIVERED"
    assert first["callbackData"] == "order-1"
    assert fallback["visible"] is False
    assert fallback["attempt"] == 1
    assert fallback["destination"] == {"phone": "79990000001"}
    assert twin_emulator.admin.messages(channel="sms")["count"] == 1
    api.http.post(f"/chat/api/v1/chats/{CHAT_ID}/sessions", json={"messageBody": "hi"})
    sessions = twin_emulator.admin.sessions()
    assert sessions["count"] == 1
    assert [m["authorType"] for m in sessions["items"][0]["messages"]] == ["CLIENT", "BOT"]


def test_advance_clock_brings_deliveries_due(twin_emulator: TwinEmulator) -> None:
    admin = twin_emulator.admin
    admin.update_settings(delivery_seconds=3600)
    conn = twin_emulator.connection
    with httpx.Client(base_url=twin_emulator.base_url) as http:
        login = http.post(
            "/iam/api/v1/auth/login", json={"email": conn["login"], "password": conn["password"]}
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        body = {
            "bulkId": "clock-1",
            "messages": [{"destinations": [{"phone": "79990000001"}], "channels": {"sms": {"text": "hi"}}}],
        }
        assert http.post("/notify/api/v1/messages", json=body, headers=headers).status_code == 201
        assert [m["status"] for m in admin.messages(bulkId="clock-1")["items"]] == ["PENDING"]
        assert admin.advance_clock(3601) == 3601
        assert [m["status"] for m in admin.messages(bulkId="clock-1")["items"]] == ["DELIVERED"]
    admin.reset()
    assert admin.advance_clock(0) == 0
