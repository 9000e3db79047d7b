"""A real Airflow 3 with the example DAGs and the TWIN emulator, for the UI tests.

What ``make airflow`` runs, split into its components so that each can be watched and stopped:
a fresh Airflow home (SQLite, ``airflow db migrate``), then ``airflow api-server``,
``scheduler``, ``dag-processor`` and ``triggerer`` as child processes, each in a process group
of its own with its output in a log file kept with the test artefacts. The environment and
the stored ``twin_default`` connection are those of ``make airflow`` (``scripts/demo.py``'s
``airflow_env``, ``stored_connection`` and ``store_connection``), plus what a test run needs: a
free port, every user an admin (no login page). DAGs are paused at creation, as under
``make airflow``, so the UI tests trigger them as a newcomer does: paused, with the Trigger
form's "Unpause <dag> on trigger" box (checked by default) unpausing them.

The emulator runs in the test process with the demo's settings, and the demo's ``FastForward``
advances its clock when reminders have waited for their recipients' send window as long as
under ``make airflow``, so no run waits for a real morning (see the ``twin`` fixture).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, TypeVar

import httpx

from airflow_provider_twin.emulator import TwinEmulator
from tests.file_modules import load_demo_script

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = REPO / "example_dags"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
#: What the health endpoint must report healthy before a test starts.
HEALTH_PARTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
#: Run states after which a DAG run does not change any more.
FINISHED = frozenset({"success", "failed"})
T = TypeVar("T")


class StackError(RuntimeError):
    """Airflow did not come up, or a component stopped; the message says which and shows its log."""


def example_dag_ids() -> list[str]:
    """The example DAGs' ids: one DAG per file in ``example_dags/``, named after the file."""
    return sorted(path.stem for path in EXAMPLE_DAGS.glob("example_*.py"))


def free_loopback_port() -> int:
    """A TCP port nothing listens on at the moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, for an error message."""
    if not path.exists():
        return f"({path} does not exist)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class AirflowStack:
    """Airflow's four components on a free port, reading the example DAGs, talking to ``emulator``.

    ``workdir`` receives the Airflow home (``airflow-home/``, with the task logs) and each
    component's output (``airflow-logs/<component>.log``). Use as a context manager: leaving it
    stops every component's process group, whatever happened inside.

    Other suites reuse it with their own ``dags_folder`` (``dag_ids``: the DAGs :meth:`start`
    waits for, by default one per ``example_*.py`` file there) and ``extra_env`` (Airflow
    settings of their own, applied last); :meth:`restart` and :meth:`kill` act on one component.
    """

    def __init__(
        self,
        workdir: Path,
        emulator: TwinEmulator,
        poke_seconds: float = 2.0,
        *,
        dags_folder: Path = EXAMPLE_DAGS,
        dag_ids: list[str] | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.home = workdir / "airflow-home"
        self.logs = workdir / "airflow-logs"
        self.emulator = emulator
        self.port = free_loopback_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.demo = load_demo_script()
        self.dags_folder = dags_folder
        self.dag_ids = (
            dag_ids if dag_ids is not None else sorted(p.stem for p in dags_folder.glob("example_*.py"))
        )
        self.env = self._environment(self.demo, poke_seconds)
        self.env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags_folder)
        self.env.update(extra_env or {})
        self._http = httpx.Client(base_url=self.base_url, timeout=30, trust_env=False)
        self._token: str | None = None

    def _environment(self, demo: ModuleType, poke_seconds: float) -> dict[str, str]:
        # As under `make airflow`: twin_default is stored in the database (see start()), not in the env.
        env: dict[str, str] = demo.airflow_env(self.home, None, poke_seconds)
        # Four components, event watchers and the browser write to one SQLite file: wait up to 30 s
        # for its lock (SQLite's default 5 s failed an unpause under a loaded CI machine).
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] += "?timeout=30"
        env.update(
            {
                "AIRFLOW__API__BASE_URL": self.base_url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "8",
                # Paused at creation, as under `make airflow` (Airflow's default): a user triggers a
                # paused DAG, and the Trigger form's "Unpause ... on trigger" box unpauses it.
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            }
        )
        return env

    # -- life cycle ------------------------------------------------------------------------------
    def __enter__(self) -> AirflowStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 240) -> None:
        """Migrate a fresh database, start the components, wait for health and the example DAGs."""
        shutil.rmtree(self.home, ignore_errors=True)
        shutil.rmtree(self.logs, ignore_errors=True)
        self.home.mkdir(parents=True)
        self.logs.mkdir(parents=True)
        migrate_log = self.logs / "db-migrate.log"
        with migrate_log.open("wb") as out:
            code = subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=300,
                check=False,
            ).returncode
        if code != 0:
            raise StackError(f"airflow db migrate failed ({code}):\n{log_tail(migrate_log)}")
        connection = self.demo.stored_connection(self.emulator)
        if not self.demo.store_connection(
            self.demo.airflow_command(), self.env, "twin_default", connection, self.logs
        ):
            raise StackError(f"storing twin_default failed:\n{log_tail(self.logs / 'connections.log')}")
        for name in COMPONENTS:
            self.start_component(name)
        deadline = time.monotonic() + timeout
        self.wait_for("Airflow's components to report healthy", self._healthy, deadline)
        expected = self.dag_ids
        self.wait_for(f"the DAGs {expected} to be parsed", lambda: self._parsed(expected), deadline)

    def start_component(self, name: str) -> None:
        """Start one component in a process group of its own, its output appended to its log."""
        command = [sys.executable, "-m", "airflow", name]
        if name == "api-server":
            command += ["--port", str(self.port), "--host", "127.0.0.1"]
        with (self.logs / f"{name}.log").open("ab") as out:
            self.processes[name] = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self, name: str, sig: signal.Signals = signal.SIGTERM, grace: float = 30) -> int:
        """Send ``sig`` to one component's process group and wait until it has exited; its exit code.

        SIGTERM is a graceful stop (what a service manager sends); SIGKILL of the group is a crash
        of the component and of its children alike. A component still there after ``grace`` s is
        killed.
        """
        process = self.processes.pop(name)
        _signal_group(process, sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(10)
        _signal_group(process, signal.SIGKILL)  # children the component left behind
        return process.returncode

    def restart(self, name: str, sig: signal.Signals = signal.SIGTERM) -> int:
        """:meth:`kill` one component with ``sig`` and start it again; the old process's exit code."""
        code = self.kill(name, sig)
        self.start_component(name)
        return code

    def stop(self, grace: float = 20) -> None:
        """Stop every component's process group: SIGTERM to all at once, SIGKILL after ``grace`` s."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)  # the group: the components' own children too
            if process.poll() is None:
                process.wait(10)
        self.processes.clear()
        self._http.close()

    def check_running(self) -> None:
        """Raise :class:`StackError` with its log's tail if a component has stopped."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                log = self.logs / f"{name}.log"
                raise StackError(f"airflow {name} stopped ({process.returncode}):\n{log_tail(log)}")

    def wait_for(self, what: str, probe: Callable[[], T | None], deadline: float, every: float = 1.0) -> T:
        """Call ``probe`` until it returns something other than None/False; fail at ``deadline``."""
        last: object = None
        while True:
            self.check_running()
            try:
                result = probe()
            except httpx.HTTPError as error:
                result, last = None, error
            if result is not None and result is not False:
                return result
            if time.monotonic() > deadline:
                raise StackError(f"timed out waiting for {what} (last: {last!r}); logs in {self.logs}")
            time.sleep(every)

    def _healthy(self) -> bool:
        health = self._http.get("/api/v2/monitor/health").raise_for_status().json()
        return all(health.get(part, {}).get("status") == "healthy" for part in HEALTH_PARTS)

    def _parsed(self, dag_ids: list[str]) -> bool:
        found = {dag["dag_id"] for dag in self.api("GET", "/api/v2/dags", params={"limit": 100})["dags"]}
        if set(dag_ids) <= found:
            return True
        errors = self.api("GET", "/api/v2/importErrors")["import_errors"]
        if errors:
            raise StackError(f"DAGs failed to import: {errors}")
        return False

    # -- the REST API ----------------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call Airflow's REST API as an admin; the JSON answer."""
        if self._token is None:
            self._token = self._http.get("/auth/token").raise_for_status().json()["access_token"]
        headers = {"Authorization": f"Bearer {self._token}"}
        response = self._http.request(method, path, headers=headers, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """Each task's state in one run (mapped tasks: the state of their last instance read)."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        items = self.api("GET", path, params={"limit": 100})["task_instances"]
        return {item["task_id"]: item["state"] for item in items}

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> dict[str, Any]:
        """Poll a DAG run until it has finished; its last REST representation."""

        def finished() -> dict[str, Any] | None:
            run: dict[str, Any] = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in FINISHED else None

        return self.wait_for(f"{dag_id} run {run_id} to finish", finished, time.monotonic() + timeout, 2)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
