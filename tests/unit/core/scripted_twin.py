"""A scripted TWIN for the engine's unit tests, served through ``httpx.MockTransport``.

The engine's tests need answers no real server gives on demand, each at an exact point of a
request sequence: a response lost after the request left, a body that is not JSON, a
``Retry-After`` in a given form, a token rejected right after its renewal. Everything above the
engine is tested against the emulator instead.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from airflow_provider_twin.client import RetryPolicy, TwinClientConfig, TwinCredentials, TwinEndpoints

BASE = "http://twin.test"
ENDPOINTS = TwinEndpoints(
    iam_url=f"{BASE}/iam/api/v1",
    notify_url=f"{BASE}/notify/api/v1",
    chat_url=f"{BASE}/chat/api/v1",
    centrifugo_url="ws://twin.test/centrifugo/connection/websocket",
)
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_initial=0.001, backoff_max=0.005, max_elapsed=5)


def make_jwt(exp: float, **claims: Any) -> str:
    """A JWT-shaped token with the given ``exp`` (signature is not checked by the client)."""

    def enc(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc({'exp': exp, **claims})}.c2ln"


def config(
    *,
    api_token: str | None = None,
    retry: RetryPolicy = FAST_RETRY,
    token_ttl: int = 3600,
) -> TwinClientConfig:
    creds = (
        TwinCredentials(api_token=api_token)
        if api_token
        else TwinCredentials(
            email="ops@example.com", password="s3cret-pass", company_id=7, token_ttl=token_ttl
        )
    )
    return TwinClientConfig(credentials=creds, endpoints=ENDPOINTS, retry=retry)


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeTwin:
    """Issues tokens, records requests, and plays scripted responses per ``METHOD path``."""

    token_lifetime: float = 3600.0
    seen: list[httpx.Request] = field(default_factory=list)
    scripted: dict[str, deque[Handler | httpx.Response | Exception]] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    refresh_fails: bool = False
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def script(self, route: str, *responses: Handler | httpx.Response | Exception) -> None:
        """Queue responses (or exceptions to raise) for ``route`` such as ``GET /notify/api/v1/messages``."""
        self.scripted.setdefault(route, deque()).extend(responses)

    def calls(self, route: str) -> list[httpx.Request]:
        return [r for r in self.seen if f"{r.method} {r.url.path}" == route]

    def new_token(self) -> str:
        token = make_jwt(time.time() + self.token_lifetime, n=next(self._counter))
        self.issued.append(token)
        return token

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        route = f"{request.method} {request.url.path}"
        queue = self.scripted.get(route)
        if queue:
            item = queue.popleft()
            if isinstance(item, Exception):
                raise item
            if isinstance(item, httpx.Response):
                return item
            return item(request)
        if route == "POST /iam/api/v1/auth/login":
            return httpx.Response(200, json={"token": self.new_token(), "refreshToken": "r-1"})
        if route == "POST /iam/api/v1/auth/refresh":
            if self.refresh_fails:
                return httpx.Response(401, json={"error": "Invalid refresh token."})
            return httpx.Response(200, json={"token": self.new_token(), "refreshToken": "r-2"})
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.issued:
            return httpx.Response(401, json={"error": "Unauthorized"})
        if route == "GET /notify/api/v1/messages":
            return httpx.Response(200, json={"count": 0, "items": []})
        if route == "POST /notify/api/v1/messages":
            body = json.loads(request.content)
            return httpx.Response(
                201, json=[{"id": "m1", "bulkId": body.get("bulkId") or "b", "groupId": "g"}]
            )
        return httpx.Response(404, json={"error": "Entity not found"})
