"""10,000 TWIN events a minute through one event watcher, with this process's memory over time.

What runs: ``TwinMessageEventTrigger.run()`` - the watcher's own code, as the triggerer runs it
- in one asyncio event loop of this process, against the TWIN emulator in a child process. Not
Airflow's triggerer: the asset events it would write (one row each in the metadata database)
are not part of the figure, only the watcher's side of the stream is. The cursor's Airflow
Variables are replaced by an in-memory key-value store (outside a triggerer there is no
supervisor to hand them to) that counts what is written; the cursor's own work (its time-bucket
shards, encoded and merged on each write) is unchanged.

A producer thread has the emulator make ``--rate / 60`` viber messages each second, each
reaching DELIVERED 0.2 s later (``POST /_emulator/messages``); the watcher lists DELIVERED viber
messages created in the last ``--created-within`` seconds every ``--poll-interval`` seconds and
yields one event per message. Every ``--sample`` seconds it prints: events so far, events in the
last minute, resident memory (RSS) of this process, the cursor's Variables and their size, and
what was written to them so far. Memory should rise while the cursor's window fills
(``--window``, it remembers ids that long) and then stay flat.

Usage::

    python benchmarks/event_throughput.py                   # 10,000/min for 6 min, window 120 s
    python benchmarks/event_throughput.py --minutes 2 --rate 3000 --sample 10
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, cast
from unittest.mock import patch

from bench_harness import Emulator, machine, rss_kib, table, write_results

if TYPE_CHECKING:
    from airflow.triggers.base import TriggerEvent


class MemoryCursorStore:
    """The cursor's Variables, in memory (key -> text), counting what is written."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.values: dict[str, str] = {}
        self.writes = 0
        self.written_bytes = 0

    async def get(self, key: str) -> str | None:
        return self.values.get(key)

    async def put(self, key: str, text: str) -> None:
        self.values[key] = text
        self.writes += 1
        self.written_bytes += len(text)

    async def delete(self, key: str) -> None:
        self.values.pop(key, None)

    async def keys(self) -> list[str] | None:
        return sorted(k for k in self.values if k == self.name or k.startswith(self.name + "."))

    @property
    def stored_bytes(self) -> int:
        return sum(len(text) for text in self.values.values())


STORES: list[MemoryCursorStore] = []


def memory_store(name: str) -> MemoryCursorStore:
    store = MemoryCursorStore(name)
    STORES.append(store)
    return store


def produce(emulator: Emulator, per_second: int, stop: threading.Event, made: list[int]) -> None:
    """Make ``per_second`` DELIVERED viber messages every second until ``stop``."""
    started = time.monotonic()
    second = 0
    while not stop.is_set():
        body = {"count": per_second, "status": "DELIVERED", "channel": "viber", "delivery_seconds": 0.2}
        emulator.admin.post("/messages", json=body).raise_for_status()
        made.append(per_second)
        second += 1
        stop.wait(max(0.0, started + second - time.monotonic()))


async def watch(args: argparse.Namespace, emulator: Emulator) -> dict[str, Any]:
    from airflow_provider_twin.triggers import TwinMessageEventTrigger

    trigger = TwinMessageEventTrigger(
        statuses=["DELIVERED"],
        channels=["viber"],
        created_within_seconds=args.created_within,
        window_seconds=args.window,
        poll_interval=args.poll_interval,
        cursor_name="bench_throughput",
    )
    gc.collect()
    idle_kib = rss_kib()
    stop = threading.Event()
    made: list[int] = []
    producer = threading.Thread(
        target=produce, args=(emulator, round(args.rate / 60), stop, made), name="producer", daemon=True
    )
    started = time.monotonic()
    recent: deque[float] = deque()
    count = 0
    samples: list[dict[str, Any]] = []
    next_sample = started + args.sample
    end = started + args.minutes * 60
    lags: list[float] = []
    producer.start()
    stream = cast("AsyncGenerator[TriggerEvent, None]", trigger.run())
    try:
        async for event in stream:
            now = time.monotonic()
            count += 1
            recent.append(now)
            while recent and recent[0] < now - 60:
                recent.popleft()
            if count % 100 == 0:
                twin_time = event.payload.get("time")
                if twin_time:
                    from datetime import datetime

                    at = datetime.fromisoformat(str(twin_time).replace("Z", "+00:00")).timestamp()
                    lags.append(time.time() - at)
            if now >= next_sample:
                store = STORES[-1] if STORES else None
                sample = {
                    "seconds": round(now - started),
                    "made": sum(made),
                    "events": count,
                    "last_minute": len(recent),
                    "rss_mib": round(rss_kib() / 1024, 1),
                    "cursor_variables": len(store.values) if store else 0,
                    "cursor_kib": round(store.stored_bytes / 1024, 1) if store else 0,
                    "written_kib": round(store.written_bytes / 1024) if store else 0,
                }
                samples.append(sample)
                print("  " + "  ".join(f"{k}={v}" for k, v in sample.items()), flush=True)
                next_sample += args.sample
            if now >= end:
                break
    finally:
        stop.set()
        producer.join(timeout=30)
        await stream.aclose()
    return {
        "idle_rss_mib": round(idle_kib / 1024, 1),
        "events": count,
        "made": sum(made),
        "seconds": round(time.monotonic() - started, 1),
        "samples": samples,
        "cursor_writes": STORES[-1].writes if STORES else 0,
        "lag_s": sorted(lags),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=10_000, help="events per minute (default 10,000)")
    parser.add_argument("--minutes", type=float, default=6.0, help="how long (default 6)")
    parser.add_argument("--poll-interval", type=float, default=5.0, help="the watcher's poll (s, default 5)")
    parser.add_argument("--created-within", type=float, default=60.0, help="listing window (s, default 60)")
    parser.add_argument("--window", type=float, default=120.0, help="cursor window (s, default 120)")
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between samples (default 30)")
    parser.add_argument("--output", help="results JSON (default benchmarks/results/event_throughput.json)")
    args = parser.parse_args()
    facts = machine()
    print(
        f"Event throughput on {facts['cpu']} ({facts['cores']} cores), Airflow {facts['airflow']}", flush=True
    )
    emulator = Emulator()
    try:
        os.environ["AIRFLOW_CONN_TWIN_DEFAULT"] = emulator.connection_json()
        emulator.settings(delivery_seconds=0.2)
        cpu_before = emulator.cpu_seconds()
        with patch("airflow_provider_twin.triggers.events.VariableCursorStore", memory_store):
            found = asyncio.run(watch(args, emulator))
        found["emulator_cpu_s"] = round(emulator.cpu_seconds() - cpu_before, 1)
    finally:
        emulator.close()
    samples = found["samples"]
    rows = [
        [
            s["seconds"],
            f"{s['made']:,}",
            f"{s['events']:,}",
            f"{s['last_minute']:,}",
            s["rss_mib"],
            s["cursor_variables"],
            s["cursor_kib"],
            f"{s['written_kib']:,}",
        ]
        for s in samples
    ]
    headers = [
        "s",
        "made",
        "events",
        "events last min",
        "RSS MiB",
        "cursor Variables",
        "cursor KiB",
        "KiB written so far",
    ]
    print(
        table(
            headers,
            rows,
            f"One watcher, {args.rate:,.0f} events/min, poll {args.poll_interval:g} s, "
            f"cursor window {args.window:g} s",
        )
    )
    lags = found["lag_s"]
    if lags:
        p50, p99 = lags[len(lags) // 2], lags[min(len(lags) - 1, round(0.99 * (len(lags) - 1)))]
        found["lag_p50_s"], found["lag_p99_s"] = round(p50, 2), round(p99, 2)
        print(f"\nTWIN status time -> yielded: p50 {p50:.2f} s, p99 {p99:.2f} s (every 100th event)")
    print(
        f"idle RSS {found['idle_rss_mib']} MiB; cursor writes {found['cursor_writes']}; "
        f"emulator CPU {found['emulator_cpu_s']} s"
    )
    write_results("event_throughput", {"machine": facts, "settings": vars(args), **found}, args.output)


if __name__ == "__main__":
    main()
