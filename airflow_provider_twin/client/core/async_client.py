"""The asyncio TWIN client (deferrable triggers, high-concurrency sends)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from airflow_provider_twin.client.core.calls import ApiCall, next_page
from airflow_provider_twin.client.core.config import TwinClientConfig
from airflow_provider_twin.client.core.engine import Engine, Flow, Send
from airflow_provider_twin.client.core.errors import TwinError
from airflow_provider_twin.client.core.flows import Finished, Gather, Procedure, Sleep, resume
from airflow_provider_twin.client.core.http import http_options
from airflow_provider_twin.client.core.tokens import Authenticate

T = TypeVar("T")

#: The pause between retries (a module attribute so tests can record pauses without sleeping).
_sleep = asyncio.sleep
P = TypeVar("P", bound=Mapping[str, Any])


class AsyncTwinClient:
    """Sends TWIN API calls over one pooled ``httpx.AsyncClient``.

    Many coroutines may share one client: a token renewal happens once for all of them.
    Use it from one event loop.
    """

    def __init__(
        self, config: TwinClientConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.engine = Engine(config)
        self._http = httpx.AsyncClient(transport=transport, **http_options(config))
        self._auth_lock = asyncio.Lock()

    async def send(self, call: ApiCall[T]) -> T:
        """Perform ``call`` (with auth and retries) and return its parsed result."""
        return await self._drive(self.engine.execute(call))

    async def paginate(self, call: ApiCall[P]) -> AsyncIterator[Any]:
        """Iterate over the items of every page of a list call, fetching pages lazily."""
        current: ApiCall[P] | None = call
        while current is not None:
            page = await self.send(current)
            for item in page["items"]:
                yield item
            current = next_page(current, page)

    async def run(self, procedure: Procedure[T]) -> T:
        """Perform a multi-step procedure (see :mod:`~.flows`) and return its result."""
        return await self._drive(procedure)

    async def _drive(self, flow: Flow[T] | Procedure[T]) -> T:
        reply: Any = None
        error: BaseException | None = None
        while not isinstance(step := resume(flow, reply, error), Finished):
            reply, error = None, None
            try:
                reply = await self._perform(step)
            except (httpx.TransportError, TwinError) as exc:
                error = exc
        return step.value  # type: ignore[no-any-return]

    async def _perform(self, step: Any) -> Any:
        if isinstance(step, Send):
            return await self._http.send(step.request)
        if isinstance(step, Sleep):
            await _sleep(step.seconds)
            return None
        if isinstance(step, Authenticate):
            async with self._auth_lock:
                return await self._drive(self.engine.authenticate(step))
        if isinstance(step, Gather):
            return list(await asyncio.gather(*(self.send(call) for call in step.calls)))
        return await self.send(step)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncTwinClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
