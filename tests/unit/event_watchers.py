"""What the event watcher tests share: a cursor store in memory and ways to run a watcher.

A watcher's cursor lives in an Airflow Variable, which only a triggerer (or a task) can reach;
here the store is a dict, standing in for the Variable table across "restarts" (new trigger
instances). The real Variable is exercised by the integration tests with a real triggerer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any, cast

import pytest

from airflow_provider_twin.triggers import events as event_triggers
from airflow_provider_twin.triggers.events import TwinEventTrigger


class MemoryStore:
    """A cursor store over a shared dict (the Variable table) that answers as Airflow's does.

    ``get`` of a missing key is None; a failure raises (``failures["get"]``, ``failures["save"]``
    count the calls to fail), as the triggerer's supervisor does for an API error.
    """

    def __init__(self, name: str, table: dict[str, str], failures: dict[str, int]) -> None:
        self.name = name
        self.table = table
        self.failures = failures

    def _fail(self, kind: str) -> None:
        if self.failures.get(kind, 0) > 0:
            self.failures[kind] -= 1
            raise RuntimeError("API_SERVER_ERROR: the supervisor could not reach the API server")

    async def get(self, key: str) -> str | None:
        self._fail("get")
        return self.table.get(key)

    async def put(self, key: str, text: str) -> None:
        self._fail("save")
        self.table[key] = text
        self.failures["writes"] = self.failures.get("writes", 0) + 1

    async def delete(self, key: str) -> None:
        self._fail("delete")
        self.table.pop(key, None)

    async def keys(self) -> list[str] | None:
        """The cursor's keys, as Airflow 3.3 lists them (``failures["keys"]`` fail; "unlisted": None)."""
        self._fail("keys")
        if self.failures.get("unlisted"):
            return None
        return sorted(k for k in self.table if k == self.name or k.startswith(self.name + "."))


class Variables:
    """The Variables the watchers of a test wrote (name -> JSON text), and their stored ids."""

    def __init__(self) -> None:
        self.table: dict[str, str] = {}
        self.failures: dict[str, int] = {}

    def store(self, name: str) -> MemoryStore:
        return MemoryStore(name, self.table, self.failures)

    def shards(self, name: str) -> dict[int, set[str]]:
        """The stored buckets of the cursor ``name`` that its index lists: start -> ids."""
        index = json.loads(self.table.get(name) or "{}")
        return {
            start: set(json.loads(self.table.get(f"{name}.{start}") or '{"seen": []}')["seen"])
            for start in index.get("shards", [])
        }

    def ids(self, name: str) -> set[str]:
        """The id keys the cursor ``name`` holds (``cursor_shards.id_key`` of each event id)."""
        return set().union(*self.shards(name).values())

    @property
    def writes(self) -> int:
        return self.failures.get("writes", 0)


def memory_variables(monkeypatch: pytest.MonkeyPatch) -> Variables:
    """Make watchers keep their cursors in memory (see the module doc)."""
    table = Variables()
    monkeypatch.setattr(event_triggers, "VariableCursorStore", table.store)
    return table


async def collect(
    trigger: TwinEventTrigger,
    seconds: float,
    count: int | None = None,
    then: float = 0.0,
    until: Callable[[], bool] | None = None,
) -> list[dict[str, Any]]:
    """The payloads the watcher yields within ``seconds``, or its first ``count``; then it stops.

    With ``then``, the watcher runs that much longer once ``count`` payloads came (it stores what
    it reported, and a repeat would show up), so a loaded machine's slow first poll cannot end a
    test early; ``until`` ends that time as soon as it holds (e.g. once the cursor is stored).
    Stopping it is what a triggerer does to a watcher it no longer runs: its task is cancelled.
    """
    payloads: list[dict[str, Any]] = []
    events = cast(AsyncGenerator[Any, None], trigger.run())

    async def consume() -> None:
        async for event in events:
            payloads.append(event.payload)

    consumer = asyncio.ensure_future(consume())
    deadline = time.monotonic() + seconds
    counted = False
    try:
        while not consumer.done():
            if not counted and count is not None and len(payloads) >= count:
                if then <= 0:
                    break
                counted = True
                deadline = time.monotonic() + then
            if (counted and until is not None and until()) or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.02)
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        await events.aclose()
    return payloads
