"""Notify templates in the emulator (twin-api.md §3.7): CRUD, list filters, and messages sent with one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_testkit import TwinApi

from airflow_provider_twin.emulator import TwinEmulator

TEMPLATES = "/notify/api/v1/templates"
UNKNOWN = "0b7d8c1e-5a0f-4c1e-9d7a-2f3e4a5b6c7d"
SMS_TEMPLATE = {
    "name": "order-ready",
    "channels": {"sms": {"text": "Hi {{name}}, order {{ order }} is ready", "from": "Shop"}},
    "allowedTimeRanges": [["09:00:00", "21:00:00"]],
}


def call(api: TwinApi, method: str, path: str = "", **kwargs: Any) -> httpx.Response:
    return api.http.request(method, TEMPLATES + path, headers=api.headers(), **kwargs)


def create(api: TwinApi, body: dict[str, Any] | None = None) -> str:
    response = call(api, "POST", json=body or SMS_TEMPLATE)
    assert response.status_code == 201, response.text
    template_id: str = response.json()["id"]
    return template_id


def test_create_read_update_delete(api: TwinApi) -> None:
    template_id = create(api)
    stored = call(api, "GET", f"/{template_id}").json()
    assert set(stored) == {"id", "name", "channels", "allowedTimeRanges", "createdAt", "updatedAt"}
    assert stored["name"] == "order-ready"
    assert stored["channels"]["sms"]["text"].startswith("Hi {{name}}")
    assert stored["allowedTimeRanges"] == [["09:00:00", "21:00:00"]]

    updated = call(api, "PUT", f"/{template_id}", json={"channels": {"sms": {"text": "Bye {{name}}"}}})
    assert updated.status_code == 200, updated.text
    again = call(api, "GET", f"/{template_id}").json()
    assert again["name"] == "order-ready"  # a PUT replaces only the fields it holds
    assert again["channels"] == {"sms": {"text": "Bye {{name}}"}}

    deleted = call(api, "DELETE", f"/{template_id}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert call(api, "GET", f"/{template_id}").status_code in (200, 404)
    assert call(api, "DELETE", f"/{template_id}").status_code == 404
    assert call(api, "PUT", f"/{template_id}", json={"name": "x"}).status_code == 404


def test_list_filters_and_paging(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    first = create(api)
    second = create(api, {**SMS_TEMPLATE, "name": "reminder, daily"})
    third = create(api, {**SMS_TEMPLATE, "name": "welcome"})
    listed = call(api, "GET").json()
    assert listed["count"] == 3
    assert [item["id"] for item in listed["items"]] == [first, second, third]
    by_name = call(api, "GET", params={"name": "reminder, daily"}).json()
    assert [item["id"] for item in by_name["items"]] == [second]
    assert call(api, "GET", params={"name": "reminder"}).json()["count"] == 0  # the whole name
    by_ids = call(api, "GET", params={"id": f"{first},{third}"}).json()
    assert {item["id"] for item in by_ids["items"]} == {first, third}
    assert call(api, "GET", params={"companyId": "1"}).json()["count"] == 3
    assert call(api, "GET", params={"companyId": "2"}).json()["count"] == 0
    page = call(api, "GET", params={"limit": 1, "offset": 1}).json()
    assert (page["count"], [item["id"] for item in page["items"]]) == (3, [second])
    assert call(api, "GET", params={"limit": "x"}).status_code == 422
    twin_emulator.reset()
    assert call(api, "GET").json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channels": {"sms": {"text": "Hi"}}}, "name"),
        ({"name": " "}, "name"),
        ({"name": "x", "channels": {"fax": {"text": "Hi"}}}, "channels.fax"),
        ({"name": "x", "channels": {"sms": {"from": "Shop"}}}, "channels.sms.text"),
        (
            {"name": "x", "channels": {"sms": {"text": "Hi", "validityPeriod": 0}}},
            "channels.sms.validityPeriod",
        ),
        ({"name": "x", "allowedTimeRanges": [["9:00"]]}, "allowedTimeRanges[0]"),
    ],
)
def test_create_refuses_what_post_messages_refuses(api: TwinApi, body: dict[str, Any], field: str) -> None:
    response = call(api, "POST", json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["details"]


def test_strict_mode_checks_template_channels_as_messages(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    body = {"name": "vk", "channels": {"vkontakte": {"text": "Hi", "from": "Shop"}}}
    assert call(api, "POST", json=body).status_code == 201
    twin_emulator.admin.update_settings(strict=True)
    refused = call(api, "POST", json=body)
    assert refused.status_code == 422
    assert "channels.vkontakte.templateName" in refused.json()["details"]


def test_calls_need_a_token(api: TwinApi) -> None:
    assert api.http.get(TEMPLATES).status_code == 401
    assert api.http.post(TEMPLATES, json=SMS_TEMPLATE).status_code == 401
    assert api.http.delete(f"{TEMPLATES}/{UNKNOWN}").status_code == 401


def test_message_sent_with_a_template_takes_its_text_and_variables(api: TwinApi) -> None:
    template_id = create(api)
    body = {
        "messages": [
            {
                "templateId": template_id,
                "destinations": [
                    {"phone": "79990000001", "variables": {"name": "Ann", "order": 42}},
                    {"phone": "79990000002", "variables": {"name": "Bob"}},
                ],
                "channels": {"sms": {"text": "ignored", "provider": "INFOBIP"}},
            }
        ]
    }
    api.send_ok(body)
    items = sorted(api.items(), key=lambda item: item["destination"]["phone"])
    assert items[0]["templateId"] == template_id
    assert items[0]["message"] == {"text": "Hi Ann, order 42 is ready", "from": "Shop", "provider": "INFOBIP"}
    # A variable the recipient has no value for stays as written.
    assert items[1]["message"]["text"] == "Hi Bob, order {{ order }} is ready"


def test_unknown_template_is_implicit_by_default_and_refused_in_strict_mode_without_it(
    api: TwinApi, twin_emulator: TwinEmulator
) -> None:
    body = {
        "messages": [
            {"templateId": UNKNOWN, "destinations": [{"phone": "79990000001"}], "channels": {"sms": {}}}
        ]
    }
    twin_emulator.admin.update_settings(strict=True)
    assert api.send(body).status_code == 201  # implicit_templates (the default): as before
    implicit = call(api, "GET", f"/{UNKNOWN}")
    assert (implicit.status_code, implicit.json()["channels"]) == (200, {})
    assert call(api, "GET").json()["count"] == 0  # never listed

    twin_emulator.admin.update_settings(implicit_templates=False)
    refused = api.send(body)
    assert refused.status_code == 422
    assert list(refused.json()["details"]) == ["messages[0].templateId"]
    assert call(api, "GET", f"/{UNKNOWN}").status_code == 404

    twin_emulator.admin.update_settings(strict=False)
    assert api.send(body).status_code == 201  # lenient mode keeps the request's own content
