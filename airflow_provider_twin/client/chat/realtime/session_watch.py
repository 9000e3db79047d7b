"""One waiter's view of one session on the asyncio hub: its events and connection signals."""

from __future__ import annotations

import asyncio

from airflow_provider_twin.client.chat.realtime.session_wait import WatchItem


class SessionWatch:
    """One waiter's view of one session: events and connection signals, in order."""

    __slots__ = ("_queue", "key", "session_id")

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.key = session_id.lower()
        self._queue: asyncio.Queue[WatchItem] = asyncio.Queue()

    def put(self, item: WatchItem) -> None:
        """Deliver an item (called by the hub)."""
        self._queue.put_nowait(item)

    async def next(self, timeout: float | None) -> WatchItem | None:
        """The next item, or None when ``timeout`` seconds pass first."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        if timeout is not None and timeout <= 0:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            return None


__all__ = ["SessionWatch"]
