"""Notifier tests run against the in-process emulator, watched on the wire (:mod:`..twin_wire`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_twin.emulator import TwinEmulator
from tests.unit.messages.twin_wire import POST, Wire


@dataclass
class Twin:
    """The emulator a notifier talks to, the wire to it, and the pauses it was asked for."""

    emulator: TwinEmulator
    wire: Wire
    pauses: list[float] = field(default_factory=list)

    @property
    def admin(self) -> Any:
        return self.emulator.admin

    @property
    def requests(self) -> Any:
        return self.wire.requests

    @property
    def password(self) -> str:
        """The TWIN connection's password (it must never reach a message)."""
        return str(self.emulator.connection["password"])

    def fault(self, route: str, kind: str = "status", **rule: Any) -> None:
        """A fault of the emulator on ``route`` (``METHOD /path``, see docs/emulator.md)."""
        method, path = route.split(" ", 1)
        self.admin.add_fault(method=method, path=path, kind=kind, **rule)

    def counter(self, name: str) -> int:
        return int(self.admin.counters()[name])

    def messages(self) -> list[dict[str, Any]]:
        """One entry per destination TWIN holds: the message sent to it, with ``destination``."""
        held = {item["bulkId"] for item in self.admin.messages(limit=1000)["items"]}
        bodies = {body["bulkId"]: body for body in self.wire.bodies[POST] if body["bulkId"] in held}
        return [
            {"destination": destination, **message}
            for body in bodies.values()
            for message in body["messages"]
            for destination in message["destinations"]
        ]


@pytest.fixture
def twin(twin_emulator: TwinEmulator, twin_connection_env: str, monkeypatch: pytest.MonkeyPatch) -> Twin:
    """A fresh emulator behind ``twin_default``, watched; pauses are recorded, not slept."""
    wire = Wire()
    wire.install(monkeypatch)
    twin = Twin(twin_emulator, wire)

    async def pause(seconds: float) -> None:
        twin.pauses.append(seconds)

    monkeypatch.setattr("airflow_provider_twin.client.core.sync_client._sleep", twin.pauses.append)
    monkeypatch.setattr("airflow_provider_twin.client.core.async_client._sleep", pause)
    return twin
