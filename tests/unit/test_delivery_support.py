"""An in-memory fake of TWIN's login and ``GET /messages``, served through httpx transports.

Used by the delivery, sensor and trigger unit tests to drive the real sync and async clients
without a network; the few tests at the bottom check the fake itself.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from typing import Any

import httpx

from airflow_provider_twin.client import (
    AsyncTwinClient,
    RetryPolicy,
    TwinClient,
    TwinClientConfig,
    TwinCredentials,
    TwinEndpoints,
)

BASE = "http://twin.test"
MESSAGES_PATH = "/notify/api/v1/messages"


def _jwt(exp: float) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'exp': exp})}.sig"


class FakeTwin:
    """Message records and the endpoints the status sensor uses.

    ``fail_next`` answers that many ``GET /messages`` with ``fail_status`` before serving again.
    """

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.requests: Counter[str] = Counter()
        self.queries: list[dict[str, str]] = []
        self.fail_next = 0
        self.fail_status = 500
        self._seq = 0

    def add(
        self,
        n: int,
        *,
        status: str = "PENDING",
        bulk_id: str = "bulk-1",
        group_id: str = "group-1",
        channel: str = "SMS",
        flow_ids: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Add ``n`` records (a new flow each unless ``flow_ids`` names them)."""
        added = []
        for i in range(n):
            self._seq += 1
            record = {
                "id": f"msg-{self._seq:06d}",
                "bulkId": bulk_id,
                "groupId": group_id,
                "flowId": flow_ids[i] if flow_ids else f"flow-{self._seq:06d}",
                "status": status,
                "channel": channel,
                "destination": {"phone": f"7999{self._seq:07d}"},
                "createdAt": f"2026-01-01T00:00:{self._seq % 60:02d}+00:00",
                "_order": self._seq,
            }
            self.records.append(record)
            added.append(record)
        return added

    def set_status(self, status: str, records: list[dict[str, Any]] | None = None) -> None:
        for record in self.records if records is None else records:
            record["status"] = status

    # -- HTTP ----------------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests[f"{request.method} {path}"] += 1
        if path.endswith("/auth/login"):
            return httpx.Response(200, json={"token": _jwt(time.time() + 3600), "refreshToken": "r"})
        if request.method == "GET" and path == MESSAGES_PATH:
            if self.fail_next > 0:
                self.fail_next -= 1
                return httpx.Response(self.fail_status, json={"error": "Internal Server Error"})
            params = dict(request.url.params)
            self.queries.append(params)
            return httpx.Response(200, json=self._list(params))
        return httpx.Response(404, json={"error": "Entity not found"})

    def _list(self, params: dict[str, str]) -> dict[str, Any]:
        def allowed(name: str) -> set[str] | None:
            value = params.get(name)
            return set(value.split(",")) if value else None

        filters = {
            "id": allowed("id"),
            "bulkId": allowed("bulkId"),
            "groupId": allowed("groupId"),
            "flowId": allowed("flowId"),
            "status": allowed("status"),
        }
        matched = [
            r
            for r in sorted(self.records, key=lambda r: r["_order"])
            if all(values is None or r[key] in values for key, values in filters.items())
        ]
        if params.get("withoutItems") == "1":
            return {"count": len(matched), "items": []}
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 20))
        items = [{k: v for k, v in r.items() if k != "_order"} for r in matched[offset : offset + limit]]
        return {"count": len(matched), "items": items}

    @property
    def count_requests(self) -> int:
        return sum(1 for q in self.queries if q.get("withoutItems") == "1")

    @property
    def list_requests(self) -> int:
        return sum(1 for q in self.queries if q.get("withoutItems") != "1")

    # -- clients -------------------------------------------------------------------------------
    def config(self, max_attempts: int = 2) -> TwinClientConfig:
        return TwinClientConfig(
            credentials=TwinCredentials(email="ops@example.com", password="secret"),
            endpoints=TwinEndpoints(
                iam_url=f"{BASE}/iam/api/v1",
                notify_url=f"{BASE}/notify/api/v1",
                chat_url=f"{BASE}/chat/api/v1",
            ),
            retry=RetryPolicy(max_attempts=max_attempts, backoff_initial=0.0, backoff_max=0.0),
        )

    def client(self, max_attempts: int = 2) -> TwinClient:
        return TwinClient(self.config(max_attempts), transport=httpx.MockTransport(self.handle))

    def async_client(self, max_attempts: int = 2) -> AsyncTwinClient:
        async def handler(request: httpx.Request) -> httpx.Response:
            return self.handle(request)

        return AsyncTwinClient(self.config(max_attempts), transport=httpx.MockTransport(handler))


def test_fake_filters_and_counts() -> None:
    twin = FakeTwin()
    twin.add(3, status="DELIVERED")
    twin.add(2, status="UNDELIVERED", bulk_id="bulk-2")
    from airflow_provider_twin.client import notify

    with twin.client() as client:
        assert client.send(notify.count_messages(bulk_ids=["bulk-1"])) == 3
        assert client.send(notify.count_messages(status=["DELIVERED", "UNDELIVERED"])) == 5
        assert client.send(notify.count_messages(bulk_ids="bulk-2", status="DELIVERED")) == 0
    assert twin.count_requests == 3


def test_fake_injects_failures() -> None:
    twin = FakeTwin()
    twin.add(1)
    twin.fail_next = 1
    from airflow_provider_twin.client import notify

    with twin.client(max_attempts=2) as client:
        assert client.send(notify.count_messages(bulk_ids="bulk-1")) == 1
    assert twin.requests[f"GET {MESSAGES_PATH}"] == 2
