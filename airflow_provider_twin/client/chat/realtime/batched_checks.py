"""The REST checks of many waits in one event loop, coalesced into list calls.

After a reconnect every wait on the socket asks REST whether its session closed meanwhile; a
thousand waits would make a thousand requests at once. :class:`SessionChecker` turns such a
burst into ``GET /sessions?sessionId=a,b,...`` calls of up to ``batch_size`` ids.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from airflow_provider_twin.client.chat.api import get_session, list_sessions
from airflow_provider_twin.client.chat.models import SessionInfo
from airflow_provider_twin.client.chat.session_check import CLOSED_STATUSES, SessionCheck, judge_session
from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.errors import TwinError, is_transient

log = logging.getLogger("airflow_provider_twin.client.chat.realtime")

_Waiters = tuple[str, list[asyncio.Future[SessionInfo]]]


class SessionChecker:
    """REST checks of many waits, coalesced into list calls.

    A wait asks :meth:`get` for its session; requests arriving within ``window`` seconds (or
    ``batch_size`` of them) become one ``GET /sessions?sessionId=a,b,...`` (twin-api.md §4.4), so
    the burst of checks after a reconnect costs ``N / batch_size`` calls instead of ``N``. TWIN
    does not document whether ``sessionId`` takes several ids (ASSUMPTION, §1.2 comma lists): any
    id the list does not return is read with ``GET /sessions/{id}``, and a refused list call falls
    back to those single reads, so the answer is right whatever TWIN does with the filter. At
    most ``concurrency`` calls are in flight.
    """

    def __init__(
        self, rest: AsyncTwinClient, *, batch_size: int = 100, window: float = 0.02, concurrency: int = 4
    ) -> None:
        self.rest = rest
        self.batch_size = max(1, batch_size)
        self.window = window
        self.calls = 0
        self._limit = asyncio.Semaphore(max(1, concurrency))
        self._pending: dict[str, _Waiters] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def busy(self) -> bool:
        """True while checks are queued or their list calls are in flight."""
        return bool(self._pending or self._tasks)

    async def check(self, session_id: str, closed_statuses: Iterable[str] = CLOSED_STATUSES) -> SessionCheck:
        """Ask whether ``session_id`` is closed, judged as every REST check is."""
        answer: SessionInfo | TwinError
        try:
            answer = await self.get(session_id)
        except TwinError as exc:
            answer = exc
        return judge_session(session_id, answer, closed_statuses)

    async def get(self, session_id: str) -> SessionInfo:
        """The session object of ``session_id`` (raises the client's errors, e.g. 404)."""
        if self.batch_size == 1:
            return await self._single(session_id)
        future: asyncio.Future[SessionInfo] = asyncio.get_running_loop().create_future()
        key = session_id.lower()
        self._pending.setdefault(key, (session_id, []))[1].append(future)
        if len(self._pending) >= self.batch_size:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.window, self._flush)
        return await future

    async def _single(self, session_id: str) -> SessionInfo:
        async with self._limit:
            self.calls += 1
            return await self.rest.send(get_session(session_id))

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            keys = list(self._pending)[: self.batch_size]
            batch = {key: self._pending.pop(key) for key in keys}
            task = asyncio.ensure_future(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: dict[str, _Waiters]) -> None:
        found: dict[str, SessionInfo] = {}
        if len(batch) > 1:
            ids = [name for name, _ in batch.values()]
            try:
                async with self._limit:
                    self.calls += 1
                    page = await self.rest.send(list_sessions(limit=len(ids), sessionId=ids))
                found = {str(item.get("id") or "").lower(): item for item in page["items"]}
            except TwinError as exc:
                if is_transient(exc):
                    _settle(batch.values(), error=exc)
                    return
                log.debug("listing sessions by id was refused, reading them one by one: %s", exc)
        for key, (name, futures) in batch.items():
            info = found.get(key)
            if info is None:
                try:
                    info = await self._single(name)
                except TwinError as exc:
                    _settle([(name, futures)], error=exc)
                    continue
            _settle([(name, futures)], info=info)


def _settle(
    entries: Iterable[_Waiters], *, info: SessionInfo | None = None, error: BaseException | None = None
) -> None:
    for _, futures in entries:
        for future in futures:
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            elif info is not None:
                future.set_result(info)


__all__ = ["SessionChecker"]
