"""Request counters and a bounded request log for the product APIs (admin calls are not recorded)."""

from __future__ import annotations

from collections import deque
from typing import Any

from .clock import iso


class RequestLog:
    """The most recent requests, oldest first; older entries fall off when the ring is full."""

    def __init__(self, size: int) -> None:
        self._entries: deque[tuple[float, str, str, str, int, float, int | None, bool]] = deque(maxlen=size)
        self.total = 0

    def add(
        self,
        *,
        ts: float,
        method: str,
        path: str,
        route: str,
        status: int,
        duration_ms: float,
        fault_id: int | None,
        dropped: bool,
    ) -> None:
        self._entries.append((ts, method, path, route, status, duration_ms, fault_id, dropped))
        self.total += 1

    def clear(self) -> None:
        self._entries.clear()
        self.total = 0

    def entries(
        self,
        *,
        method: str | None = None,
        route: str | None = None,
        path: str | None = None,
        status: int | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """The last ``limit`` entries matching the filters, oldest first."""
        selected: list[dict[str, Any]] = []
        for ts, m, p, r, s, duration, fault_id, dropped in reversed(self._entries):
            if method is not None and m != method:
                continue
            if route is not None and r != route:
                continue
            if path is not None and p != path:
                continue
            if status is not None and s != status:
                continue
            selected.append(
                {
                    "timestamp": iso(ts),
                    "method": m,
                    "path": p,
                    "route": r,
                    "status": s,
                    "duration_ms": round(duration, 3),
                    "fault_id": fault_id,
                    "dropped": dropped,
                }
            )
            if len(selected) >= limit:
                break
        selected.reverse()
        return selected


class Counters:
    """Totals per route and per response status."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.responses_by_status: dict[str, int] = {}
        self.logins = 0
        self.refreshes = 0
        self.dropped_responses = 0

    def clear(self) -> None:
        self.requests = {}
        self.responses_by_status = {}
        self.logins = 0
        self.refreshes = 0
        self.dropped_responses = 0

    def record(self, method: str, route: str, status: int, dropped: bool) -> None:
        key = f"{method} {route}"
        self.requests[key] = self.requests.get(key, 0) + 1
        status_key = str(status)
        self.responses_by_status[status_key] = self.responses_by_status.get(status_key, 0) + 1
        if dropped:
            self.dropped_responses += 1
