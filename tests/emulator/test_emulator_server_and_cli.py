"""Running the emulator: connection details, restart, CLI and the pytest plugin."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import httpx
import pytest

from airflow_provider_twin.emulator import EmulatorSettings, TwinEmulator
from airflow_provider_twin.emulator.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]


def expected_connection(base: str, host_port: str) -> dict[str, object]:
    return {
        "conn_type": "twin",
        "login": "demo@twin.local",
        "password": "twin-demo",
        "extra": {
            "company_id": 1,
            "iam_url": f"{base}/iam/api/v1",
            "notify_url": f"{base}/notify/api/v1",
            "chat_url": f"{base}/chat/api/v1",
            "centrifugo_url": f"ws://{host_port}/centrifugo/connection/websocket",
        },
    }


def test_connection_details(twin_emulator: TwinEmulator) -> None:
    base = twin_emulator.base_url
    assert base == f"http://127.0.0.1:{twin_emulator.port}"
    assert twin_emulator.connection == expected_connection(base, f"127.0.0.1:{twin_emulator.port}")
    assert json.loads(twin_emulator.connection_json) == twin_emulator.connection


def test_restart_on_same_port_keeps_state() -> None:
    emulator = TwinEmulator(EmulatorSettings(delivery_seconds=0.1))
    emulator.start()
    try:
        port = emulator.port
        login = {"email": "demo@twin.local", "password": "twin-demo"}
        token = httpx.post(f"{emulator.base_url}/iam/api/v1/auth/login", json=login).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        body = {
            "bulkId": "r1",
            "messages": [{"destinations": [{"phone": "1"}], "channels": {"sms": {"text": "x"}}}],
        }
        assert (
            httpx.post(f"{emulator.base_url}/notify/api/v1/messages", json=body, headers=headers).status_code
            == 201
        )
        emulator.stop()
        assert not emulator.running
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{emulator.base_url}/notify/api/v1/messages", headers=headers, timeout=2)
        emulator.start()
        assert emulator.port == port
        response = httpx.get(
            f"{emulator.base_url}/notify/api/v1/messages", params={"bulkId": "r1"}, headers=headers
        )
        assert response.json()["count"] == 1  # state and signing secret survive the restart
        assert emulator.admin.counters()["destinations_created"] == 1
    finally:
        emulator.stop()


def _read_lines(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)


def test_cli_prints_connection_and_serves() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "0"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_twin.emulator",
            "--port",
            "0",
            "--delivery-seconds",
            "0.5",
            "--seed",
            "3",
            "--outcomes",
            '{"DELIVERED": 1}',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process, lines), daemon=True).start()
    try:
        output: list[str] = []
        while not any(line.startswith("export AIRFLOW_CONN_TWIN_DEFAULT=") for line in output):
            output.append(lines.get(timeout=20))
        base = output[0].split()[-1]
        assert base.startswith("http://127.0.0.1:")
        export = output[-1].strip()
        connection = json.loads(export.removeprefix("export AIRFLOW_CONN_TWIN_DEFAULT=").strip("'"))
        assert connection == expected_connection(base, base.removeprefix("http://"))
        settings = httpx.get(f"{base}/_emulator/settings", timeout=5).json()
        assert settings["delivery_seconds"] == 0.5
        assert settings["seed"] == 3
        assert settings["outcomes"] == {"DELIVERED": 1.0}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def test_cli_refuses_remote_hosts_and_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
    assert main(["--outcomes", "{not json"]) == 2
    assert "outcomes" in capsys.readouterr().err
    assert main(["--delivery-seconds", "-1"]) == 2


def test_pytest_plugin_fixtures(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["airflow_provider_twin.emulator.pytest_plugin"]\n'
    )
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import json
            import os

            import httpx


            def test_first(twin_emulator, twin_connection_env):
                assert json.loads(os.environ["AIRFLOW_CONN_TWIN_DEFAULT"]) == twin_emulator.connection
                assert json.loads(twin_connection_env)["extra"]["company_id"] == 1
                twin_emulator.admin.update_settings(delivery_seconds=9)
                twin_emulator.admin.add_fault(path="*", kind="status", status=500)
                login = twin_emulator.base_url + "/iam/api/v1/auth/login"
                assert httpx.post(login, json={}).status_code == 500


            def test_second_starts_clean(twin_emulator, twin_emulator_server):
                assert twin_emulator is twin_emulator_server
                assert twin_emulator.admin.faults() == []
                assert twin_emulator.admin.settings()["delivery_seconds"] == 2.0
                assert twin_emulator.admin.counters()["requests"] == {}
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
