"""`make demo` and `make airflow`: the example DAGs against a local TWIN emulator, offline.

``make demo`` (``python scripts/demo.py``):

1. starts the TWIN emulator on a free loopback port (in this process);
2. prepares a throw-away Airflow home with SQLite (``.demo/demo-home``);
3. runs ``example_twin_reminder_campaign`` with ``airflow dags test`` on the sample recipients.
   Reminders held until their recipients' local morning are not waited for: the emulator's
   clock is fast-forwarded to their send time;
4. prints the campaign report, stops the emulator, and exits non-zero if anything failed.

``make airflow`` (``python scripts/demo.py airflow``): ``airflow standalone`` (web UI on port
8080) with the example DAGs, in ``.demo/airflow-home``, which is kept between runs. The
``twin_default`` connection to the emulator is stored in that home's database (replaced at each
start), so it is listed under Admin -> Connections and its Test button works. Messages held for
a send window, and send jobs waiting for theirs, are fast-forwarded once they have waited a
minute. Ctrl+C stops everything and exits 0; a component that fails on its own makes the script
exit non-zero.

``TWIN_DEMO_AIRFLOW`` replaces the ``airflow`` command (default: ``python -m airflow`` of this
interpreter); the tests use it to exercise the start and stop paths without a real Airflow.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from airflow_provider_twin.emulator import EmulatorSettings, FastForward, OutcomeRule, TwinEmulator

REPO = Path(__file__).resolve().parent.parent
DAG_ID = "example_twin_reminder_campaign"
SAMPLE_DATE = "2026-03-02"  # the day the sample file example_dags/data/reminder_recipients.csv is for
UI_EMULATOR_PORT = 8765  # `make airflow` uses it when it is free, so the admin URL stays the same
#: Under `make airflow`, a message is fast-forwarded only after it has waited this long for its send
#: time: example_twin_delayed_with_cancel schedules a reminder and cancels it a few tasks later.
UI_FAST_FORWARD_AFTER_SECONDS = 60.0


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


def airflow_env(home: Path, connection: str | None, poke_seconds: float) -> dict[str, str]:
    """The environment of an Airflow that reads the example DAGs and talks to the emulator.

    ``connection`` (JSON) becomes ``twin_default`` through ``AIRFLOW_CONN_TWIN_DEFAULT``; None
    leaves it to the metadata database (``make airflow``: see :func:`store_connection`), where the
    UI lists it. Connection testing is enabled, so the UI's Test button and
    ``airflow connections test`` work.
    """
    env = os.environ.copy()
    # `airflow standalone` starts its components as `airflow ...` from PATH: this environment's.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "TWIN_EXAMPLE_POKE_SECONDS": str(poke_seconds),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    if connection is None:
        env.pop("AIRFLOW_CONN_TWIN_DEFAULT", None)  # it would hide the stored one
    else:
        env["AIRFLOW_CONN_TWIN_DEFAULT"] = connection
    return env


def stored_connection(emulator: TwinEmulator) -> dict[str, Any]:
    """``twin_default`` as ``make airflow`` stores it: the emulator's connection, and its address.

    The hook does not read host and port (TWIN's URLs are in the extras). They are stored because
    Airflow 3.3's Test button sends the stored port as a number (``0`` when there is none) and the
    API refuses a test whose port differs from the stored one (400 "The host or port to test
    differs from the stored connection"); with the port stored, Test works. The connection list
    also shows where the emulator listens.
    """
    return {
        **emulator.connection,
        "host": emulator.host,
        "port": emulator.port,
        "description": "The local TWIN emulator started by make airflow (replaced at each start).",
    }


def store_connection(
    airflow: list[str], env: dict[str, str], conn_id: str, connection: dict[str, Any], workdir: Path
) -> bool:
    """Store (or replace) ``conn_id`` in the metadata database with ``airflow connections import``."""
    fields = {**connection, "extra": json.dumps(connection.get("extra", {}))}
    source = workdir / f"{conn_id}.connection.json"
    source.write_text(json.dumps({conn_id: fields}, indent=2), encoding="utf-8")
    command = [*airflow, "connections", "import", str(source), "--overwrite"]
    return run_step(f"storing the {conn_id} connection", command, env, workdir / "connections.log", 120)


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


def airflow_command() -> list[str]:
    """The ``airflow`` command: ``$TWIN_DEMO_AIRFLOW`` if set, else this interpreter's Airflow."""
    override = os.environ.get("TWIN_DEMO_AIRFLOW", "").strip()
    return shlex.split(override) if override else [sys.executable, "-m", "airflow"]


def print_jump(waiting: int, seconds: float) -> None:
    """Tell the ``make airflow`` user that the emulator's clock jumped, and why."""
    print(
        f"[TWIN emulator] clock fast-forwarded {seconds / 3600:.1f} h: {waiting} message(s) waited "
        "for their send time or their send job's window",
        flush=True,
    )


def standalone(workdir: Path) -> int:
    """``make airflow``: ``airflow standalone`` with the example DAGs and the emulator's connection.

    Returns 0 when stopped by Ctrl+C (or SIGTERM) once everything it started is gone, and the
    exit status of ``airflow standalone`` (or 1) when something failed on its own.
    """
    home = workdir / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    port = UI_EMULATOR_PORT if free_port(UI_EMULATOR_PORT) else 0
    signal.signal(signal.SIGTERM, interrupt)  # stopped by a process manager: clean up as for Ctrl+C
    airflow = airflow_command()
    try:
        with TwinEmulator(emulator_settings(port)) as emulator:
            env = airflow_env(home, None, poke_seconds=10)
            print(f"TWIN emulator on {emulator.base_url}; admin API {emulator.base_url}/_emulator/docs")
            migrated = run_step(
                f"preparing Airflow in {show(home)} (SQLite)",
                [*airflow, "db", "migrate"],
                env,
                workdir / "airflow-db-migrate.log",
                300,
            )
            if not (
                migrated
                and store_connection(airflow, env, "twin_default", stored_connection(emulator), workdir)
            ):
                return 1
            print("DAGs from example_dags/; twin_default (Admin -> Connections) points at the emulator.")
            print(
                "Messages held for a send window (and send jobs outside theirs) are fast-forwarded after "
                f"{UI_FAST_FORWARD_AFTER_SECONDS:.0f} s: the emulator's clock jumps to their send time."
            )
            print("airflow standalone: UI on http://localhost:8080 (port 8080 must be free); it prints the")
            print("admin password (also in simple_auth_manager_passwords.json.generated). Ctrl+C stops.\n")
            with FastForward(
                emulator, poll_seconds=1.0, after_seconds=UI_FAST_FORWARD_AFTER_SECONDS, on_jump=print_jump
            ):
                return run_until_stopped([*airflow, "standalone"], env)
    except KeyboardInterrupt:  # before Airflow started (its steps are stopped with this script)
        print("\nStopped.")
        return 0


def run_until_stopped(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` in a session of its own until it exits, or until Ctrl+C stops all of it.

    A stop asked for by the user is a success (0) once the whole process group is gone: the
    command's own exit status then only says it was interrupted. A command that exits on its
    own returns its status.
    """
    # A session of its own, so that stopping it reaches every component it started.
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        for sig in (signal.SIGINT, signal.SIGTERM):  # another Ctrl+C must not leave Airflow behind
            signal.signal(sig, signal.SIG_IGN)
        print("\nStopping Airflow (Ctrl+C first, then harder after 20 s) ...", flush=True)
        if stop_process_group(process):
            print("Airflow stopped.")
            return 0
        print("Airflow did not stop: some of its processes are still running.")
        return 1
    if code != 0:
        print(f"\nairflow standalone exited with status {code}.")
    return code


def interrupt(signum: int, frame: object) -> None:
    """A signal handler that stops the script as Ctrl+C does."""
    raise KeyboardInterrupt


def stop_process_group(process: subprocess.Popen[bytes]) -> bool:
    """Stop ``process`` and everything it started: Ctrl+C first, then harder. True once all are gone."""
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
                process.wait()
                return True
            time.sleep(0.2)
    process.wait()
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return True
    return False


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
