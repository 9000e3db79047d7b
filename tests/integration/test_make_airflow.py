"""``make airflow`` (``scripts/demo.py airflow``): its connection, its Test button, its start and stop.

The connection tests store ``twin_default`` as ``make airflow`` does (``airflow connections
import``) and post to Airflow's REST API the very request the Airflow UI's Test button sends
(built as the UI builds it from the connection list), through the API's in-process test client.
The stop tests run the script with ``TWIN_DEMO_AIRFLOW`` pointing at a stand-in for ``airflow``
that starts a child and waits, as ``airflow standalone`` does, so no real Airflow is started.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.file_modules import load_demo_script

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "scripts" / "demo.py"


@pytest.fixture(scope="module")
def demo() -> ModuleType:
    return load_demo_script()


@pytest.fixture
def api(airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Airflow's REST API in process, as ``make airflow`` configures it, every request an admin's."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.delenv("AIRFLOW_CONN_TWIN_DEFAULT", raising=False)
    # The `airflow connections import` child must store the password as this process reads it: the
    # test home's airflow.cfg may hold a Fernet key this process, configured earlier, did not read.
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "")
    with TestClient(create_app("core")) as client:
        yield client


def store(demo: ModuleType, tmp_path: Path, conn_id: str, connection: dict[str, Any]) -> None:
    """Store a connection with the script's own ``airflow connections import`` step."""
    home = Path(os.environ["AIRFLOW_HOME"])
    env = demo.airflow_env(home, None, poke_seconds=1)
    assert demo.store_connection(demo.airflow_command(), env, conn_id, connection, tmp_path)
    with closing(sqlite3.connect(home / "airflow.db", timeout=30)) as database:
        stored = [row[0] for row in database.execute("SELECT conn_id FROM connection")]
    log = (tmp_path / "connections.log").read_text(errors="replace")[-2000:]
    assert conn_id in stored, f"{conn_id} not in {home / 'airflow.db'} ({stored}); the import said:\n{log}"


def ui_test_request(api: Any, conn_id: str) -> dict[str, Any]:
    """The body of Airflow 3.3's Test button: the listed connection, ``port: Number(port)``."""
    response = api.get(f"/api/v2/connections/{conn_id}")
    assert response.status_code == 200, f"{conn_id} is not stored: {response.text}"
    listed = response.json()
    return {
        "conn_type": listed["conn_type"],
        "connection_id": listed["connection_id"],
        "description": listed["description"] or "",
        "extra": listed["extra"] or "{}",
        "host": listed["host"] or "",
        "login": listed["login"] or "",
        "password": listed["password"] or "",  # "***": the UI never has the stored secret
        "port": listed["port"] or 0,  # Number(null) is 0
        "schema": listed["schema"] or "",
    }


@pytest.mark.integration
def test_the_test_button_connects_to_the_emulator_with_make_airflows_connection(
    demo: ModuleType, api: Any, twin_emulator: Any, tmp_path: Path
) -> None:
    store(demo, tmp_path, "twin_default", demo.stored_connection(twin_emulator))
    body = ui_test_request(api, "twin_default")
    assert body["password"] == "***"
    assert (body["host"], body["port"]) == ("127.0.0.1", twin_emulator.port)

    response = api.post("/api/v2/connections/test", json=body)

    assert response.status_code == 200, response.text
    notify_url = twin_emulator.connection["extra"]["notify_url"]
    assert response.json() == {
        "status": True,
        "message": f"Connected to TWIN at {notify_url} as demo@twin.local",
    }


@pytest.mark.integration
def test_a_connection_without_a_stored_port_cannot_be_tested_from_airflow_3_3s_list(
    api: Any, twin_emulator: Any
) -> None:
    """Why ``make airflow`` stores host and port: the Airflow bug docs/connection.md works around.

    A connection made in the form (created here with the request its Save button sends) has no
    port; Airflow 3.3's Test button sends ``port: 0`` and its API, which since 3.3 refuses a test
    whose port differs from the stored one unless the request carries the password, answers 400.
    Airflow 3.2 tests it.
    """
    from airflow.api_fastapi.core_api.routes.public import connections

    form = twin_emulator.connection  # what the form sends on Save: no host, no port
    created = api.post(
        "/api/v2/connections",
        json={
            "connection_id": "twin_form",
            "conn_type": form["conn_type"],
            "login": form["login"],
            "password": form["password"],
            "extra": json.dumps(form["extra"]),
        },
    )
    assert created.status_code == 201, created.text

    response = api.post("/api/v2/connections/test", json=ui_test_request(api, "twin_form"))

    if hasattr(connections, "_same_endpoint"):  # Airflow 3.3
        assert response.status_code == 400
        assert "host or port to test differs" in response.json()["detail"]
    else:
        assert response.status_code == 200, response.text
        assert response.json()["status"] is True


# -- start and stop -----------------------------------------------------------------------------------
STAND_IN = """
import os, signal, subprocess, sys, time
if sys.argv[1:2] != ["standalone"]:
    sys.exit(0)  # db migrate, connections import
if os.environ.get("STAND_IN_FAILS"):
    sys.exit(int(os.environ["STAND_IN_FAILS"]))
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(os.environ["STAND_IN_PIDS"], "w").write(f"{os.getpgrp()}\\n")
def stop(*_):
    time.sleep(float(os.environ.get("STAND_IN_STOP_SECONDS", "0")))  # shutting components down
    sys.exit(241)  # as airflow standalone ends on Ctrl+C
signal.signal(signal.SIGINT, stop)
time.sleep(120)
"""


def start_script(tmp_path: Path, **extra_env: str) -> subprocess.Popen[str]:
    stand_in = tmp_path / "airflow_stand_in.py"
    stand_in.write_text(textwrap.dedent(STAND_IN), encoding="utf-8")
    env = {
        **os.environ,
        "TWIN_DEMO_AIRFLOW": f"{sys.executable} {stand_in}",
        "STAND_IN_PIDS": str(tmp_path / "group"),
        **extra_env,
    }
    command = [sys.executable, str(DEMO), "airflow", "--workdir", str(tmp_path / "work")]
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # As from a terminal: a shell's background job (CI started with `&`) ignores SIGINT,
        # and a Python started so keeps ignoring it, so Ctrl+C would never reach the script.
        preexec_fn=_ctrl_c_as_in_a_terminal,  # noqa: PLW1509 - only resets one signal handler
    )


def _ctrl_c_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.integration
def test_ctrl_c_stops_airflow_and_its_children_and_exits_0(tmp_path: Path) -> None:
    # One Ctrl+C, then two while stopping; one after the other, as a person would run them (two
    # at once race for the emulator's fixed port 8765 and stop each other's runs).
    for presses in (1, 2):
        _ctrl_c_stops_airflow(tmp_path / f"presses-{presses}", presses)


def _ctrl_c_stops_airflow(tmp_path: Path, presses: int) -> None:
    tmp_path.mkdir()
    script = start_script(tmp_path, STAND_IN_STOP_SECONDS=str(presses - 1))
    group_file = tmp_path / "group"
    deadline = time.monotonic() + 60
    while not group_file.exists() or not group_file.read_text().strip():
        assert script.poll() is None, script.communicate()[0]
        assert time.monotonic() < deadline, "the stand-in airflow standalone never started"
        time.sleep(0.1)
    group = int(group_file.read_text())

    for _ in range(presses):
        script.send_signal(signal.SIGINT)
        time.sleep(0.3)
    output, _ = script.communicate(timeout=60)

    assert script.returncode == 0, (presses, output)
    assert "Airflow stopped." in output
    assert not group_alive(group)
    stored = json.loads((tmp_path / "work" / "twin_default.connection.json").read_text())
    assert stored["twin_default"]["conn_type"] == "twin"
    assert "Ctrl+C stops" in output


@pytest.mark.integration
def test_airflow_failing_on_its_own_makes_the_script_fail(tmp_path: Path) -> None:
    script = start_script(tmp_path, STAND_IN_FAILS="3")
    output, _ = script.communicate(timeout=60)
    assert script.returncode == 3, output
    assert "airflow standalone exited with status 3" in output
