"""Fixtures the unit tests of several domains share."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from airflow_provider_twin.client import AsyncTwinClient
from airflow_provider_twin.hooks.twin import TwinHook


@dataclass
class HookUsage:
    """Which connections hooks built an async client for, and closed, in call order."""

    built: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


@pytest.fixture
def hook_usage(monkeypatch: pytest.MonkeyPatch) -> HookUsage:
    """Records every async client a ``TwinHook`` builds (a connection read) and closes."""
    usage = HookUsage()
    get_async_client, aclose = TwinHook.get_async_client, TwinHook.aclose

    async def counting_get(self: TwinHook) -> AsyncTwinClient:
        usage.built.append(self.twin_conn_id)
        return await get_async_client(self)

    async def counting_close(self: TwinHook) -> None:
        usage.closed.append(self.twin_conn_id)
        await aclose(self)

    monkeypatch.setattr(TwinHook, "get_async_client", counting_get)
    monkeypatch.setattr(TwinHook, "aclose", counting_close)
    return usage
