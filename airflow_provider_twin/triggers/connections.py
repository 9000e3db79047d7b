"""One TWIN connection per triggerer: the client, its login and its websockets, shared.

Every trigger of the same ``twin_conn_id`` in a triggerer, status or chat, borrows one
:class:`TwinConnection`: one REST client (one login, one token renewal, one connection pool,
one token registered with Airflow's secrets masker). A chat wait also borrows a websocket
attached to that connection, created when the first chat wait needs it. The first trigger to
arrive reads the connection; the last one to leave closes everything, so a trigger arriving
afterwards reads the connection afresh (a rotated password is picked up once nobody holds
the old client).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from airflow_provider_twin.client import AsyncTwinClient, SharedResources
from airflow_provider_twin.hooks.twin import TwinHook

T = TypeVar("T")


@dataclass
class TwinConnection:
    """What the triggers of one TWIN connection share in a triggerer."""

    hook: TwinHook
    client: AsyncTwinClient
    #: Resources built on this connection (e.g. chat websockets), by key, created on first use.
    attachments: SharedResources[Any] = field(default_factory=SharedResources)

    def attach(
        self, key: str, create: Callable[[], Awaitable[T]], close: Callable[[T], Awaitable[None]]
    ) -> AbstractAsyncContextManager[T]:
        """Borrow the attachment ``key``, built with ``create`` if nobody holds it."""
        return self.attachments.use(key, create, close)

    def attached(self, key: str) -> Any:
        """The attachment ``key`` if it is ready, else None."""
        return self.attachments.peek(key)


_CONNECTIONS: SharedResources[TwinConnection] = SharedResources()


async def _open(twin_conn_id: str) -> TwinConnection:
    hook = TwinHook(twin_conn_id=twin_conn_id)
    try:
        return TwinConnection(hook, await hook.get_async_client())
    except BaseException:
        await hook.aclose()
        raise


async def _close(connection: TwinConnection) -> None:
    await connection.hook.aclose()


@asynccontextmanager
async def shared_connection(twin_conn_id: str) -> AsyncIterator[TwinConnection]:
    """Borrow the event loop's connection ``twin_conn_id`` (read and logged in on first use)."""
    async with _CONNECTIONS.use(twin_conn_id, lambda: _open(twin_conn_id), _close) as connection:
        yield connection


@asynccontextmanager
async def shared_async_client(twin_conn_id: str) -> AsyncIterator[AsyncTwinClient]:
    """Borrow the event loop's client of ``twin_conn_id`` (built on first use)."""
    async with shared_connection(twin_conn_id) as connection:
        yield connection.client


def connection_in_use(twin_conn_id: str) -> TwinConnection | None:
    """The running loop's connection ``twin_conn_id`` while some trigger holds it, else None."""
    return _CONNECTIONS.peek(twin_conn_id)


def clients_in_use(twin_conn_id: str) -> int:
    """How many triggers hold the connection ``twin_conn_id`` in the running loop."""
    return _CONNECTIONS.users(twin_conn_id)


def connections_in_use() -> list[str]:
    """The connection ids some trigger of the running loop holds."""
    return _CONNECTIONS.keys()


__all__ = [
    "TwinConnection",
    "clients_in_use",
    "connection_in_use",
    "connections_in_use",
    "shared_async_client",
    "shared_connection",
]
