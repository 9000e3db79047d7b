"""Throughput and memory of TwinSendMessagesOperator against the local TWIN emulator.

What it measures, in one run against one emulator (started as a separate process, so the
client and the server do not share a Python interpreter):

1. **Rates.** 100,000 recipients sent (a) by ``TwinSendMessagesOperator.execute`` and (b) by a
   minimal raw-httpx loop that posts the very same chunks (same payloads, same batch size,
   same concurrency, one token, each answer decoded as any client wanting message ids must).
   Runs alternate and the emulator is reset before each, so both see the same server. The
   operator's *send rate* covers its sending phase (the same work as the raw loop); its
   *end-to-end rate* also covers the validation pass the raw loop does not do.
2. **Memory.** A 1,000,000-recipient CSV file sent by the operator in a child process: peak
   resident memory above the idle task process (the process with Airflow, the provider and
   the operator loaded, before ``execute``).

Usage::

    python benchmarks/send_throughput.py                 # 100k rates + 1M-file memory
    python benchmarks/send_throughput.py --skip-memory   # rates only
    python benchmarks/send_throughput.py --recipients 20000 --file-recipients 100000

Targets: send-rate ratio operator/raw >= 0.95; peak memory < 100 MB above idle.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

if "AIRFLOW_HOME" not in os.environ:  # never touch the user's ~/airflow
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="twin-bench-airflow-")
    atexit.register(shutil.rmtree, os.environ["AIRFLOW_HOME"], ignore_errors=True)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

CHANNELS = {"viber": {"from": "Bench"}, "sms": {"from": "Bench"}}
TEXT = "Hello {{name}}, your order is ready"


def recipients(count: int) -> list[dict[str, Any]]:
    """``count`` recipients with a phone and one template variable."""
    return [{"phone": f"+7 999 {i:07d}", "variables": {"name": f"Client {i}"}} for i in range(count)]


def write_csv(path: Path, count: int) -> None:
    """A recipients CSV (phone, var_name) of ``count`` rows."""
    with path.open("w", encoding="utf-8") as out:
        out.write("phone,var_name\n")
        for start in range(0, count, 100_000):
            out.write(
                "".join(f"+7 999 {i:07d},Client {i}\n" for i in range(start, min(count, start + 100_000)))
            )


class Emulator:
    """The TWIN emulator in a child process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_twin.emulator", "--delivery-seconds", "5"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            self.close()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.base_url = match.group(1)
        from airflow_provider_twin.emulator.server import connection_for
        from airflow_provider_twin.emulator.settings import EmulatorSettings

        self.connection = connection_for(self.base_url, EmulatorSettings())
        import httpx

        self.admin = httpx.Client(base_url=f"{self.base_url}/_emulator", timeout=60)
        deadline = time.monotonic() + 15
        while True:
            try:
                if self.admin.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("the emulator does not answer")
            time.sleep(0.05)

    def reset(self) -> None:
        self.admin.post("/reset").raise_for_status()

    def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin.get("/counters").json()
        return result

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def fake_context(run_id: str) -> dict[str, Any]:
    """The parts of an Airflow context the operator reads."""
    ti = SimpleNamespace(map_index=-1, try_number=1, xcom_push=lambda **_: None)
    return {"ti": ti, "dag_run": SimpleNamespace(run_id=run_id)}


def build_operator(**kwargs: Any) -> Any:
    from airflow.sdk import DAG

    from airflow_provider_twin.operators.messages import TwinSendMessagesOperator

    with DAG("benchmark_send_throughput", schedule=None):
        return TwinSendMessagesOperator(task_id="send", channels=CHANNELS, text=TEXT, **kwargs)


def operator_run(
    people: list[dict[str, Any]], batch_size: int, in_flight: int, check_existing: bool | None = None
) -> tuple[float, float, int]:
    """(end-to-end seconds, send-phase seconds, destinations created) of one operator send."""
    op = build_operator(
        recipients=people, batch_size=batch_size, max_in_flight=in_flight, check_existing=check_existing
    )
    started = time.perf_counter()
    summary = op.execute(fake_context(f"bench-{uuid.uuid4()}"))
    elapsed = time.perf_counter() - started
    assert summary["accepted"] == len(people), summary
    return elapsed, summary["timing"]["send_seconds"], summary["accepted"]


def raw_chunks(people: list[dict[str, Any]], batch_size: int) -> list[dict[str, Any]]:
    """The operator's chunks as request bodies (same messages; fresh bulk ids)."""
    from airflow_provider_twin.client.compose import MessageSpec, Problems, compile_spec
    from airflow_provider_twin.client.sources import RecipientList

    campaign = compile_spec(MessageSpec(channels=CHANNELS, text=TEXT, group_id=str(uuid.uuid4())))
    source = RecipientList(campaign, people)
    problems = Problems()
    source.validate(problems)
    assert not problems
    return [
        {"messages": chunk.messages, "companyId": None, "taskId": None, "bulkId": str(uuid.uuid4())}
        for chunk in source.chunks(batch_size, str)
    ]


def raw_run(emulator: Emulator, bodies: list[dict[str, Any]], in_flight: int) -> float:
    """Seconds for a minimal httpx loop to post ``bodies`` with ``in_flight`` concurrency."""
    import httpx

    extra = emulator.connection["extra"]

    async def main() -> float:
        started = time.perf_counter()  # like the operator's send phase: client set-up and login count
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            login = await client.post(
                f"{extra['iam_url']}/auth/login",
                json={"email": emulator.connection["login"], "password": emulator.connection["password"]},
            )
            headers = {"Authorization": f"Bearer {login.json()['token']}", "Content-Type": "application/json"}
            url = f"{extra['notify_url']}/messages"
            slots = asyncio.Semaphore(in_flight)

            async def post(body: dict[str, Any]) -> None:
                async with slots:
                    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
                    response = await client.post(url, content=content, headers=headers)
                    response.raise_for_status()
                    response.json()

            await asyncio.gather(*(post(body) for body in bodies))
            return time.perf_counter() - started

    return asyncio.run(main())


def measure_rates(emulator: Emulator, count: int, repeat: int, batch_size: int, in_flight: int) -> None:
    people = recipients(count)
    bodies = raw_chunks(people, batch_size)
    raw: list[float] = []
    op_total: list[float] = []
    op_send: list[float] = []
    op_checked: list[float] = []
    operator_run(people[: batch_size * in_flight], batch_size, in_flight)  # warm-up (imports, pools)

    def raw_once() -> None:
        emulator.reset()
        raw.append(raw_run(emulator, bodies, in_flight))
        assert emulator.counters()["destinations_created"] == count

    def operator_once() -> None:
        emulator.reset()
        total, send, created = operator_run(people, batch_size, in_flight)
        assert created == count
        assert emulator.counters()["destinations_created"] == count
        op_total.append(total)
        op_send.append(send)

    for run in range(repeat):
        # Alternate which goes first, so a drifting machine load does not favour either side.
        for measure in (raw_once, operator_once) if run % 2 == 0 else (operator_once, raw_once):
            measure()
        emulator.reset()
        op_checked.append(operator_run(people, batch_size, in_flight, check_existing=True)[1])
    chunks = -(-count // batch_size)
    report("recipients per run", f"{count:,} ({chunks} chunks of {batch_size}, {in_flight} in flight)")
    measured = (
        ("raw httpx loop", raw),
        ("operator, send phase", op_send),
        ("operator, end to end", op_total),
        ("operator, always check", op_checked),
    )
    for label, times in measured:
        best, median = min(times), statistics.median(times)
        report(
            label,
            f"{count / best:10,.0f} recipients/s best, {count / median:10,.0f} median "
            f"({len(times)} runs: best {best:.2f} s, median {median:.2f} s)",
        )
    ratios = (
        ("ratio send phase / raw", op_send, "  (target >= 0.95)"),
        ("ratio end to end / raw", op_total, "  (validation pass included)"),
        ("ratio always check / raw", op_checked, "  (send phase, check_existing=True)"),
    )
    for label, times, note in ratios:
        # Each run is compared with the raw run next to it (same machine load), then the median.
        paired = statistics.median(raw_time / time_ for raw_time, time_ in zip(raw, times, strict=True))
        report(label, f"{paired:.3f} median of paired runs{note}")


def report(label: str, text: str) -> None:
    """One aligned result line."""
    print(f"{label:<26}: {text}", flush=True)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(path: str) -> None:
    """Child process: idle RSS, then the peak RSS of a file send (printed as JSON)."""
    import gc

    op = build_operator(recipients_file=path, batch_size=1000, max_in_flight=4)
    # Load everything a send touches (hook, clients, httpx) before measuring the idle process.
    from airflow_provider_twin.client import bulk, sources  # noqa: F401
    from airflow_provider_twin.hooks import twin  # noqa: F401

    gc.collect()
    idle = _rss_kib("VmRSS")
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak to the current RSS
    started = time.perf_counter()
    summary = op.execute(fake_context(f"bench-file-{uuid.uuid4()}"))
    elapsed = time.perf_counter() - started
    peak = _rss_kib("VmHWM")
    print(
        json.dumps(
            {
                "idle_mib": idle / 1024,
                "peak_mib": peak / 1024,
                "above_idle_mib": (peak - idle) / 1024,
                "accepted": summary["accepted"],
                "seconds": elapsed,
                "validation_seconds": summary["timing"]["validation_seconds"],
            }
        )
    )


def measure_memory(emulator: Emulator, count: int) -> None:
    emulator.reset()
    with tempfile.TemporaryDirectory(prefix="twin-bench-") as folder:
        path = Path(folder) / "recipients.csv"
        write_csv(path, count)
        size = path.stat().st_size / 2**20
        env = {**os.environ, "AIRFLOW_CONN_TWIN_DEFAULT": json.dumps(emulator.connection)}
        child = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(path)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(child.stdout[-2000:], child.stderr[-4000:], sep="\n")
            raise SystemExit("the memory run failed")
        result = json.loads(child.stdout.strip().splitlines()[-1])
    report(
        "file send",
        f"{count:,} recipients from a {size:.0f} MiB CSV in {result['seconds']:.1f} s "
        f"(validation pass {result['validation_seconds']:.1f} s), accepted {result['accepted']:,}",
    )
    report("idle task process", f"{result['idle_mib']:.0f} MiB RSS")
    report("peak during the send", f"{result['peak_mib']:.0f} MiB RSS")
    report("peak above idle", f"{result['above_idle_mib']:.1f} MiB  (target < 100 MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--file-recipients", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--max-in-flight", type=int, default=4)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    emulator = Emulator()
    try:
        os.environ["AIRFLOW_CONN_TWIN_DEFAULT"] = json.dumps(emulator.connection)
        measure_rates(emulator, args.recipients, args.repeat, args.batch_size, args.max_in_flight)
        if not args.skip_memory:
            measure_memory(emulator, args.file_recipients)
    finally:
        emulator.close()


if __name__ == "__main__":
    main()
