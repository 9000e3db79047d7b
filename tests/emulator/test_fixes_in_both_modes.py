"""Fixes that hold in lenient and in strict mode alike: payloads TWIN's documents and SDK ask for."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from websocket_testkit import start_session

from airflow_provider_twin.emulator import TwinEmulator

BOTH_MODES = pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])


def in_mode(emulator: TwinEmulator, strict: bool) -> None:
    emulator.admin.update_settings(strict=strict)


# -- operatorChanged.avatar is a URL (seed 003: REQUIRED) -------------------------------------------
@pytest.mark.integration
@BOTH_MODES
def test_operator_changed_carries_an_avatar_url(twin_emulator: TwinEmulator, raw: Any, strict: bool) -> None:
    in_mode(twin_emulator, strict)
    session_id = start_session(twin_emulator)
    sock = raw()
    channel = next(iter(sock.connect([session_id])["connect"]["subs"]))
    if strict:
        sock.command("subscribe", {"channel": channel})
    twin_emulator.admin.emit_event(session_id, "operatorChanged")
    payload = sock.pushes(1)[0]["pub"]["data"]["payload"]
    avatar = payload["avatar"]
    assert isinstance(avatar, str)
    prefix = "data:image/svg+xml;base64,"
    assert avatar.startswith(prefix)
    assert base64.b64decode(avatar.removeprefix(prefix)).startswith(b"<svg")
    assert payload["previousOperatorAvatar"] is None  # seed 003's example: null is allowed there
