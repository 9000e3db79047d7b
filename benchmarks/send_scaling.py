"""Scaling of a file send: time and peak memory for 10,000, 100,000 and 1,000,000 recipients.

Each size is a CSV recipients file (``phone,var_name``) sent by
``TwinSendMessagesOperator(recipients_file=...)`` to the emulator, in a fresh child process
per size, so that memory is measured on its own:

* **idle**: resident memory of the task process with Airflow, the provider, the operator and
  the HTTP client loaded, just before ``execute`` (what every task process pays anyway);
* **peak above idle**: the highest resident memory during ``execute`` minus the idle figure
  (Linux ``VmHWM``, reset right before ``execute``);
* **time**: ``execute`` end to end (validation pass over the file + sending pass), and the
  same per recipient, which stays flat when time grows linearly.

The file is streamed twice (validate, then send) and never held in memory, so the peak
should not grow with the file. Target: < 100 MB above idle at 1,000,000 recipients.

Usage::

    python benchmarks/send_scaling.py                         # 10k, 100k, 1M
    python benchmarks/send_scaling.py --sizes 10000,100000    # quicker

Results: ``benchmarks/results/send_scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_harness import Emulator, fake_context, machine, reset_peak_rss, rss_kib, table, write_results


def write_csv(path: Path, count: int) -> None:
    """A recipients CSV (``phone,var_name``) of ``count`` rows, phones in a human format."""
    with path.open("w", encoding="utf-8") as out:
        out.write("phone,var_name\n")
        for start in range(0, count, 100_000):
            stop = min(count, start + 100_000)
            out.write("".join(f"+7 999 {i:07d},Client {i}\n" for i in range(start, stop)))


def child(path: str) -> None:
    """In a fresh process: idle RSS, then one file send; prints a JSON line."""
    import gc

    from airflow.sdk import DAG

    from airflow_provider_twin.hooks import twin  # noqa: F401
    from airflow_provider_twin.operators.messages import TwinSendMessagesOperator

    with DAG("benchmark_send_scaling", schedule=None):
        op = TwinSendMessagesOperator(
            task_id="send",
            recipients_file=path,
            channels={"sms": {"from": "Bench"}},
            text="Hello {{name}}, your order is ready",
            batch_size=1000,
            max_in_flight=4,
        )
    import httpx  # noqa: F401

    gc.collect()
    idle = rss_kib("VmRSS")
    peak_reset = reset_peak_rss()
    started = time.perf_counter()
    summary = op.execute(fake_context(f"bench-file-{uuid.uuid4()}"))
    elapsed = time.perf_counter() - started
    peak = rss_kib("VmHWM")
    print(
        json.dumps(
            {
                "idle_mib": idle / 1024,
                "peak_mib": peak / 1024,
                "above_idle_mib": (peak - idle) / 1024,
                "peak_reset": peak_reset,
                "accepted": summary["accepted"],
                "seconds": elapsed,
                "validation_seconds": summary["timing"]["validation_seconds"],
                "send_seconds": summary["timing"]["send_seconds"],
            }
        )
    )


def run_size(emulator: Emulator, folder: Path, count: int) -> dict[str, Any]:
    emulator.reset()
    path = folder / f"recipients-{count}.csv"
    write_csv(path, count)
    env = {**os.environ, "AIRFLOW_CONN_TWIN_DEFAULT": emulator.connection_json()}
    cpu = emulator.cpu_seconds()
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-4000:], sep="\n")
        raise SystemExit(f"the {count:,}-recipient run failed")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["emulator_cpu_seconds"] = emulator.cpu_seconds() - cpu
    assert result["accepted"] == count, result
    assert emulator.counters()["destinations_created"] == count
    result.update(
        recipients=count,
        file_mib=path.stat().st_size / 2**20,
        us_per_recipient=1e6 * result["seconds"] / count,
    )
    path.unlink()
    print(
        f"  {count:>9,}: {result['seconds']:.2f} s, peak {result['above_idle_mib']:.1f} MiB above idle",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--output", help="JSON file (default benchmarks/results/send_scaling.json)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    facts = machine()
    emulator = Emulator("--delivery-seconds", "60")
    try:
        with tempfile.TemporaryDirectory(prefix="twin-bench-") as folder:
            results = [run_size(emulator, Path(folder), int(size)) for size in args.sizes.split(",")]
    finally:
        emulator.close()
    rows = [
        [
            f"{r['recipients']:,}",
            f"{r['file_mib']:.1f}",
            f"{r['seconds']:.2f}",
            f"{r['validation_seconds']:.2f}",
            f"{r['send_seconds']:.2f}",
            f"{r['us_per_recipient']:.1f}",
            f"{r['idle_mib']:.0f}",
            f"{r['above_idle_mib']:.1f}",
        ]
        for r in results
    ]
    print(
        table(
            [
                "recipients",
                "CSV MiB",
                "execute s",
                "validation s",
                "send s",
                "µs / recipient",
                "idle task RSS MiB",
                "peak above idle MiB",
            ],
            rows,
            "File send scaling (target: flat µs/recipient, < 100 MiB above idle)",
        )
    )
    write_results("send_scaling", {"machine": facts, "results": results}, args.output)


if __name__ == "__main__":
    main()
