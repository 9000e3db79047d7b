"""One TWIN REST client per connection for all the triggers of a triggerer.

Status triggers of the same ``twin_conn_id`` borrow one client (one login, one token renewal,
one connection pool, one token registered with Airflow's secrets masker) instead of each
building its own. The first trigger to arrive reads the connection and builds the client; the
last one to leave closes it, so a trigger arriving afterwards reads the connection afresh
(a rotated password is picked up once nobody holds the old client).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from airflow_provider_twin.client import AsyncTwinClient
from airflow_provider_twin.client.core.loop_resources import SharedResources
from airflow_provider_twin.hooks.twin import TwinHook


@dataclass
class _Lent:
    hook: TwinHook
    client: AsyncTwinClient


_CLIENTS: SharedResources[_Lent] = SharedResources()


async def _open(twin_conn_id: str) -> _Lent:
    hook = TwinHook(twin_conn_id=twin_conn_id)
    try:
        return _Lent(hook, await hook.get_async_client())
    except BaseException:
        await hook.aclose()
        raise


async def _close(lent: _Lent) -> None:
    await lent.hook.aclose()


@asynccontextmanager
async def shared_async_client(twin_conn_id: str) -> AsyncIterator[AsyncTwinClient]:
    """Borrow the event loop's client of ``twin_conn_id`` (built on first use)."""
    async with _CLIENTS.use(twin_conn_id, lambda: _open(twin_conn_id), _close) as lent:
        yield lent.client


def clients_in_use(twin_conn_id: str) -> int:
    """How many borrowers hold the client of ``twin_conn_id`` in the running loop."""
    return _CLIENTS.users(twin_conn_id)


__all__ = ["clients_in_use", "shared_async_client"]
