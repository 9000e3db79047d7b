"""The ``twin_default`` connection of the send tests: the in-process emulator, retried fast.

Both the send and the send-job tests put the emulator behind ``twin_default`` with 4 attempts in
all, milliseconds apart, so a retried request costs the suite no time.
"""

from __future__ import annotations

import functools
import json

import pytest

from airflow_provider_twin.client import RetryPolicy
from airflow_provider_twin.emulator import TwinEmulator

#: Retries of the test connection: 4 attempts in all, milliseconds apart.
FAST_RETRY = functools.partial(RetryPolicy, backoff_initial=0.001, backoff_max=0.005, max_elapsed=10.0)


def connect_to_emulator(emulator: TwinEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``twin_default`` the emulator's connection, with 4 attempts and millisecond backoffs."""
    connection = emulator.connection
    connection["extra"] = {**connection["extra"], "max_retries": 3}
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(connection))
    monkeypatch.setattr("airflow_provider_twin.hooks.connection.RetryPolicy", FAST_RETRY)
