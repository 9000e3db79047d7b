"""Send job tests run against the in-process emulator behind ``twin_default``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from airflow.sdk import DAG

from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.operators.send_jobs import TwinSendJobOperator
from tests.unit.messages.emulator_connection import connect_to_emulator

PREFIX = "/notify/api/v1"


@dataclass
class Twin:
    """The emulator a test talks to."""

    emulator: TwinEmulator

    @property
    def admin(self) -> Any:
        return self.emulator.admin

    def requests(self, route: str) -> int:
        """Requests of ``METHOD /notify/api/v1<route template>`` the emulator counted."""
        method, _, path = route.partition(" ")
        return int(self.admin.counters()["requests"].get(f"{method} {PREFIX}{path}", 0))

    def jobs(self) -> list[Any]:
        with self.emulator.state.lock:
            return list(self.emulator.state.tasks.tasks.values())


@pytest.fixture
def twin(twin_emulator: TwinEmulator, monkeypatch: pytest.MonkeyPatch) -> Twin:
    """A fresh emulator behind ``twin_default`` (4 attempts, millisecond backoffs)."""
    connect_to_emulator(twin_emulator, monkeypatch)
    twin_emulator.admin.update_settings(task_messages_per_second=0)
    return Twin(twin_emulator)


def people(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"phone": f"+7 999 {i:07d}", "var_name": f"P{i}"} for i in range(start, start + count)]


def job_operator(**kwargs: Any) -> TwinSendJobOperator:
    kwargs.setdefault("name", "Spring sale")
    kwargs.setdefault("channels", {"sms": {"from": "Shop"}})
    kwargs.setdefault("text", "Hello {{name}}")
    kwargs.setdefault("settle_seconds", 0.0)
    with DAG("campaign", schedule=None):
        return TwinSendJobOperator(task_id=kwargs.pop("task_id", "send_job"), **kwargs)


def context(try_number: int = 1, map_index: int = -1, run_id: str = "manual__1") -> dict[str, Any]:
    ti = mock.MagicMock(try_number=try_number, map_index=map_index)
    return {"ti": ti, "dag_run": mock.MagicMock(run_id=run_id)}
