"""ASGI middleware around the product APIs: fault injection, counters and the request log.

It is a plain ASGI callable (no per-request task or stream wrapping), so it adds almost nothing to a
request. Paths under ``/_emulator`` pass straight through: admin calls are neither counted, logged nor
subject to faults.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .faults import FaultRule
from .routes_admin import ADMIN_PREFIX
from .state import EmulatorState


class ConnectionDropped(Exception):
    """Raised after a ``drop`` fault has processed a request, so the server closes the connection."""


class DropFaultLogFilter(logging.Filter):
    """Hides the server's error report for connections broken on purpose by a ``drop`` fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        return not (exc_info and isinstance(exc_info[1], ConnectionDropped))


_DROP_FILTER = DropFaultLogFilter()


def install_drop_log_filter() -> None:
    """Attach :class:`DropFaultLogFilter` to uvicorn's error logger (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if _DROP_FILTER not in logger.filters:
        logger.addFilter(_DROP_FILTER)


class TrafficMiddleware:
    """Applies fault rules, then records the request in the counters and the request log."""

    def __init__(self, app: ASGIApp, state: EmulatorState, routes: Callable[[], Sequence[BaseRoute]]) -> None:
        self.app = app
        self.state = state
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.state.webhooks.needs_start():
            # Status changes wait from before a restart: the webhook sender runs in this loop now.
            self.state.webhooks.ensure_running()
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        state = self.state
        method: str = scope["method"]
        path: str = scope["path"]
        started = time.perf_counter()
        with state.lock:
            # Running send jobs hand their due rows over before any request sees the store.
            state.tasks.advance(state)
            fault = state.faults.draw(method, path)
        status_holder = [500]

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
            await send(message)

        dropped = False
        try:
            if fault is None:
                await self.app(scope, receive, send_recording)
                return
            if fault.latency_ms > 0:
                await asyncio.sleep(fault.latency_ms / 1000.0)
            if fault.kind == "status":
                await self._answer_fault(fault, send_recording)
            elif fault.kind == "drop":
                dropped = True
                await self._process_and_drop(scope, receive, send, status_holder)
            else:
                await self.app(scope, receive, send_recording)
        finally:
            self._record(
                scope,
                method=method,
                path=path,
                status=status_holder[0],
                started=started,
                fault=fault,
                dropped=dropped,
            )
        if dropped:
            raise ConnectionDropped(f"{method} {path} processed; response dropped by fault {fault.id}")

    async def _process_and_drop(
        self, scope: Scope, receive: Receive, send: Send, status_holder: list[int]
    ) -> None:
        """Run the request, forward only the response head, swallow the body."""

        async def send_head_only(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                await send(message)

        await self.app(scope, receive, send_head_only)

    @staticmethod
    async def _answer_fault(fault: FaultRule, send: Send) -> None:
        body_value: Any = fault.body
        if body_value is None:
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Error"
            body_value = {"error": phrase}
        body = json.dumps(body_value).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if fault.retry_after is not None:
            retry = fault.retry_after
            text = str(int(retry)) if float(retry).is_integer() else str(retry)
            headers.append((b"retry-after", text.encode()))
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _route_template(self, scope: Scope) -> str:
        route = scope.get("route")
        template = getattr(route, "path", None)
        if isinstance(template, str):
            return template
        for candidate in self.routes():
            match, _ = candidate.matches(scope)
            if match is Match.FULL:
                candidate_path = getattr(candidate, "path", None)
                if isinstance(candidate_path, str):
                    return candidate_path
        return str(scope["path"])

    def _record(
        self,
        scope: Scope,
        *,
        method: str,
        path: str,
        status: int,
        started: float,
        fault: FaultRule | None,
        dropped: bool,
    ) -> None:
        route = self._route_template(scope)
        duration_ms = (time.perf_counter() - started) * 1000.0
        state = self.state
        with state.lock:
            state.counters.record(method, route, status, dropped)
            state.request_log.add(
                ts=state.now(),
                method=method,
                path=path,
                route=route,
                status=status,
                duration_ms=duration_ms,
                fault_id=None if fault is None else fault.id,
                dropped=dropped,
            )
