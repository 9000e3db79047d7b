"""The strict-mode switch: settings, admin API, environment variable, CLI flag and pytest plugin."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from airflow_provider_twin.emulator import EmulatorSettings, SettingsError, TwinEmulator
from airflow_provider_twin.emulator.cli import _parser, _settings
from airflow_provider_twin.emulator.strict_mode import STRICT_ENV_VAR


def test_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STRICT_ENV_VAR, raising=False)
    assert EmulatorSettings().strict is False
    assert EmulatorSettings(strict=True).validated().strict is True


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("on", True), ("TRUE", True), ("0", False)])
def test_environment_gives_the_default(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv(STRICT_ENV_VAR, value)
    assert EmulatorSettings().strict is expected
    assert EmulatorSettings(strict=not expected).strict is not expected  # explicit values win


def test_environment_value_must_be_a_yes_or_a_no(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STRICT_ENV_VAR, "maybe")
    with pytest.raises(SettingsError) as error:
        EmulatorSettings()
    assert STRICT_ENV_VAR in str(error.value.details["strict"])


def test_admin_api_switches_it(twin_emulator: TwinEmulator) -> None:
    admin = twin_emulator.admin
    assert admin.settings()["strict"] is False
    assert admin.update_settings(strict=True)["strict"] is True
    with pytest.raises(httpx.HTTPStatusError) as refused:
        admin.update_settings(strict="yes")
    assert refused.value.response.json()["details"] == {"strict": ["Must be a boolean."]}
    admin.reset()
    assert admin.settings()["strict"] is True  # a reset keeps settings, like every other one


def test_cli_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STRICT_ENV_VAR, "1")
    assert _settings(_parser().parse_args([])).strict is True
    assert _settings(_parser().parse_args(["--no-strict"])).strict is False
    monkeypatch.delenv(STRICT_ENV_VAR)
    assert _settings(_parser().parse_args([])).strict is False
    assert _settings(_parser().parse_args(["--strict"])).strict is True


def test_pytest_plugin_fixture_environment_and_marker(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["airflow_provider_twin.emulator.pytest_plugin"]\n'
    )
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import pytest


            def test_environment_turns_it_on(twin_emulator, twin_emulator_strict):
                assert twin_emulator_strict is True
                assert twin_emulator.admin.settings()["strict"] is True


            @pytest.mark.twin_strict(False)
            def test_marker_turns_it_off(twin_emulator):
                assert twin_emulator.admin.settings()["strict"] is False


            @pytest.mark.twin_strict
            def test_marker_turns_it_on_again(twin_emulator):
                assert twin_emulator.admin.settings()["strict"] is True
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, STRICT_ENV_VAR: "1"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


@pytest.mark.twin_strict
def test_marker_in_this_suite(twin_emulator: TwinEmulator) -> None:
    assert twin_emulator.admin.settings()["strict"] is True
