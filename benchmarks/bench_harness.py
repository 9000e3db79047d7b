"""What the benchmark scripts share: the emulator in a child process, machine facts, output.

Not a benchmark itself. Every script in this folder imports it (``python benchmarks/<name>.py``
puts this folder on ``sys.path``). The emulator always runs in its own process, so the client
under test and the server never share one interpreter lock; its CPU time is read from
``/proc`` to tell how busy it was.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

if "AIRFLOW_HOME" not in os.environ:  # never touch the user's ~/airflow
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="twin-bench-airflow-")
    atexit.register(shutil.rmtree, os.environ["AIRFLOW_HOME"], ignore_errors=True)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# The operator's few log lines per run (and "called outside of the Task Runner") stay out of
# the tables; a task logs the same lines at INFO, which costs nothing measurable.
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

RESULTS = Path(__file__).resolve().parent / "results"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds consumed so far by process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def rss_kib(field: str = "VmRSS", pid: int | str = "self") -> int:
    """A memory figure of ``/proc/<pid>/status`` in KiB (``VmRSS`` now, ``VmHWM`` peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS; False when not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Emulator:
    """The TWIN emulator in a child process (``python -m airflow_provider_twin.emulator``)."""

    def __init__(self, *args: str) -> None:
        import httpx

        self.process = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_twin.emulator", "--port", "0", *args],
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

        self.connection: dict[str, Any] = connection_for(self.base_url, EmulatorSettings())
        self.admin = httpx.Client(base_url=f"{self.base_url}/_emulator", timeout=120)
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

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """CPU seconds the emulator process has used so far."""
        return process_cpu_seconds(self.pid)

    def reset(self) -> None:
        self.admin.post("/reset").raise_for_status()

    def settings(self, **changes: Any) -> None:
        self.admin.patch("/settings", json=changes).raise_for_status()

    def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin.get("/counters").json()
        return result

    def connection_json(self) -> str:
        return json.dumps(self.connection)

    def close(self) -> None:
        if hasattr(self, "admin"):
            self.admin.close()
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@contextlib.contextmanager
def task_process_masker() -> Iterator[None]:
    """Let a run register its secrets, then drop them, as the end of a task process would.

    Every login registers its token with Airflow's secrets masker, which recompiles one regular
    expression of all registered secrets each time. A task process holds one or two tokens; a
    benchmark process running the operator dozens of times would accumulate them, and later
    runs would pay for the earlier ones' tokens.
    """
    # airflow.sdk.log re-exports it from Airflow 3.3 only.
    from airflow.sdk._shared.secrets_masker import _secrets_masker

    masker = _secrets_masker()
    before = set(masker.patterns)
    try:
        yield
    finally:
        if masker.patterns != before:
            masker.patterns = set(before)
            masker.replacer = re.compile("|".join(before)) if before else None


def fake_context(run_id: str, try_number: int = 1, map_index: int = -1) -> dict[str, Any]:
    """The parts of an Airflow task context the send operator reads."""
    ti = SimpleNamespace(map_index=map_index, try_number=try_number, xcom_push=lambda **_: None)
    return {"ti": ti, "dag_run": SimpleNamespace(run_id=run_id)}


def machine() -> dict[str, Any]:
    """The facts a reader needs to compare figures: CPU, cores, memory, versions, load."""
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) // 1024
    try:
        from importlib.metadata import version

        airflow = version("apache-airflow")
        httpx = version("httpx")
    except Exception:  # noqa: BLE001 - informative only
        airflow = httpx = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mib": memory,
        "python": platform.python_version(),
        "airflow": airflow,
        "httpx": httpx,
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def spread(values: Sequence[float]) -> dict[str, float]:
    """``{"min", "median", "max"}`` of ``values``."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """A Markdown table (also readable in a terminal)."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    lines = [f"\n{title}\n" if title else ""]
    lines.append("| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    lines.append("| " + " | ".join("-" * w for w in widths) + " |")
    for row in cells:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def write_results(name: str, payload: dict[str, Any], path: str | None = None) -> Path:
    """Write ``payload`` (plus the machine facts) as JSON: ``path`` or ``results/<name>.json``."""
    target = Path(path) if path else RESULTS / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    print(f"\nresults written to {target}", flush=True)
    return target
