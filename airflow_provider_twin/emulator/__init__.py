"""A local, offline emulator of the TWIN (twin24.ai) REST APIs: IAM, notify and chat.

It serves the production paths under their service prefixes on one loopback port, keeps everything in
memory, computes message statuses from the clock (no background work), and offers an admin API under
``/_emulator`` for inspection, settings and fault injection. See ``docs/emulator.md``.

Quick start::

    from airflow_provider_twin.emulator import EmulatorSettings, TwinEmulator

    with TwinEmulator(EmulatorSettings(delivery_seconds=0.2)) as emu:
        print(emu.base_url, emu.connection_json)
"""

from __future__ import annotations

from .admin_client import EmulatorAdmin
from .app import create_app
from .fast_forward import FastForward
from .server import TwinEmulator
from .session_events import SessionEvent
from .settings import Account, EmulatorSettings, OutcomeRule, SettingsError
from .state import EmulatorState

__all__ = [
    "Account",
    "EmulatorAdmin",
    "EmulatorSettings",
    "EmulatorState",
    "FastForward",
    "OutcomeRule",
    "SessionEvent",
    "SettingsError",
    "TwinEmulator",
    "create_app",
]
