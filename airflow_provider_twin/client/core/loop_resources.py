"""Resources (HTTP clients, websockets) that the coroutines of one event loop share, per key.

A triggerer runs every trigger of a process in one event loop. Triggers of the same TWIN
connection borrow one client from here instead of building their own, so a thousand waiting
tasks cost one login, one connection pool and one token in Airflow's secrets masker.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

log = logging.getLogger("airflow_provider_twin.client.core.loop_resources")

T = TypeVar("T")


class _Entry(Generic[T]):
    __slots__ = ("task", "users")

    def __init__(self, task: asyncio.Task[T]) -> None:
        self.task = task
        self.users = 0


class SharedResources(Generic[T]):
    """Reference-counted resources shared by all coroutines of an event loop, per key.

    The first user of a key creates the resource (concurrent first users share that one
    creation); the last user to leave closes it. Entries are kept per event loop, since
    websockets and HTTP pools cannot move between loops.
    """

    def __init__(self) -> None:
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Entry[T]]] = (
            weakref.WeakKeyDictionary()
        )

    def users(self, key: str) -> int:
        """How many users hold ``key`` in the running loop (0 when none)."""
        entry = self._loops.get(asyncio.get_running_loop(), {}).get(key)
        return 0 if entry is None else entry.users

    def peek(self, key: str) -> T | None:
        """The resource of ``key`` in the running loop if it exists and is ready, else None."""
        entry = self._loops.get(asyncio.get_running_loop(), {}).get(key)
        if entry is None or not entry.task.done() or entry.task.cancelled() or entry.task.exception():
            return None
        return entry.task.result()

    def keys(self) -> list[str]:
        """Keys with a live resource in the running loop."""
        return list(self._loops.get(asyncio.get_running_loop(), {}))

    @asynccontextmanager
    async def use(
        self,
        key: str,
        create: Callable[[], Awaitable[T]],
        close: Callable[[T], Awaitable[None]],
    ) -> AsyncIterator[T]:
        """Borrow the resource of ``key``, creating it with ``create`` if nobody holds it."""
        loop = asyncio.get_running_loop()
        entries = self._loops.setdefault(loop, {})
        entry = entries.get(key)
        if entry is None:
            entry = _Entry(loop.create_task(_create(create)))
            entries[key] = entry
        entry.users += 1
        try:
            try:
                resource = await asyncio.shield(entry.task)
            except Exception:
                if entries.get(key) is entry:
                    del entries[key]
                raise
            yield resource
        finally:
            entry.users -= 1
            if entry.users == 0:
                if entries.get(key) is entry:
                    del entries[key]
                await _dispose(entry.task, close)


#: Closes scheduled for resources finished after their last user left (kept until done).
_CLOSING: set[asyncio.Future[None]] = set()


async def _create(create: Callable[[], Awaitable[T]]) -> T:
    return await create()


async def _dispose(task: asyncio.Task[T], close: Callable[[T], Awaitable[None]]) -> None:
    """Close the resource made by ``task`` (now, or when its creation finishes)."""
    if not task.done():

        def later(done: asyncio.Task[T]) -> None:
            if not done.cancelled() and done.exception() is None:
                closing = asyncio.ensure_future(close(done.result()))
                _CLOSING.add(closing)
                closing.add_done_callback(_CLOSING.discard)

        task.add_done_callback(later)
        return
    if task.cancelled() or task.exception() is not None:
        return
    try:
        await close(task.result())
    except Exception:  # closing is best effort
        log.warning("closing a shared TWIN resource failed", exc_info=True)


__all__ = ["SharedResources"]
