"""pytest fixtures for tests against the TWIN emulator.

Enable with ``pytest_plugins = ["airflow_provider_twin.emulator.pytest_plugin"]`` in a ``conftest.py``.

* ``twin_emulator_settings`` (session): the settings the server starts with; override it in your own
  ``conftest.py`` to change them (e.g. a short ``delivery_seconds``).
* ``twin_emulator_server`` (session): one running :class:`TwinEmulator` for the whole test session.
* ``twin_emulator`` (function): the same server, with messages, sessions, counters, faults and
  settings reset before each test.
* ``twin_connection_env`` (function): sets ``AIRFLOW_CONN_TWIN_DEFAULT`` to the emulator's connection
  JSON for the duration of the test and returns that JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from .server import TwinEmulator
from .settings import EmulatorSettings

CONNECTION_ENV_VAR = "AIRFLOW_CONN_TWIN_DEFAULT"


@pytest.fixture(scope="session")
def twin_emulator_settings() -> EmulatorSettings:
    """Start-up settings of the session's emulator (override to customise)."""
    return EmulatorSettings()


@pytest.fixture(scope="session")
def twin_emulator_server(twin_emulator_settings: EmulatorSettings) -> Iterator[TwinEmulator]:
    """A TWIN emulator running on a free loopback port for the whole session."""
    with TwinEmulator(twin_emulator_settings) as emulator:
        yield emulator


@pytest.fixture
def twin_emulator(
    twin_emulator_server: TwinEmulator, twin_emulator_settings: EmulatorSettings
) -> TwinEmulator:
    """The session's emulator, freshly reset (and restarted if a previous test stopped it).

    Its settings are those of the ``twin_emulator_settings`` fixture in force for the test, so
    a directory that overrides them gets its own settings even though the server is shared.
    """
    if not twin_emulator_server.running:
        twin_emulator_server.start()
    settings = replace(twin_emulator_settings, host=twin_emulator_server.host, port=twin_emulator_server.port)
    twin_emulator_server.state.replace_settings(settings)
    twin_emulator_server.reset()
    return twin_emulator_server


@pytest.fixture
def twin_connection_env(twin_emulator: TwinEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point ``AIRFLOW_CONN_TWIN_DEFAULT`` at the emulator; returns the connection JSON."""
    connection = twin_emulator.connection_json
    monkeypatch.setenv(CONNECTION_ENV_VAR, connection)
    return connection
