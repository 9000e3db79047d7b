"""Fixtures of the chat tests."""

from __future__ import annotations

import pytest

from airflow_provider_twin.emulator import TwinEmulator


@pytest.fixture
def fast_realtime(twin_emulator: TwinEmulator) -> TwinEmulator:
    """The emulator with a 1 s websocket ping (reset before every test)."""
    twin_emulator.admin.update_realtime(ping_interval=1, sweep_interval=0.2)
    return twin_emulator
