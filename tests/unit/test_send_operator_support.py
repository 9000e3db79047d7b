"""An in-memory TWIN notify service for the send and cancel operator tests (no tests here).

It keeps the batches it created by ``bulkId``, answers counts and cancels from them, and
plays scripted faults: ``drop`` (create, then lose the answer), ``status`` (answer an error
without creating anything) and per-destination ``reject``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from airflow_provider_twin.client import AsyncTwinClient, RetryPolicy, TwinClient
from airflow_provider_twin.hooks.twin import TwinHook
from tests.unit.fake_twin import config, make_jwt

LOGIN = "POST /iam/api/v1/auth/login"
POST = "POST /notify/api/v1/messages"
GET = "GET /notify/api/v1/messages"
DELETE = "DELETE /notify/api/v1/messages"


@dataclass
class Fault:
    """One scripted fault for a route: ``kind`` is ``drop`` or ``status``."""

    kind: str
    status: int = 500
    body: dict[str, Any] = field(default_factory=lambda: {"error": "Internal Server Error"})
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class BulkTwin:
    """Stateful fake of the parts of TWIN the operators use."""

    latency: float = 0.0
    reject: Callable[[dict[str, Any]], str | None] = lambda destination: None
    batches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    post_times: list[float] = field(default_factory=list)
    delete_bodies: list[dict[str, Any]] = field(default_factory=list)

    def fault(self, route: str, *faults: Fault) -> None:
        self.faults.setdefault(route, []).extend(faults)

    def destinations(self) -> list[dict[str, Any]]:
        return [d for batch in self.batches.values() for d in batch]

    def duplicate_pairs(self) -> int:
        pairs = Counter(
            (bulk, json.dumps({k: v for k, v in d.items() if k != "variables"}, sort_keys=True))
            for bulk, batch in self.batches.items()
            for d in batch
        )
        return sum(1 for count in pairs.values() if count > 1)

    # -- the transport -------------------------------------------------------------------------------
    async def __call__(self, request: httpx.Request) -> httpx.Response:
        route = f"{request.method} {request.url.path}"
        self.requests[route] += 1
        if route == LOGIN:
            return httpx.Response(200, json={"token": make_jwt(time.time() + 3600), "refreshToken": "r"})
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            fault = self.faults[route].pop(0) if self.faults.get(route) else None
            if fault is not None and fault.kind == "status":
                return httpx.Response(fault.status, json=fault.body, headers=fault.headers)
            response = self._answer(route, request)
            if fault is not None and fault.kind == "drop":
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body"
                )
            return response
        finally:
            self.in_flight -= 1

    def _answer(self, route: str, request: httpx.Request) -> httpx.Response:
        if route == POST:
            self.post_times.append(time.monotonic())
            return self._create(json.loads(request.content))
        if route == GET:
            bulk_ids = [b for b in request.url.params.get("bulkId", "").split(",") if b]
            count = sum(len(self.batches.get(b, [])) for b in bulk_ids)
            return httpx.Response(200, json={"count": count, "items": []})
        if route == DELETE:
            body = json.loads(request.content)
            self.delete_bodies.append(body)
            return httpx.Response(200, json=self._cancel(body))
        return httpx.Response(404, json={"error": "Entity not found"})

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        self.bodies.append(body)
        bulk_id = body["bulkId"]
        items: list[dict[str, Any]] = []
        stored = self.batches.setdefault(bulk_id, [])
        for message in body["messages"]:
            channel = next(iter(message["channels"])).upper()
            group_id = message.get("groupId") or "g-auto"
            for destination in message["destinations"]:
                error = self.reject(destination)
                message_id = f"m{len(self.messages) + 1}"
                if error is None:
                    stored.append(destination)
                    status = "DELAYED" if message.get("sendAt") else "PENDING"
                    self.messages[message_id] = {"bulkId": bulk_id, "groupId": group_id, "status": status}
                items.append(
                    {
                        "id": None if error else message_id,
                        "bulkId": bulk_id,
                        "groupId": group_id,
                        "flowId": f"f{len(self.messages)}",
                        "status": None if error else "PENDING",
                        "channel": channel,
                        "error": {"message": error, "file": "x.php", "line": 1, "trace": []}
                        if error
                        else None,
                    }
                )
        return httpx.Response(201, json=items)

    def _cancel(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        def wanted(key: str) -> set[str] | None:
            value = body.get(key)
            return None if value is None else set(value.split(","))

        ids, bulks, groups = wanted("id"), wanted("bulkId"), wanted("groupId")
        items = []
        for message_id, message in self.messages.items():
            if ids is not None and message_id not in ids:
                continue
            if bulks is not None and message["bulkId"] not in bulks:
                continue
            if groups is not None and message["groupId"] not in groups:
                continue
            if message["status"] == "DELAYED":
                message["status"] = "CANCELLED"
            items.append(
                {"id": message_id, "bulkId": message["bulkId"], "status": message["status"], "error": None}
            )
        return items


FAST = RetryPolicy(max_attempts=4, backoff_initial=0.001, backoff_max=0.005, max_elapsed=10)


def install(monkeypatch: pytest.MonkeyPatch, twin: BulkTwin, retry: RetryPolicy = FAST) -> None:
    """Make every TwinHook hand out clients talking to ``twin``."""

    async def get_async_client(self: TwinHook) -> AsyncTwinClient:
        if self._async_client is None:
            self._async_client = AsyncTwinClient(config(retry=retry), transport=httpx.MockTransport(twin))
        return self._async_client

    def get_client(self: TwinHook) -> TwinClient:
        if self._client is None:

            def handler(request: httpx.Request) -> httpx.Response:
                return asyncio.run(twin(request))

            self._client = TwinClient(config(retry=retry), transport=httpx.MockTransport(handler))
        return self._client

    monkeypatch.setattr(TwinHook, "get_async_client", get_async_client)
    monkeypatch.setattr(TwinHook, "get_client", get_client)
