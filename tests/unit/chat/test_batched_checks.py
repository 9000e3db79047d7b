"""Coalesced REST checks: the checks of many waits become a few list calls, and stay right."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_twin.client import AsyncTwinClient, TwinNotFoundError
from airflow_provider_twin.client.chat import SessionChecker
from airflow_provider_twin.emulator import TwinEmulator
from tests.unit.chat.chat_fixtures import emulator_config, start_session

pytestmark = pytest.mark.integration


@pytest.fixture
async def rest(twin_emulator: TwinEmulator) -> Any:
    client = AsyncTwinClient(emulator_config(twin_emulator))
    yield client
    await client.aclose()


async def test_simultaneous_checks_become_list_calls(
    twin_emulator: TwinEmulator, rest: AsyncTwinClient
) -> None:
    sessions = [start_session(twin_emulator) for _ in range(25)]
    twin_emulator.admin.close_session(sessions[0], rating_required=True)
    checker = SessionChecker(rest, batch_size=10)
    infos = await asyncio.gather(*(checker.get(session_id) for session_id in sessions))
    assert [info["id"] for info in infos] == sessions
    assert infos[0]["status"] == "CLOSED"
    assert checker.calls == 3  # 10 + 10 + 5
    requests = (await asyncio.to_thread(twin_emulator.admin.counters))["requests"]
    assert requests["GET /chat/api/v1/sessions"] == 3
    assert not checker.busy


async def test_checks_fall_back_to_single_reads(twin_emulator: TwinEmulator, rest: AsyncTwinClient) -> None:
    known = [start_session(twin_emulator) for _ in range(3)]
    unknown = "7d1f0a52-6a43-4f1b-8a0e-2b9c3d4e5f60"
    # TWIN refusing the list filter: every id is read on its own; a missing one is a 404.
    await asyncio.to_thread(
        twin_emulator.admin.add_fault, status=400, method="GET", path="/chat/api/v1/sessions"
    )
    checker = SessionChecker(rest)
    results = await asyncio.gather(*(checker.get(s) for s in [*known, unknown]), return_exceptions=True)
    assert [info["id"] for info in results[:3]] == known  # type: ignore[index]
    assert isinstance(results[3], TwinNotFoundError)
    assert checker.calls == 5


async def test_checks_survive_a_list_that_ignores_the_filter(
    twin_emulator: TwinEmulator, rest: AsyncTwinClient
) -> None:
    sessions = [start_session(twin_emulator) for _ in range(3)]
    # TWIN answering the list with other sessions, as if it ignored the sessionId filter.
    other = {"count": 1, "items": [{"id": "someone-else", "status": "CLOSED"}]}
    fault = await asyncio.to_thread(
        twin_emulator.admin.add_fault, status=200, method="GET", path="/chat/api/v1/sessions", body=other
    )
    checker = SessionChecker(rest)
    infos = await asyncio.gather(*(checker.get(s) for s in sessions))
    assert [(info["id"], info["status"]) for info in infos] == [(s, "OPEN") for s in sessions]
    [rule] = [rule for rule in await asyncio.to_thread(twin_emulator.admin.faults) if rule["id"] == fault]
    assert rule["hits"] == 1  # one list call, then each session read on its own
    assert checker.calls == 4


async def test_a_check_is_judged_like_every_rest_check(
    twin_emulator: TwinEmulator, rest: AsyncTwinClient
) -> None:
    open_session, closed_session = start_session(twin_emulator), start_session(twin_emulator)
    await asyncio.to_thread(twin_emulator.admin.close_session, closed_session, 0, True)
    checker = SessionChecker(rest)
    still_open, closed, missing = await asyncio.gather(
        checker.check(open_session),
        checker.check(closed_session),
        checker.check("7d1f0a52-6a43-4f1b-8a0e-2b9c3d4e5f60"),
    )
    assert (still_open.result, still_open.trouble) == (None, None)
    assert closed.result is not None
    assert (closed.result.status, closed.result.source) == ("closed", "rest")
    assert missing.result is not None
    assert missing.result.error == "not_found"
