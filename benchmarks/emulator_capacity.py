"""Emulator capacity: requests/s and destinations/s the TWIN emulator sustains.

The send benchmarks measure the provider against the emulator; this one says how much the
emulator itself can take, so a reader can tell whether a send figure was capped by it.

The emulator runs in its own process (as in every benchmark). A load generator in this
process posts pre-encoded bodies of 1,000 destinations (nothing is validated or decoded on
this side: the response is read and dropped) with 1, 4 and 8 requests in flight, for three
request shapes:

* ``1 x 1000, sms``: one message, 1,000 destinations, one channel (what the send operator
  sends with one channel);
* ``1 x 1000, viber+sms``: the same with a fallback channel (each destination is laid out
  over two channel attempts);
* ``1000 x 1, sms``: 1,000 messages of one destination each (raw ``messages=`` sends).

It reports the throughput seen from the client and the emulator's own CPU time per request
and per destination (from ``/proc``), hence its **capacity per CPU core**: destinations per
second the emulator would sustain with a core to itself. On a 2-core machine the client and
the emulator share the cores, so the wall-clock figures are lower than that capacity.

Small reads: ``GET /messages?bulkId=...&withoutItems=1`` (what a status check sends) against a
bulk of 100,000 messages, one at a time: requests/s and latency.

Usage::

    python benchmarks/emulator_capacity.py
    python benchmarks/emulator_capacity.py --batches 200 --in-flight 1,4,8,16

Results: ``benchmarks/results/emulator_capacity.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import httpx
from bench_harness import Emulator, machine, spread, table, write_results

BATCH = 1000
SHAPES = {
    "1 x 1000, sms": ("one", ["sms"]),
    "1 x 1000, viber+sms": ("one", ["viber", "sms"]),
    "1000 x 1, sms": ("many", ["sms"]),
}


def body(batch: int, shape: str, channels: list[str]) -> bytes:
    """One request body: 1,000 destinations with a variable each."""
    destinations = [
        {"phone": f"7{batch:05d}{n:05d}", "variables": {"name": f"Client {n}"}} for n in range(BATCH)
    ]
    settings = {name: {"from": "Bench", "text": "Hello {{name}}"} for name in channels}
    if shape == "one":
        messages: list[dict[str, Any]] = [{"destinations": destinations, "channels": settings}]
    else:
        messages = [{"destinations": [destination], "channels": settings} for destination in destinations]
    return json.dumps({"bulkId": f"capacity-{batch}", "messages": messages}).encode()


def token(emulator: Emulator) -> str:
    login = {"email": emulator.connection["login"], "password": emulator.connection["password"]}
    response = httpx.post(f"{emulator.base_url}/iam/api/v1/auth/login", json=login, timeout=30)
    response.raise_for_status()
    return str(response.json()["token"])


def post_all(emulator: Emulator, bodies: list[bytes], in_flight: int) -> float:
    """Seconds to post every body with ``in_flight`` concurrent requests."""
    headers = {"Authorization": f"Bearer {token(emulator)}", "Content-Type": "application/json"}
    url = f"{emulator.base_url}/notify/api/v1/messages"

    async def main() -> float:
        limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            queue = list(reversed(bodies))

            async def worker() -> None:
                while queue:
                    response = await client.post(url, content=queue.pop(), headers=headers)
                    if response.status_code != 201:
                        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(in_flight)))
            return time.perf_counter() - started

    return asyncio.run(main())


def measure_posts(emulator: Emulator, batches: int, concurrency: list[int]) -> list[dict[str, Any]]:
    rows = []
    for label, (shape, channels) in SHAPES.items():
        bodies = [body(n, shape, channels) for n in range(batches)]
        emulator.reset()
        post_all(emulator, bodies[: min(10, batches)], 1)  # warm-up
        for in_flight in concurrency:
            emulator.reset()
            cpu = emulator.cpu_seconds()
            seconds = post_all(emulator, bodies, in_flight)
            cpu = emulator.cpu_seconds() - cpu
            destinations = batches * BATCH
            assert emulator.counters()["destinations_created"] == destinations
            rows.append(
                {
                    "shape": label,
                    "in_flight": in_flight,
                    "requests": batches,
                    "destinations": destinations,
                    "seconds": seconds,
                    "requests_per_second": batches / seconds,
                    "destinations_per_second": destinations / seconds,
                    "emulator_cpu_seconds": cpu,
                    "emulator_busy": cpu / seconds,
                    "emulator_cpu_ms_per_request": 1000 * cpu / batches,
                    "emulator_cpu_us_per_destination": 1e6 * cpu / destinations,
                    "capacity_destinations_per_core_second": destinations / cpu if cpu else None,
                }
            )
            print(
                f"  {label:<22} {in_flight:>2} in flight: {destinations / seconds:>9,.0f} destinations/s, "
                f"emulator {1e6 * cpu / destinations:.1f} µs CPU per destination",
                flush=True,
            )
    return rows


def measure_counts(emulator: Emulator, messages: int, runs: int) -> dict[str, Any]:
    """Latency of the status check's count request over a bulk of ``messages`` messages."""
    emulator.reset()
    emulator.settings(delivery_seconds=3600)
    headers = {"Authorization": f"Bearer {token(emulator)}", "Content-Type": "application/json"}
    with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=120) as client:
        settings = {"sms": {"from": "Bench", "text": "Hi"}}
        for start in range(0, messages, BATCH):
            destinations = [{"phone": f"7999{i:07d}"} for i in range(start, min(messages, start + BATCH))]
            payload = {
                "bulkId": "count-bench",
                "messages": [{"destinations": destinations, "channels": settings}],
            }
            client.post("/notify/api/v1/messages", json=payload).raise_for_status()
        samples = []
        # One status per request: TWIN's status filter takes one value.
        params = {"bulkId": "count-bench", "withoutItems": 1, "status": "PENDING"}
        cpu = emulator.cpu_seconds()
        started = time.perf_counter()
        for _ in range(runs):
            began = time.perf_counter()
            response = client.get("/notify/api/v1/messages", params=params)
            response.raise_for_status()
            samples.append(time.perf_counter() - began)
        elapsed = time.perf_counter() - started
        cpu = emulator.cpu_seconds() - cpu
        assert response.json()["count"] == messages
    return {
        "messages": messages,
        "requests": runs,
        "requests_per_second": runs / elapsed,
        "latency_ms": {
            "p50": 1000 * statistics.median(samples),
            "p99": 1000 * sorted(samples)[max(0, int(0.99 * runs) - 1)],
        },
        "emulator_cpu_ms_per_request": 1000 * cpu / runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--batches", type=int, default=100, help="requests of 1,000 destinations per run")
    parser.add_argument("--in-flight", default="1,4,8", help="comma-separated concurrency levels")
    parser.add_argument("--count-messages", type=int, default=100_000)
    parser.add_argument("--count-runs", type=int, default=200)
    parser.add_argument("--output", help="JSON file (default benchmarks/results/emulator_capacity.json)")
    args = parser.parse_args()
    facts = machine()
    emulator = Emulator("--delivery-seconds", "60")
    try:
        print("POST /messages, 1,000 destinations per request:", flush=True)
        posts = measure_posts(emulator, args.batches, [int(n) for n in args.in_flight.split(",")])
        counts = measure_counts(emulator, args.count_messages, args.count_runs)
    finally:
        emulator.close()
    rows = [
        [
            row["shape"],
            row["in_flight"],
            f"{row['requests_per_second']:,.0f}",
            f"{row['destinations_per_second']:,.0f}",
            f"{100 * row['emulator_busy']:.0f} %",
            f"{row['emulator_cpu_us_per_destination']:.1f}",
            f"{row['capacity_destinations_per_core_second']:,.0f}",
        ]
        for row in posts
    ]
    print(
        table(
            [
                "request shape",
                "in flight",
                "requests/s",
                "destinations/s",
                "emulator CPU busy",
                "emulator µs CPU / destination",
                "capacity, destinations per core-second",
            ],
            rows,
            "POST /messages (1,000 destinations per request)",
        )
    )
    best = {
        shape: spread([r["capacity_destinations_per_core_second"] for r in posts if r["shape"] == shape])
        for shape in SHAPES
    }
    print(
        table(
            ["status check count over", "requests/s (one at a time)", "p50 ms", "p99 ms", "emulator CPU ms"],
            [
                [
                    f"{counts['messages']:,} messages",
                    f"{counts['requests_per_second']:,.0f}",
                    f"{counts['latency_ms']['p50']:.2f}",
                    f"{counts['latency_ms']['p99']:.2f}",
                    f"{counts['emulator_cpu_ms_per_request']:.2f}",
                ]
            ],
            "GET /messages?bulkId=…&withoutItems=1",
        )
    )
    write_results(
        "emulator_capacity",
        {"machine": facts, "posts": posts, "capacity_by_shape": best, "counts": counts},
        args.output,
    )


if __name__ == "__main__":
    main()
