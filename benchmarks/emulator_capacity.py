"""Measure the emulator: ``POST /messages`` throughput and ``withoutItems`` count latency.

Not collected by pytest (no ``test_`` prefix). Run from the repository root::

    .venv/bin/python benchmarks/emulator_capacity.py --shape one --batches 100 --mode cli

``--shape one`` sends one message with 1,000 destinations per request, ``--shape many`` 1,000
messages with one destination each. ``--mode cli`` runs the emulator as a separate process (like a
benchmark would), ``--mode inproc`` in a thread of this process (sharing its interpreter lock).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx

from airflow_provider_twin.emulator import TwinEmulator

BATCH = 1000


@contextlib.contextmanager
def running_emulator(mode: str) -> Iterator[str]:
    if mode == "inproc":
        with TwinEmulator() as emulator:
            yield emulator.base_url
        return
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_twin.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        match = re.search(r"(http://\S+)", process.stdout.readline())
        assert match is not None
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=15)


def body(batch: int, shape: str) -> bytes:
    destinations = [
        {"phone": f"7{batch:05d}{n:05d}", "variables": {"name": "Ann", "n": n}} for n in range(BATCH)
    ]
    channels = {"sms": {"from": "TwinService", "text": "Hello {{name}}"}}
    if shape == "one":
        messages: list[dict[str, Any]] = [{"destinations": destinations, "channels": channels}]
    else:
        messages = [{"destinations": [dest], "channels": channels} for dest in destinations]
    return json.dumps({"bulkId": "bench", "messages": messages}).encode()


def median_ms(client: httpx.Client, params: dict[str, Any], runs: int = 21) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get("/notify/api/v1/messages", params=params).raise_for_status()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--shape", choices=("one", "many"), default="one")
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--mode", choices=("cli", "inproc"), default="cli")
    args = parser.parse_args()
    bodies = [body(n, args.shape) for n in range(args.batches)]
    with running_emulator(args.mode) as base, httpx.Client(base_url=base, timeout=60) as client:
        login = {"email": "demo@twin.local", "password": "twin-demo"}
        token = client.post("/iam/api/v1/auth/login", json=login).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        for payload in bodies:
            response = client.post(
                "/notify/api/v1/messages", content=payload, headers={"content-type": "application/json"}
            )
            response.raise_for_status()
            response.json()
        elapsed = time.perf_counter() - started
        total = args.batches * BATCH
        sys.stdout.write(
            f"{args.shape}/{args.mode}: {total / elapsed:,.0f} destinations/s "
            f"({elapsed / args.batches * 1000:.1f} ms per POST of {BATCH})\n"
        )
        time.sleep(2.2)  # let every message reach its final status (default delivery_seconds = 2)
        for params in (
            {"bulkId": "bench", "withoutItems": 1, "status": "DELIVERED"},
            {"bulkId": "bench", "withoutItems": 1, "status": "PENDING,DELAYED"},
            {"bulkId": "bench", "withoutItems": 1},
            {"bulkId": "bench", "limit": 1000, "offset": total // 2},
        ):
            sys.stdout.write(
                f"  GET {params} over {total:,} messages: median {median_ms(client, params):.2f} ms\n"
            )


if __name__ == "__main__":
    main()
