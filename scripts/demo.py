"""`make demo`: run the example DAG against a local TWIN emulator and show what happened.

Steps: start the emulator on a free loopback port, prepare a throw-away Airflow home
(SQLite) in .demo/, run the DAG with ``airflow dags test``, print a readable report of the
messages TWIN received and their statuses, stop the emulator. Exits non-zero on failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from airflow_provider_twin.emulator import EmulatorSettings, TwinEmulator

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".demo"
DAG_ID = os.environ.get("TWIN_DEMO_DAG", "example_twin_quickstart")


def airflow_env(home: Path, connection: str) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW_CONN_TWIN_DEFAULT": connection,
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    return env


def run(step: str, command: list[str], env: dict[str, str], log: Path) -> None:
    print(f"  {step} ...", end=" ", flush=True)
    started = time.monotonic()
    with log.open("w") as out:
        result = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    print(f"{'ok' if result.returncode == 0 else 'FAILED'} ({time.monotonic() - started:.1f} s)")
    if result.returncode != 0:
        print(f"\n{step} failed; the last lines of {log.relative_to(REPO)}:\n")
        print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))
        raise SystemExit(result.returncode)


def print_report(messages: list[dict[str, object]]) -> None:
    print(f"\nTWIN received {len(messages)} message record(s):\n")
    header = f"  {'destination':<16} {'channel':<9} {'status':<12} bulk"
    print(header)
    print("  " + "-" * (len(header) + 30))
    for item in messages:
        destination = item.get("destination") or {}
        who = next(iter(destination.values()), "?") if isinstance(destination, dict) else "?"
        print(f"  {who!s:<16} {item.get('channel')!s:<9} {item.get('status')!s:<12} {item.get('bulkId')}")
    counts = Counter(str(item.get("status")) for item in messages)
    print("\n  by status: " + ", ".join(f"{status} {n}" for status, n in sorted(counts.items())))


def main() -> int:
    if WORK.exists():
        shutil.rmtree(WORK)
    home = WORK / "airflow-home"
    home.mkdir(parents=True)
    settings = EmulatorSettings(
        delivery_seconds=2.0,
        # One SMS recipient whose number ends in 13 is unreachable, to show the fallback.
        outcome_rules=[{"channel": "sms", "phone_suffix": "13", "status": "UNDELIVERED"}],
    )
    print(f"TWIN provider demo: DAG {DAG_ID}")
    with TwinEmulator(settings) as emulator:
        print(f"  emulator listening on {emulator.base_url}")
        env = airflow_env(home, emulator.connection_json)
        run(
            "preparing a throw-away Airflow (SQLite)",
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env,
            WORK / "db-migrate.log",
        )
        run(
            f"airflow dags test {DAG_ID}",
            [sys.executable, "-m", "airflow", "dags", "test", DAG_ID],
            env,
            WORK / "dags-test.log",
        )
        messages = emulator.admin.messages(limit=1000)["items"]
        print_report(messages)
        counters = emulator.admin.counters()
        print(f"\n  requests TWIN served: {json.dumps(counters.get('requests', {}))}")
    print(f"\nFull Airflow log: {(WORK / 'dags-test.log').relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
