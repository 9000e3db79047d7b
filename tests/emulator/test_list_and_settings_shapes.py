"""List refusals, paging windows and the JSON shapes several routes share.

The chat lists, the admin dumps, the request log and the publications read their queries through one
reader, and both settings ``PATCH`` calls answer through one rule; these tests pin what each of them
answers, so every route keeps the same refusals, windows and key orders.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_testkit import CHAT_ID, TwinApi, sms

from airflow_provider_twin.emulator import TwinEmulator

VALIDATION_FAILED = "Validation failed"


def _admin(emulator: TwinEmulator) -> httpx.Client:
    return httpx.Client(base_url=f"{emulator.base_url}/_emulator", timeout=10.0)


def _start_session(api: TwinApi) -> dict[str, Any]:
    response = api.http.post(f"/chat/api/v1/chats/{CHAT_ID}/sessions", json={})
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


@pytest.mark.parametrize("path", ["/chat/api/v1/sessions", f"/chat/api/v1/sessions/{CHAT_ID}/messages"])
def test_chat_lists_judge_the_token_before_the_paging(api: TwinApi, path: str) -> None:
    assert api.http.get(path, params={"limit": 0}).status_code == 401
    response = api.http.get(path, params={"limit": 0}, headers=api.headers())
    assert response.status_code == 422
    assert response.json() == {"error": VALIDATION_FAILED, "details": {"limit": ["Must be >= 1."]}}


def test_chat_lists_show_the_window_they_ask_for(api: TwinApi) -> None:
    ids = [_start_session(api)["id"] for _ in range(3)]
    listing = api.http.get("/chat/api/v1/sessions", params={"limit": 1, "page": 2}, headers=api.headers())
    assert listing.status_code == 200
    body = listing.json()
    assert body["count"] == 3
    assert [item["id"] for item in body["items"]] == ids[1:2]
    messages = api.http.get(
        f"/chat/api/v1/sessions/{ids[0]}/messages", params={"offset": 1}, headers=api.headers()
    )
    assert messages.status_code == 200
    assert messages.json()["items"] == []


def test_admin_dumps_page_by_100_up_to_100000(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    api.send_ok(sms(*(f"7999{n:07d}" for n in range(101))))
    with _admin(twin_emulator) as admin:
        default = admin.get("/messages").json()
        assert (default["count"], len(default["items"])) == (101, 100)
        capped = admin.get("/messages", params={"limit": 10**9, "offset": 100}).json()
        assert len(capped["items"]) == 1
        for path, params in (
            ("/messages", {"limit": "x"}),
            ("/sessions", {"page": 0}),
            ("/requests", {"status": "x"}),
            ("/centrifugo/publications", {"limit": 0}),
        ):
            response = admin.get(path, params=params)
            assert response.status_code == 422, path
            assert response.json()["error"] == VALIDATION_FAILED
            assert list(response.json()["details"]) == list(params), path


@pytest.mark.parametrize("path", ["/settings", "/centrifugo"])
def test_settings_patches_refuse_alike(twin_emulator: TwinEmulator, path: str) -> None:
    with _admin(twin_emulator) as admin:
        not_json = admin.patch(path, content=b"{", headers={"content-type": "application/json"})
        assert not_json.status_code == 400
        not_object = admin.patch(path, json=[1])
        assert not_object.status_code == 422
        assert not_object.json()["details"] == {"body": ["Must be a JSON object."]}
        unknown = admin.patch(path, json={"nonsense": 1})
        assert unknown.status_code == 422
        assert "nonsense" in unknown.json()["details"]
        assert admin.patch(path, json={}).status_code == 200


def test_settings_records_keep_their_json_form(twin_emulator: TwinEmulator) -> None:
    settings = twin_emulator.admin.update_settings(
        outcome_rules=[{"status": "undelivered", "channel": "Viber"}]
    )
    assert list(settings["outcome_rules"][0].items()) == [
        ("channel", "viber"),
        ("phone_suffix", None),
        ("email_suffix", None),
        ("status", "UNDELIVERED"),
    ]
    assert list(settings["accounts"][0]) == ["email", "password", "company_id"]
    with _admin(twin_emulator) as admin:
        response = admin.patch(
            "/settings",
            json={
                "outcome_rules": [{"status": "DELIVERED"}, {"status": "LOST"}, "x"],
                "accounts": [{"email": "a@b.c", "password": "p"}, {"email": ""}],
            },
        )
    assert response.status_code == 422
    assert sorted(response.json()["details"]) == ["accounts[1]", "outcome_rules[1]", "outcome_rules[2]"]


def test_message_items_start_with_the_record_ids_and_status(api: TwinApi) -> None:
    [created] = api.send_ok(sms("79990000001", sendAt="2999-01-01T00:00:00Z"))
    [listed] = api.items(id=created["id"])
    assert list(listed)[:6] == ["id", "bulkId", "groupId", "flowId", "status", "statusCode"]
    [cancelled] = api.cancel({"id": created["id"]}).json()
    assert list(cancelled) == ["id", "bulkId", "groupId", "flowId", "status", "channel", "error"]
    assert {key: listed[key] for key in ("id", "bulkId", "groupId", "flowId")} == {
        key: cancelled[key] for key in ("id", "bulkId", "groupId", "flowId")
    }
