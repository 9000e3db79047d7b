"""Shared test utilities for the emulator tests: HTTP calls on the production paths and polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from airflow_provider_twin.emulator import TwinEmulator

T = TypeVar("T")

EMAIL = "demo@twin.local"
PASSWORD = "twin-demo"
CHAT_ID = "2b1c5a9e-7a52-4a6f-9a3e-3d0c4f1e8b11"


class TwinApi:
    """Plain httpx calls against the emulator's production paths."""

    def __init__(self, emulator: TwinEmulator) -> None:
        self.emulator = emulator
        self.base = emulator.base_url
        self.http = httpx.Client(base_url=self.base, timeout=10.0)
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    def login(self, **overrides: Any) -> httpx.Response:
        body: dict[str, Any] = {
            "email": EMAIL,
            "password": PASSWORD,
            "ttl": 3600,
            "companyId": None,
            "extra": [],
        }
        body.update(overrides)
        return self.http.post("/iam/api/v1/auth/login", json=body)

    @property
    def token(self) -> str:
        if self._token is None:
            response = self.login()
            assert response.status_code == 200, response.text
            self._token = response.json()["token"]
        return self._token

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def send(self, body: Any, token: str | None = None) -> httpx.Response:
        return self.http.post("/notify/api/v1/messages", json=body, headers=self.headers(token))

    def send_ok(self, body: Any) -> list[dict[str, Any]]:
        response = self.send(body)
        assert response.status_code == 201, response.text
        items: list[dict[str, Any]] = response.json()
        return items

    def messages(self, token: str | None = None, **params: Any) -> httpx.Response:
        return self.http.get("/notify/api/v1/messages", params=params, headers=self.headers(token))

    def items(self, **params: Any) -> list[dict[str, Any]]:
        response = self.messages(**params)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def count(self, **params: Any) -> int:
        response = self.messages(withoutItems=1, **params)
        assert response.status_code == 200, response.text
        count: int = response.json()["count"]
        return count

    def cancel(self, body: Any) -> httpx.Response:
        return self.http.request("DELETE", "/notify/api/v1/messages", json=body, headers=self.headers())


def sms(*phones: str, text: str = "Hello", bulk_id: str | None = None, **message: Any) -> dict[str, Any]:
    """A one-message SMS batch body; extra keyword arguments go into the message."""
    body: dict[str, Any] = {
        "messages": [
            {
                "destinations": [{"phone": phone} for phone in phones],
                "channels": {"sms": {"text": text}},
                **message,
            }
        ]
    }
    if bulk_id is not None:
        body["bulkId"] = bulk_id
    return body


def wait_for(check: Callable[[], T], timeout: float = 5.0, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns a truthy value (or fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value: {value!r})")
        time.sleep(interval)
