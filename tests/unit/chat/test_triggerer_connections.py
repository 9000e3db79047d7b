"""One TWIN connection per triggerer: status and chat triggers share one client and one login."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from airflow_provider_twin.client import SharedResources, TwinClient, notify
from airflow_provider_twin.client.messages import Criteria, Targets
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.triggers.chat import TwinChatSessionEventTrigger, shared_chat_socket
from airflow_provider_twin.triggers.connections import clients_in_use, connections_in_use
from airflow_provider_twin.triggers.messages import TwinMessageStatusTrigger
from tests.unit.chat.chat_fixtures import emulator_config, settled, start_session, until
from tests.unit.conftest import HookUsage


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


# -- status and chat triggers of one connection -----------------------------------------------------
async def only_event(trigger: Any) -> dict[str, Any]:
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1
    payload: dict[str, Any] = events[0]
    return payload


def send_one_message(emulator: TwinEmulator, bulk_id: str) -> None:
    message = {
        "destinations": [{"phone": "79990000001"}],
        "channels": {"sms": {"from": "Twin", "text": "Hi"}},
    }
    with TwinClient(emulator_config(emulator)) as client:
        client.send(notify.create_messages([message], bulk_id=bulk_id))


@pytest.mark.integration
async def test_a_status_and_a_chat_trigger_read_the_connection_once_and_log_in_once(
    twin_emulator: TwinEmulator, twin_connection_env: str, hook_usage: HookUsage
) -> None:
    twin_emulator.admin.update_settings(delivery_seconds=3600)
    twin_emulator.admin.update_realtime(ping_interval=1)
    bulk_id = "5b1c0f0e-9d1a-4c55-8f3e-0a1b2c3d4e5f"
    send_one_message(twin_emulator, bulk_id)
    session_id = start_session(twin_emulator)
    logins_before = twin_emulator.admin.counters()["logins"]
    status = asyncio.ensure_future(
        only_event(
            TwinMessageStatusTrigger(
                targets=Targets.of(bulk_ids=[bulk_id]).to_json(),
                criteria=Criteria().to_json(),
                deadline=time.time() + 30,
                poll_interval=0.1,
            )
        )
    )
    chat = asyncio.ensure_future(
        only_event(TwinChatSessionEventTrigger(session_id=session_id, deadline=time.time() + 30))
    )
    await until(lambda: settled(twin_emulator, joins=1, reads=1))
    assert clients_in_use("twin_default") == 2, "both triggers hold the one connection"
    assert shared_chat_socket("twin_default") is not None, "the websocket hangs off that connection"

    await asyncio.to_thread(twin_emulator.admin.close_session, session_id)
    assert (await chat)["status"] == "closed"
    assert hook_usage.closed == [], "the status trigger still holds the connection"
    assert shared_chat_socket("twin_default") is None, "the last chat wait closed the websocket"
    assert clients_in_use("twin_default") == 1

    await asyncio.to_thread(twin_emulator.admin.advance_clock, 3600)
    assert (await status)["status"] == "success"
    assert hook_usage.built == ["twin_default"], "one connection read for both triggers"
    assert twin_emulator.admin.counters()["logins"] - logins_before == 1, "one login for both"
    assert hook_usage.closed == ["twin_default"], "closed once, by the last trigger to leave"
    assert connections_in_use() == []
