"""Send tests run against the in-process emulator, watched on the wire (:mod:`..twin_wire`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest

from airflow_provider_twin.client import TwinClientConfig
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.hooks.connection import client_config
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator
from tests.unit.messages.emulator_connection import connect_to_emulator
from tests.unit.messages.twin_wire import Wire


@dataclass
class Twin:
    """The emulator a test talks to, and the wire to it."""

    emulator: TwinEmulator
    wire: Wire

    @property
    def admin(self) -> Any:
        return self.emulator.admin

    @property
    def requests(self) -> Any:
        return self.wire.requests

    def fault(self, method: str, kind: str = "status", **rule: Any) -> None:
        """A fault of the emulator on ``/notify/api/v1/messages`` (see docs/emulator.md)."""
        self.admin.add_fault(method=method, path="/notify/api/v1/messages", kind=kind, **rule)

    def counter(self, name: str) -> int:
        return int(self.admin.counters()[name])

    def config(self, **changes: Any) -> TwinClientConfig:
        """A client configuration for the emulator, with the test connection's retries."""
        return client_config(Connection(self.emulator.connection, **changes))


class Connection:
    """An Airflow connection as the emulator describes it (JSON form)."""

    def __init__(self, data: dict[str, Any], **extra: Any) -> None:
        self.conn_id = "twin_default"
        self.login = data["login"]
        self.password = data["password"]
        self.extra_dejson = {**data["extra"], "max_retries": 3, **extra}


@pytest.fixture
def twin(twin_emulator: TwinEmulator, monkeypatch: pytest.MonkeyPatch) -> Twin:
    """A fresh emulator behind ``twin_default`` (4 attempts, millisecond backoffs), watched."""
    connect_to_emulator(twin_emulator, monkeypatch)
    wire = Wire()
    wire.install(monkeypatch)
    return Twin(twin_emulator, wire)


@pytest.fixture
def log() -> Any:
    """The send operator's task log, recorded."""
    with mock.patch.object(TwinSendMessagesOperator, "log", new_callable=mock.PropertyMock) as prop:
        prop.return_value = mock.MagicMock()
        yield prop.return_value
