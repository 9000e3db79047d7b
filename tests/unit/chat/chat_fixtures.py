"""Helpers shared by the chat tests (no tests here; the fixtures are in ``conftest.py``).

The tests run against the in-process emulator (``twin_emulator`` fixture); these helpers start
sessions over REST, build client configurations from the emulator's connection, tell when
waits have settled and fake the parts of an Airflow context the chat operator and sensor read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_twin.client.core.config import TwinClientConfig
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.hooks.connection import client_config
from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor
from airflow_provider_twin.triggers.chat import TwinChatSessionEventTrigger

CHAT_ID = "5f0c7a1e-3b2d-4c8e-9a61-0d2e4b6f8a10"


def emulator_config(emulator: TwinEmulator) -> TwinClientConfig:
    """The client configuration of the emulator's ``twin`` connection."""
    conn = emulator.connection
    return client_config(
        SimpleNamespace(
            conn_id="twin_default", login=conn["login"], password=conn["password"], extra_dejson=conn["extra"]
        )
    )


def bot_texts(emulator: TwinEmulator, phone: str) -> list[str]:
    """What the approver of ``phone`` was sent in their sessions (the chat channel's texts are BOT
    messages)."""
    texts: list[str] = []
    for session in emulator.admin.sessions(chatId=CHAT_ID)["items"]:
        if session.get("clientPhone") == phone:
            texts.extend(m["body"] for m in session.get("messages", []) if m.get("authorType") == "BOT")
    return texts


def start_session(emulator: TwinEmulator, http: httpx.Client | None = None, **body: Any) -> str:
    """Start a chat session over REST; returns its id."""
    response = (http or httpx).post(f"{emulator.base_url}/chat/api/v1/chats/{CHAT_ID}/sessions", json=body)
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


def listened(emulator: TwinEmulator) -> int:
    """How many sessions the emulator's websocket connections listen to."""
    count: int = emulator.admin.realtime()["stats"]["sessions_listened"]
    return count


async def until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll a blocking ``check`` (in a thread) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(check)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value: {value!r})")
        await asyncio.sleep(0.05)


class FakeTI:
    """The task instance parts the chat operator and sensor use."""

    def __init__(self, try_number: int = 1, map_index: int = -1) -> None:
        self.try_number = try_number
        self.map_index = map_index
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def make_context(ti: FakeTI | None = None, run_id: str = "manual__2026-01-01") -> dict[str, Any]:
    """A context with ``ti`` and ``dag_run``."""
    return {"ti": ti or FakeTI(), "dag_run": SimpleNamespace(run_id=run_id)}


SESSION_READS = ("GET /chat/api/v1/sessions/{sessionId}", "GET /chat/api/v1/sessions")


def settled(emulator: TwinEmulator, joins: int, reads: int) -> bool:
    """True once the emulator saw ``joins`` joinSession calls and ``reads`` session reads (REST).

    A wait is settled when its session is joined and the REST check after the join is done: from
    then on only the websocket can tell it about a close.
    """
    requests = emulator.admin.counters()["requests"]
    done_reads = sum(int(requests.get(route, 0)) for route in SESSION_READS)
    done_joins: int = emulator.admin.realtime()["stats"]["joins"]
    return done_joins >= joins and done_reads >= reads


async def deferred_trigger(sensor: TwinChatSessionClosedSensor) -> TwinChatSessionEventTrigger:
    """Execute a deferrable chat sensor (in a thread) and return the trigger it defers to."""
    try:
        await asyncio.to_thread(sensor.execute, make_context())
    except TaskDeferred as deferred:
        trigger = deferred.trigger
        assert isinstance(trigger, TwinChatSessionEventTrigger)
        return trigger
    raise AssertionError("the sensor did not defer")
