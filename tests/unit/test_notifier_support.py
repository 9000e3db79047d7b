"""Helpers of the TwinNotifier unit tests: a small stateful TWIN and callback contexts."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from unittest import mock

import httpx
import pytest

from airflow_provider_twin.client import AsyncTwinClient, TwinClient, TwinClientConfig
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.notifications import twin as twin_module
from tests.unit.fake_twin import config, make_jwt

LOGIN = "POST /iam/api/v1/auth/login"
GET = "GET /notify/api/v1/messages"
POST = "POST /notify/api/v1/messages"
PASSWORD = "s3cret-pass"  # the fake connection's password (tests.unit.fake_twin.config)


@dataclass
class Fault:
    """What to do instead of answering: an HTTP status, a connect error, or a lost answer."""

    kind: str  # "status", "connect", "timeout" or "drop" (processed, answer lost)
    status: int = 500
    body: dict[str, Any] = field(default_factory=lambda: {"error": "Internal Server Error"})
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class NotifyTwin:
    """The parts of TWIN a notifier talks to: login, count by ``bulkId``, create."""

    bulks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def fault(self, route: str, *faults: Fault) -> None:
        self.faults.setdefault(route, []).extend(faults)

    def messages(self) -> list[dict[str, Any]]:
        return [message for bulk in self.bulks.values() for message in bulk]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        route = f"{request.method} {request.url.path}"
        self.requests[route] += 1
        fault = self.faults[route].pop(0) if self.faults.get(route) else None
        if fault is not None and fault.kind == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if fault is not None and fault.kind == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if fault is not None and fault.kind == "status":
            return httpx.Response(fault.status, json=fault.body, headers=fault.headers)
        response = self._answer(route, request)
        if fault is not None and fault.kind == "drop":
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        return response

    def _answer(self, route: str, request: httpx.Request) -> httpx.Response:
        if route == LOGIN:
            return httpx.Response(200, json={"token": make_jwt(time.time() + 3600), "refreshToken": "r"})
        if route == GET:
            bulk_ids = [b for b in request.url.params.get("bulkId", "").split(",") if b]
            count = sum(len(self.bulks.get(b, [])) for b in bulk_ids)
            return httpx.Response(200, json={"count": count, "items": []})
        if route == POST:
            body = json.loads(request.content)
            self.bodies.append(body)
            items = []
            for message in body["messages"]:
                for index, destination in enumerate(message["destinations"]):
                    stored = {"destination": destination, "channels": message["channels"], **message}
                    self.bulks.setdefault(body["bulkId"], []).append(stored)
                    items.append(
                        {
                            "id": f"m{len(self.messages())}",
                            "bulkId": body["bulkId"],
                            "groupId": "g",
                            "flowId": f"f{index}",
                            "status": "PENDING",
                            "channel": next(iter(message["channels"])).upper(),
                            "error": None,
                        }
                    )
            return httpx.Response(201, json=items)
        return httpx.Response(404, json={"error": "Entity not found"})


def install(monkeypatch: pytest.MonkeyPatch, fake: NotifyTwin) -> TwinClientConfig:
    """Make the notifier's hook and clients talk to ``fake``; no pauses between attempts."""
    cfg = config()
    transport = httpx.MockTransport(fake)

    def sync_client(settings: TwinClientConfig) -> TwinClient:
        return TwinClient(settings, transport=transport)

    def async_client(settings: TwinClientConfig) -> AsyncTwinClient:
        return AsyncTwinClient(settings, transport=transport)

    async def aget_connection(cls: Any, conn_id: str) -> Any:
        return SimpleNamespace(conn_id=conn_id)

    monkeypatch.setattr(TwinHook, "client_config", property(lambda self: cfg))
    monkeypatch.setattr(TwinHook, "aget_connection", classmethod(aget_connection))
    monkeypatch.setattr(twin_module, "client_config", lambda conn: cfg)
    monkeypatch.setattr(twin_module, "TwinClient", sync_client)
    monkeypatch.setattr(twin_module, "AsyncTwinClient", async_client)
    monkeypatch.setattr(twin_module, "DEFAULT_SETTLE_SECONDS", 0.0)
    return cfg


def task_ti(state: str = "failed", try_number: int = 1, map_index: int = -1, **extra: Any) -> Any:
    """A task instance as a callback sees it."""
    values = {
        "dag_id": "nightly_crm",
        "task_id": "load",
        "run_id": "scheduled__2026-01-28T02:00:00+00:00",
        "map_index": map_index,
        "try_number": try_number,
        "state": state,
        "log_url": "http://airflow.example.com/dags/nightly_crm/runs/r/tasks/load?try_number=1",
    }
    values.update(extra)
    return SimpleNamespace(**values)


def task_context(state: str = "failed", error: BaseException | None = None, **ti: Any) -> dict[str, Any]:
    """The context of a task callback."""
    instance = task_ti(state, **ti)
    return {"ti": instance, "task_instance": instance, "run_id": instance.run_id, "exception": error}


def dag_context(reason: str = "task_failure", **ti: Any) -> dict[str, Any]:
    """The context of a DAG callback (last task instance included)."""
    instance = task_ti("failed" if reason != "success" else "success", **ti)
    return {
        "dag": SimpleNamespace(dag_id="nightly_crm", render_template_as_native_obj=False),
        "ti": instance,
        "run_id": instance.run_id,
        "reason": reason,
    }


def deadline_context(deadline_id: str = "0b6d0c7e-0000-4000-8000-00000000d001") -> dict[str, Any]:
    """The context the triggerer gives a deadline alert's callback."""
    return {
        "dag_run": {"dag_id": "nightly_crm", "dag_run_id": "scheduled__2026-01-28T02:00:00+00:00"},
        "deadline": {"id": deadline_id, "deadline_time": "2026-01-28T04:00:00+00:00"},
    }


def logged(notifier: Any) -> mock.MagicMock:
    """Replace the notifier's logger with a mock (copies made for rendering share it)."""
    log = mock.MagicMock()
    notifier._log = log
    return log


def lines(log: mock.MagicMock, level: str) -> list[str]:
    """The formatted messages logged at ``level`` (``info``, ``warning``, ``error``)."""
    return [call.args[0] % call.args[1:] for call in getattr(log, level).call_args_list]
