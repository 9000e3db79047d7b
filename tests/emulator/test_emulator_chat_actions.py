"""Chat session actions: close with a result (strict and lenient), mark read, the further list filters."""

from __future__ import annotations

from typing import Any

import httpx
from emulator_testkit import CHAT_ID, TwinApi

from airflow_provider_twin.emulator import TwinEmulator

CHAT = "/chat/api/v1"


def start(api: TwinApi, **body: Any) -> str:
    response = api.http.post(f"{CHAT}/chats/{CHAT_ID}/sessions", json=body)
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


def close(api: TwinApi, session_id: str, body: Any = None) -> httpx.Response:
    return api.http.request("DELETE", f"{CHAT}/sessions/{session_id}", json=body, headers=api.headers())


def listed(api: TwinApi, **params: Any) -> httpx.Response:
    return api.http.get(f"{CHAT}/sessions", params=params, headers=api.headers())


def test_close_takes_the_documented_result_and_strict_mode_requires_it(
    api: TwinApi, twin_emulator: TwinEmulator
) -> None:
    first, second = start(api), start(api)
    assert close(api, first).status_code == 204  # lenient: no body is fine
    assert close(api, first, {"result": "done"}).status_code == 204  # closed already: still 204
    assert close(api, second, {"result": 5}).status_code == 422
    twin_emulator.admin.update_settings(strict=True)
    refused = close(api, second)
    assert refused.status_code == 422
    assert "result" in refused.json()["details"]
    assert close(api, second, {"result": "resolved"}).status_code == 204
    info = api.http.get(f"{CHAT}/sessions/{second}", headers=api.headers()).json()
    assert info["status"] == "CLOSED"


def test_mark_read_sets_read_at_once(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    session_id = start(api, messageBody="hello", clientPhone="79990000001")
    info = api.http.get(f"{CHAT}/sessions/{session_id}", headers=api.headers()).json()
    assert info["unreadClientMessageCount"] == 1
    messages = api.http.get(f"{CHAT}/sessions/{session_id}/messages", headers=api.headers()).json()
    client_message = next(m for m in messages["items"] if m["authorType"] == "CLIENT")
    path = f"{CHAT}/messages/{client_message['id']}/read"
    read = api.http.patch(path, headers=api.headers())
    assert read.status_code == 200
    read_at = read.json()["readAt"]
    assert read_at
    twin_emulator.admin.advance_clock(5)
    assert api.http.patch(path, headers=api.headers()).json()["readAt"] == read_at
    info = api.http.get(f"{CHAT}/sessions/{session_id}", headers=api.headers()).json()
    assert info["unreadClientMessageCount"] == 0
    assert api.http.patch(f"{CHAT}/messages/nope/read", headers=api.headers()).status_code == 404
    assert api.http.patch(path).status_code == 401


def test_further_list_filters(api: TwinApi) -> None:
    open_one = start(api, name="Invoice question", clientPhone="79990000001")
    closed_one = start(api, name="Delivery", clientPhone="79990000001", messageBody="where is my parcel")
    close(api, closed_one, {"result": "ok"})

    def ids(**params: Any) -> list[str]:
        response = listed(api, chatId=CHAT_ID, **params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids(botStatus="ACTIVE") == [open_one]
    assert ids(botStatus="finished") == [closed_one]
    assert ids(keyword="invoice") == [open_one]
    assert ids(keyword="PARCEL") == [closed_one]
    assert ids(markedAsSpam="1") == []
    assert set(ids(markedAsSpam="0", clientBanned="false")) == {open_one, closed_one}
    assert ids(tags="vip") == []
    assert ids(operatorId="7") == []
    assert ids(groupByClientId="1") == [closed_one]  # the client's latest session
    assert listed(api, markedAsSpam="maybe").status_code == 422
