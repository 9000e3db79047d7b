"""`make demo` and `make airflow`: the example DAGs against a local TWIN emulator, offline.

``make demo`` (``python scripts/demo.py``):

1. starts the TWIN emulator on a free loopback port (in this process);
2. prepares a throw-away Airflow home with SQLite (``.demo/demo-home``);
3. runs ``example_twin_reminder_campaign`` with ``airflow dags test`` on the sample recipients.
   Reminders held until their recipients' local morning are not waited for: the emulator's
   clock is fast-forwarded to their send time;
4. prints the campaign report, stops the emulator, and exits non-zero if anything failed.

``make airflow`` (``python scripts/demo.py airflow``): ``airflow standalone`` (web UI on port
8080) with the example DAGs and the emulator's connection preset, in ``.demo/airflow-home``,
which is kept between runs. Ctrl+C stops it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from airflow_provider_twin.emulator import EmulatorSettings, OutcomeRule, TwinEmulator

REPO = Path(__file__).resolve().parent.parent
DAG_ID = "example_twin_reminder_campaign"
SAMPLE_DATE = "2026-03-02"  # the day the sample file example_dags/data/reminder_recipients.csv is for
UI_EMULATOR_PORT = 8765  # `make airflow` uses it when it is free, so the admin URL stays the same


def emulator_settings(port: int = 0) -> EmulatorSettings:
    """The demo's TWIN: quick deliveries and a few recipients who are hard to reach."""
    return EmulatorSettings(
        port=port,
        delivery_seconds=1.0,
        outcome_rules=[
            # Numbers ending in 13 have neither WhatsApp nor Viber; SMS reaches them: the
            # campaign's SMS fallback and the quickstart's SMS resend.
            OutcomeRule(status="UNDELIVERED", channel="whatsapp", phone_suffix="13"),
            OutcomeRule(status="UNDELIVERED", channel="viber", phone_suffix="13"),
            # Numbers ending in 99 are switched off: every channel fails, the resend too.
            OutcomeRule(status="UNDELIVERED", phone_suffix="99"),
        ],
    )


def airflow_env(home: Path, connection: str, poke_seconds: float) -> dict[str, str]:
    """The environment of an Airflow that reads the example DAGs and talks to the emulator."""
    env = os.environ.copy()
    # `airflow standalone` starts its components as `airflow ...` from PATH: this environment's.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW_CONN_TWIN_DEFAULT": connection,
            "TWIN_EXAMPLE_POKE_SECONDS": str(poke_seconds),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    return env


class FastForward:
    """Advance the emulator's clock whenever messages wait for their send time (``DELAYED``).

    The campaign holds reminders until each recipient's local send window opens, which may be
    hours away; the demo jumps the emulator's clock there instead of waiting.
    """

    def __init__(self, emulator: TwinEmulator, poll_seconds: float = 0.2) -> None:
        self.emulator = emulator
        self.poll_seconds = poll_seconds
        self.offset = 0.0
        #: (messages that were waiting, seconds skipped) per jump.
        self.jumps: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="twin-fast-forward", daemon=True)

    def __enter__(self) -> FastForward:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.step()
            except Exception:  # noqa: BLE001 - the emulator is stopping; the DAG run decides the outcome
                return

    def step(self) -> None:
        """One look: jump to the latest send time of the waiting messages, if any."""
        waiting = self.emulator.admin.messages(status="DELAYED", limit=100_000)["items"]
        if not waiting:
            return
        latest = max(datetime.fromisoformat(item["scheduledAt"]).timestamp() for item in waiting)
        ahead = latest - (time.time() + self.offset) + 0.5
        if ahead > 0:
            self.offset = self.emulator.admin.advance_clock(ahead)
            self.jumps.append((len(waiting), ahead))


def run_step(step: str, command: list[str], env: dict[str, str], log: Path, timeout: float) -> bool:
    """Run ``command`` with its output in ``log``; print the outcome and, on failure, the log's tail."""
    print(f"  {step} ...", end=" ", flush=True)
    started = time.monotonic()
    with log.open("w") as out:
        try:
            code = subprocess.run(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
            out.write(f"\n[demo] stopped after {timeout:.0f} s\n")
    print(f"{'ok' if code == 0 else 'FAILED'} ({time.monotonic() - started:.1f} s)")
    if code != 0:
        print(f"\n{step} failed; the last lines of {show(log)}:\n")
        print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))
    return code == 0


def show(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def demo(workdir: Path, timeout: float) -> int:
    """``make demo``: run the campaign once against the emulator and print its report."""
    home = workdir / "demo-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    report_file = workdir / "campaign-report.json"
    report_file.unlink(missing_ok=True)
    migrate_log, run_log = workdir / "db-migrate.log", workdir / "dags-test.log"
    conf = {"campaign_date": SAMPLE_DATE, "report_file": str(report_file)}
    print(f"TWIN provider demo: {DAG_ID} on the sample recipients of {SAMPLE_DATE}")
    with TwinEmulator(emulator_settings()) as emulator:
        print(f"  TWIN emulator on {emulator.base_url} (WhatsApp fails for numbers ending in 13,")
        print("    every channel for numbers ending in 99)")
        env = airflow_env(home, emulator.connection_json, poke_seconds=2)
        airflow = [sys.executable, "-m", "airflow"]
        ok = run_step(
            "preparing a throw-away Airflow (SQLite)", [*airflow, "db", "migrate"], env, migrate_log, 300
        )
        if ok:
            with FastForward(emulator) as clock:
                command = [*airflow, "dags", "test", DAG_ID, "--conf", json.dumps(conf)]
                ok = run_step(f"airflow dags test {DAG_ID}", command, env, run_log, timeout)
            for waiting, seconds in clock.jumps:
                print(
                    f"    fast-forwarded TWIN's clock {seconds / 3600:.1f} h: {waiting} message(s) "
                    "waited for their recipients' send window"
                )
        requests = emulator.admin.counters().get("requests", {})
    if not ok:
        return 1
    if not report_file.exists():
        print(f"\nThe DAG run wrote no report ({show(report_file)}); see {show(run_log)}")
        return 1
    report: dict[str, Any] = json.loads(report_file.read_text(encoding="utf-8"))
    print("\n" + "\n".join(f"  {line}".rstrip() for line in report["table"].splitlines()))
    served = ", ".join(f"{route} {count}" for route, count in requests.items())
    print(f"\n  TWIN API requests: {sum(requests.values())} ({served})")
    print(f"\nFull Airflow log: {show(run_log)}\nReport as JSON:   {show(report_file)}")
    return 0


def free_port(port: int) -> bool:
    """True when ``port`` can be bound on loopback."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def standalone(workdir: Path) -> int:
    """``make airflow``: ``airflow standalone`` with the example DAGs and the emulator preset."""
    home = workdir / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    port = UI_EMULATOR_PORT if free_port(UI_EMULATOR_PORT) else 0
    with TwinEmulator(emulator_settings(port)) as emulator:
        env = airflow_env(home, emulator.connection_json, poke_seconds=10)
        print(f"TWIN emulator on {emulator.base_url}; admin API {emulator.base_url}/_emulator/docs")
        print(f"Airflow home {show(home)}; DAGs from example_dags/; connection twin_default preset.")
        print("airflow standalone: UI on http://localhost:8080 (port 8080 must be free); it prints the")
        print("admin password (also in simple_auth_manager_passwords.json.generated). Ctrl+C stops.\n")
        signal.signal(signal.SIGTERM, interrupt)  # stopped by a process manager: clean up as for Ctrl+C
        # A session of its own, so that stopping it reaches every component it started.
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow", "standalone"], env=env, start_new_session=True
        )
        try:
            return process.wait()
        except KeyboardInterrupt:
            print("\nStopping Airflow ...", flush=True)
            return stop_process_group(process)


def interrupt(signum: int, frame: object) -> None:
    """A signal handler that stops the script as Ctrl+C does."""
    raise KeyboardInterrupt


def stop_process_group(process: subprocess.Popen[bytes]) -> int:
    """Stop ``process`` and everything it started: Ctrl+C first, as a terminal would, then harder."""
    for sig, grace in ((signal.SIGINT, 20.0), (signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            process.poll()  # reap the group leader once it exits
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return process.wait()
            time.sleep(0.5)
    return process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mode", nargs="?", choices=("demo", "airflow"), default="demo")
    parser.add_argument("--workdir", type=Path, default=REPO / ".demo", help="default: .demo/")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the DAG run (demo)")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.mode == "airflow":
        return standalone(args.workdir.resolve())
    return demo(args.workdir.resolve(), args.timeout)


if __name__ == "__main__":
    sys.exit(main())
