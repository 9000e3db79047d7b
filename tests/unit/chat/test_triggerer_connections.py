"""One TWIN connection per triggerer: status and chat triggers share one client and one login."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from airflow_provider_twin.client import SharedResources
from tests.unit.chat.chat_fixtures import until


# -- the registry ---------------------------------------------------------------------------------------
class Resource:
    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False


async def test_shared_resources_are_created_once_and_closed_by_the_last_user() -> None:
    shared: SharedResources[Resource] = SharedResources()
    created: list[Resource] = []

    async def create() -> Resource:
        await asyncio.sleep(0.05)
        created.append(Resource(len(created)))
        return created[-1]

    async def close(resource: Resource) -> None:
        resource.closed = True

    seen: list[int] = []
    release = asyncio.Event()

    async def user() -> None:
        async with shared.use("conn", create, close) as resource:
            seen.append(resource.number)
            await release.wait()

    users = [asyncio.ensure_future(user()) for _ in range(50)]
    await until(lambda: len(seen) == 50)
    assert shared.users("conn") == 50
    assert len(created) == 1
    assert shared.keys() == ["conn"]
    release.set()
    await asyncio.gather(*users)
    assert created[0].closed
    assert shared.keys() == []
    async with shared.use("conn", create, close) as again:
        assert again.number == 1  # a fresh one after the last user left


async def test_failed_creation_is_not_kept() -> None:
    shared: SharedResources[Resource] = SharedResources()
    attempts = 0

    async def create() -> Resource:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise httpx.ConnectError("refused")
        return Resource(attempts)

    async def close(resource: Resource) -> None:
        resource.closed = True

    with pytest.raises(httpx.ConnectError):
        async with shared.use("conn", create, close):
            pass
    async with shared.use("conn", create, close) as resource:
        assert resource.number == 2
