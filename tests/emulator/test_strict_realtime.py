"""Strict mode on the realtime websocket (seed 003): what a connect must carry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from websocket_testkit import start_session

from airflow_provider_twin.emulator import TwinEmulator

pytestmark = pytest.mark.integration


def connect_command(
    sessions: Any = None, application: str = "widget", name: str | None = "js"
) -> dict[str, Any]:
    settings = {} if sessions is None else {"sessions": sessions}
    params: dict[str, Any] = {"data": {"application": application, "settings": settings}}
    if name is not None:
        params["name"] = name
    return {"id": 1, "connect": params}


# -- rule 1: a connect names at least one session, application "widget", name "js" ----------------
#: Connects seed 003 rules out, built for a session that exists.
BAD_FOR_SEED_003: dict[str, Callable[[str], dict[str, Any]]] = {
    "no-sessions-key": lambda session: connect_command(None),
    "empty-sessions": lambda session: connect_command([]),
    "empty-session-id": lambda session: connect_command([""]),
    "other-application": lambda session: connect_command([session], application="notifications"),
    "other-name": lambda session: connect_command([session], name="python"),
    "no-name": lambda session: connect_command([session], name=None),
}


@pytest.mark.parametrize("case", sorted(BAD_FOR_SEED_003))
def test_lenient_connect_accepts_what_seed_003_rules_out(
    twin_emulator: TwinEmulator, raw: Any, case: str
) -> None:
    session_id = start_session(twin_emulator)
    sock = raw()
    sock.send(BAD_FOR_SEED_003[case](session_id))
    assert "connect" in sock.reply(1)


@pytest.mark.twin_strict
@pytest.mark.parametrize("case", sorted(BAD_FOR_SEED_003))
def test_strict_connect_refuses_it_with_3501(twin_emulator: TwinEmulator, raw: Any, case: str) -> None:
    session_id = start_session(twin_emulator)
    sock = raw()
    sock.send(BAD_FOR_SEED_003[case](session_id))
    assert sock.close_code() == (3501, "bad request")


@pytest.mark.twin_strict
def test_strict_connect_with_a_session_is_accepted(twin_emulator: TwinEmulator, raw: Any) -> None:
    session_id = start_session(twin_emulator)
    reply = raw().connect([session_id])
    assert reply["connect"]["subs"]
    [connection] = twin_emulator.admin.realtime()["connections"]
    assert connection["sessions"] == [session_id]
