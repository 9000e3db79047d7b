"""The chat widget ``userId`` (seed 003: an optional field of the realtime connect's ``settings``).

It comes from the ``twin`` connection's ``user_id`` extra, or from the sensor's ``user_id``
argument, which overrides it, and is sent in the connect data by both realtime clients.
"""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_twin.client import TwinConfigError
from airflow_provider_twin.client.chat.realtime import sync_socket
from airflow_provider_twin.client.chat.realtime.centrifugo import connect_command
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.emulator.pytest_plugin import CONNECTION_ENV_VAR
from airflow_provider_twin.get_provider_info import CONN_FIELDS
from airflow_provider_twin.hooks.connection import chat_user_id
from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor
from airflow_provider_twin.triggers.chat import TwinChatSessionEventTrigger, shared_chat_socket
from tests.unit.chat.chat_fixtures import deferred_trigger, make_context, settled, start_session, until


def conn(**extra: Any) -> SimpleNamespace:
    return SimpleNamespace(conn_id="twin_default", login="a@b.c", password="p", extra_dejson=extra)


def test_the_connection_extra_is_declared_and_read() -> None:
    assert CONN_FIELDS["user_id"]["schema"]["type"] == ["string", "null"]
    assert chat_user_id(conn(user_id=" visitor-7 ")) == "visitor-7"
    assert chat_user_id(conn(extra__twin__user_id="visitor-7")) == "visitor-7"
    assert chat_user_id(conn()) is None
    with pytest.raises(TwinConfigError, match=r"'twin_default'.*user_id"):
        chat_user_id(conn(user_id=42))


def test_connect_data_carries_the_user_id() -> None:
    command = connect_command(1, ["S1"], "visitor-7")
    assert command["connect"]["data"] == {
        "application": "widget",
        "settings": {"sessions": ["S1"], "userId": "visitor-7"},
    }
    assert command["connect"]["name"] == "js"


def test_the_sensor_argument_is_checked_and_templated() -> None:
    with pytest.raises(ValueError, match="user_id"):
        TwinChatSessionClosedSensor(task_id="t", session_id="S1", user_id="  ")
    assert "user_id" in TwinChatSessionClosedSensor.template_fields
    rendered = TwinChatSessionClosedSensor(task_id="t", session_id="S1", user_id="{{ params.user }}")
    rendered.user_id = ["not", "a", "string"]  # type: ignore[assignment]
    with pytest.raises(AirflowFailException, match="user_id"):
        rendered.rendered_user_id()


def test_the_trigger_serializes_the_override() -> None:
    trigger = TwinChatSessionEventTrigger(session_id="S1", deadline=time.time() + 60, user_id="visitor-7")
    kwargs = trigger.serialize()[1]
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs["user_id"] == "visitor-7"
    assert trigger.socket_key == "twin_default#user=visitor-7"
    assert (
        TwinChatSessionEventTrigger(session_id="S1", deadline=time.time() + 60).socket_key == "twin_default"
    )


@pytest.fixture
def connection_with_user(fast_realtime: TwinEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    connection = json.loads(fast_realtime.connection_json)
    connection.setdefault("extra", {})["user_id"] = "from-connection"
    monkeypatch.setenv(CONNECTION_ENV_VAR, json.dumps(connection))
    return "from-connection"


@pytest.mark.integration
@pytest.mark.parametrize("override", [None, "from-sensor"])
async def test_deferrable_wait_connects_with_the_user_id(
    fast_realtime: TwinEmulator, connection_with_user: str, override: str | None
) -> None:
    session_id = start_session(fast_realtime)
    sensor = TwinChatSessionClosedSensor(
        task_id="closed", session_id=session_id, deferrable=True, timeout=30, user_id=override
    )
    trigger = await deferred_trigger(sensor)
    run = asyncio.ensure_future(anext(trigger.run()))
    await until(lambda: settled(fast_realtime, joins=1, reads=2))
    socket = shared_chat_socket("twin_default", trigger.socket_key)
    assert socket is not None
    assert socket.hub.connect_data["settings"] == {
        "sessions": [session_id],
        "userId": override or connection_with_user,
    }
    await asyncio.to_thread(fast_realtime.admin.close_session, session_id)
    assert (await run).payload["status"] == "closed"


@pytest.mark.integration
@pytest.mark.parametrize("override", [None, "from-sensor"])
def test_poke_connects_with_the_user_id(
    fast_realtime: TwinEmulator,
    connection_with_user: str,
    override: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[dict[str, Any]] = []
    real = sync_socket.connect_command

    def recording(command_id: int, sessions: Any, user_id: str | None = None) -> dict[str, Any]:
        command = real(command_id, sessions, user_id)
        sent.append(command)
        return command

    monkeypatch.setattr(sync_socket, "connect_command", recording)
    session_id = start_session(fast_realtime)
    sensor = TwinChatSessionClosedSensor(
        task_id="closed", session_id=session_id, listen_timeout=3, user_id=override
    )
    assert sensor.poke(make_context()) is False
    assert [command["connect"]["data"]["settings"]["userId"] for command in sent] == [
        override or connection_with_user
    ]
