"""pytest fixtures for tests against the TWIN emulator.

Enable with ``pytest_plugins = ["airflow_provider_twin.emulator.pytest_plugin"]`` in a ``conftest.py``.

* ``twin_emulator_strict`` (session): whether the emulator starts in strict mode; the environment
  variable ``TWIN_EMULATOR_STRICT`` by default (unset = off). Override it in a ``conftest.py`` to
  switch a directory.
* ``twin_emulator_settings`` (session): the settings the server starts with (``strict`` from
  ``twin_emulator_strict``); override it in your own ``conftest.py`` to change them (e.g. a short
  ``delivery_seconds``).
* ``twin_emulator_server`` (session): one running :class:`TwinEmulator` for the whole test session.
* ``twin_emulator`` (function): the same server, with messages, sessions, counters, faults and
  settings reset before each test. A test marked ``@pytest.mark.twin_strict`` (or
  ``twin_strict(False)``) gets strict mode on (or off) whatever the start-up settings say.
* ``twin_connection_env`` (function): sets ``AIRFLOW_CONN_TWIN_DEFAULT`` to the emulator's connection
  JSON for the duration of the test and returns that JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from .server import TwinEmulator
from .settings import EmulatorSettings
from .strict_mode import strict_from_environment

CONNECTION_ENV_VAR = "AIRFLOW_CONN_TWIN_DEFAULT"
#: ``@pytest.mark.twin_strict`` / ``@pytest.mark.twin_strict(False)``: strict mode for one test.
STRICT_MARKER = "twin_strict"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{STRICT_MARKER}(on=True): run the test against the TWIN emulator in strict mode (or not)",
    )


@pytest.fixture(scope="session")
def twin_emulator_strict() -> bool:
    """Whether the session's emulator starts in strict mode (``TWIN_EMULATOR_STRICT``, else off)."""
    return strict_from_environment()


@pytest.fixture(scope="session")
def twin_emulator_settings(twin_emulator_strict: bool) -> EmulatorSettings:
    """Start-up settings of the session's emulator (override to customise)."""
    return EmulatorSettings(strict=twin_emulator_strict)


@pytest.fixture(scope="session")
def twin_emulator_server(twin_emulator_settings: EmulatorSettings) -> Iterator[TwinEmulator]:
    """A TWIN emulator running on a free loopback port for the whole session."""
    with TwinEmulator(twin_emulator_settings) as emulator:
        yield emulator


@pytest.fixture
def twin_emulator(
    twin_emulator_server: TwinEmulator,
    twin_emulator_settings: EmulatorSettings,
    request: pytest.FixtureRequest,
) -> TwinEmulator:
    """The session's emulator, freshly reset (and restarted if a previous test stopped it).

    Its settings are those of the ``twin_emulator_settings`` fixture in force for the test, so
    a directory that overrides them gets its own settings even though the server is shared; a
    ``twin_strict`` marker then sets strict mode for the test.
    """
    if not twin_emulator_server.running:
        twin_emulator_server.start()
    settings = replace(twin_emulator_settings, host=twin_emulator_server.host, port=twin_emulator_server.port)
    marker = request.node.get_closest_marker(STRICT_MARKER)
    if marker is not None:
        on = marker.kwargs.get("on", marker.args[0] if marker.args else True)
        settings = replace(settings, strict=bool(on))
    twin_emulator_server.state.replace_settings(settings)
    twin_emulator_server.reset()
    return twin_emulator_server


@pytest.fixture
def twin_connection_env(twin_emulator: TwinEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point ``AIRFLOW_CONN_TWIN_DEFAULT`` at the emulator; returns the connection JSON."""
    connection = twin_emulator.connection_json
    monkeypatch.setenv(CONNECTION_ENV_VAR, connection)
    return connection
