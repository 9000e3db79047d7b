"""Fixtures for the emulator tests: a real TwinEmulator on loopback and a small HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulator_testkit import TwinApi
from webhook_testkit import WebhookReceiver
from websocket_testkit import RawSocket

from airflow_provider_twin.emulator import EmulatorSettings, TwinEmulator


@pytest.fixture(scope="session")
def twin_emulator_settings() -> EmulatorSettings:
    """Fast deliveries, a fixed seed and lenient mode (tests ask for strict mode with a marker)."""
    return EmulatorSettings(delivery_seconds=0.3, seed=1234, strict=False)


@pytest.fixture
def api(twin_emulator: TwinEmulator) -> Iterator[TwinApi]:
    client = TwinApi(twin_emulator)
    yield client
    client.close()


@pytest.fixture
def raw(twin_emulator: TwinEmulator) -> Iterator[Any]:
    """A factory of raw websockets to the emulator, closed after the test."""
    sockets: list[RawSocket] = []

    def make(**options: Any) -> RawSocket:
        sock = RawSocket(twin_emulator, **options)
        sockets.append(sock)
        return sock

    yield make
    for sock in sockets:
        sock.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A webhook receiver on loopback, stopped after the test."""
    server = WebhookReceiver()
    yield server
    server.close()
