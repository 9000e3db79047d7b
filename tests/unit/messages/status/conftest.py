"""Status tests run against the in-process emulator: see :mod:`.campaigns`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_twin.emulator import TwinEmulator
from tests.unit.messages.status.campaigns import Campaigns, watch_clients


@pytest.fixture
def twin(twin_emulator: TwinEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Campaigns]:
    """A fresh emulator, the ``twin*`` connections pointing at it, and a way to fill it."""
    campaigns = Campaigns(twin_emulator)
    watch_clients(monkeypatch, campaigns)
    yield campaigns
    campaigns.close()
