"""The wire between the TWIN client and the emulator, watched and, where TWIN cannot, steered.

TWIN itself is the in-process emulator (state, counts, status and lost-answer faults). This
only sits in the client's HTTP transport to record what crosses it (requests per route, JSON
bodies, send times, requests in flight) and to play what the emulator cannot:

* a network failure before the request reaches TWIN (``ConnectError``, ``ReadTimeout``);
* an answer rewritten after TWIN gave it: per-destination rejections (TWIN answers an item
  with an ``error`` for a destination it will not send to; the emulator never does) or a
  cancel answer listing an item error.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

LOGIN = "POST /iam/api/v1/auth/login"
POST = "POST /notify/api/v1/messages"
GET = "GET /notify/api/v1/messages"
DELETE = "DELETE /notify/api/v1/messages"

#: Rewrites TWIN's JSON answer to a request (given the request's JSON body).
Rewrite = Callable[[Any, Any], Any]


@dataclass
class Wire:
    """Requests seen per ``METHOD path`` and the network faults and rewrites still to play."""

    requests: Counter[str] = field(default_factory=Counter)
    bodies: defaultdict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    times: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    in_flight: int = 0
    max_in_flight: int = 0
    failures: defaultdict[str, list[type[httpx.TransportError]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    rewrites: dict[str, Rewrite] = field(default_factory=dict)

    def fail(self, route: str, *errors: type[httpx.TransportError]) -> None:
        """The next requests of ``route`` fail with these network errors, before reaching TWIN."""
        self.failures[route].extend(errors)

    def rewrite(self, route: str, rewrite: Rewrite) -> None:
        """Every answer to ``route`` goes through ``rewrite``."""
        self.rewrites[route] = rewrite

    def _before(self, request: httpx.Request) -> str:
        route = f"{request.method} {request.url.path}"
        self.requests[route] += 1
        self.times[route].append(time.monotonic())
        if request.content:
            self.bodies[route].append(json.loads(request.content))
        if self.failures.get(route):
            raise self.failures[route].pop(0)(f"{route}: network fault", request=request)
        return route

    def _after(self, route: str, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        rewrite = self.rewrites.get(route)
        if rewrite is None:
            return response
        body = json.loads(request.content) if request.content else None
        return httpx.Response(response.status_code, json=rewrite(body, response.json()), request=request)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Watch every HTTP transport of this process (sync and async)."""
        sync_send = httpx.HTTPTransport.handle_request
        async_send = httpx.AsyncHTTPTransport.handle_async_request
        wire = self

        def handle_request(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
            route = wire._before(request)
            response = sync_send(transport, request)
            if route in wire.rewrites:
                response.read()
            return wire._after(route, request, response)

        async def handle_async_request(
            transport: httpx.AsyncHTTPTransport, request: httpx.Request
        ) -> httpx.Response:
            route = wire._before(request)
            wire.in_flight += 1
            wire.max_in_flight = max(wire.max_in_flight, wire.in_flight)
            try:
                response = await async_send(transport, request)
                if route in wire.rewrites:
                    await response.aread()
            finally:
                wire.in_flight -= 1
            return wire._after(route, request, response)

        monkeypatch.setattr(httpx.HTTPTransport, "handle_request", handle_request)
        monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle_async_request)


def reject(when: Callable[[dict[str, Any]], str | None]) -> Rewrite:
    """A rewrite of ``POST /messages`` answers: destinations ``when`` names get its error."""

    def rewrite(body: Any, items: Any) -> Any:
        destinations = [d for message in body["messages"] for d in message["destinations"]]
        for item, destination in zip(items, destinations, strict=True):
            error = when(destination)
            if error is not None:
                failure = {"message": error, "file": "x", "line": 1, "trace": []}
                item.update(id=None, status=None, error=failure)
        return items

    return rewrite
