"""The benchmark scripts still run: each at a tiny size, in its own process, results to tmp.

They are measured by hand (see docs/performance.md), never timed here; this only keeps them
from breaking as the code they measure changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _run(script: str, *args: str, tmp_path: Path) -> str:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "NO_PROXY": "127.0.0.1,localhost"}
    env.pop("AIRFLOW_CONN_TWIN_DEFAULT", None)
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        cwd=BENCHMARKS.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.parametrize(
    ("script", "args"),
    [
        (
            "send_throughput.py",
            ["--sizes", "300", "--rounds", "1", "--batch-size", "100", "--file-send", "2000"],
        ),
        ("send_scaling.py", ["--sizes", "2000"]),
        ("status_checks.py", ["--sizes", "10,1200"]),
        (
            "emulator_capacity.py",
            ["--batches", "3", "--in-flight", "1,2", "--count-messages", "2000", "--count-runs", "3"],
        ),
        ("event_throughput.py", ["--minutes", "0.25", "--rate", "1200", "--sample", "5"]),
        ("send_job_vs_send.py", ["--size", "200", "--rounds", "1"]),
        ("event_latency.py", ["--events", "3", "--rate", "3", "--poke-runs", "1"]),
    ],
)
def test_benchmark_writes_its_results(script: str, args: list[str], tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    printed = _run(script, *args, "--output", str(output), tmp_path=tmp_path)
    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["machine"], "results carry the machine facts"
    assert "|" in printed, "a table was printed"
    if script == "event_latency.py":
        assert set(results["sources"]) == {"websocket", "rest", "webhook"}
        assert all(found["to_run_queued"]["n"] == 3 for found in results["sources"].values())
    if script == "send_throughput.py":
        assert "File send of 2,000 recipients" in printed
        assert results["file_send"]["accepted"] == 2000


def test_chat_waits_benchmark_runs(tmp_path: Path) -> None:
    printed = _run(
        "chat_waits.py",
        "--sizes",
        "3",
        "--spread",
        "0.5",
        "--poll-sessions",
        "3",
        "--poll-interval",
        "0.5",
        "--json",
        tmp_path=tmp_path,
    )
    assert '"triggers"' in printed
