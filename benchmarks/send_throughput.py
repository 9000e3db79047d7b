"""Send throughput: TwinSendMessagesOperator against a minimal raw httpx loop, same emulator.

For each size (default 10,000 and 100,000 recipients) and each round (default 5):

* **raw**: a minimal httpx loop posts the very chunks the operator sends (same payloads, batch
  size and concurrency, one login, each answer decoded as any client wanting message ids
  must): ``client.post(url, json=chunk)`` for chunk dicts built before the clock starts. It
  neither validates nor composes anything; httpx encodes each chunk as it posts it. The
  target ratio is against this loop.
* **raw, pre-encoded**: the same loop posting request bodies already encoded to bytes before
  the clock starts (``content=body``): a stricter baseline that leaves out even the JSON
  encoding every real sender does, shown for comparison.
* **operator**: ``TwinSendMessagesOperator.execute`` with the same recipients, from the Python
  list to the last answer: it validates every recipient first, then composes and sends the
  chunks. Constructing the operator (DAG parse time) is not timed.
* **operator, check_existing=True**: the same, asking TWIN before every chunk whether it was
  already sent (what a retried task does; one extra count request per chunk).
* **operator, one-by-one checks**: the same with the column-wise check of clean lists turned
  off, so every recipient is checked on its own (the path lists with problems, or unusual
  values, take): what the column-wise check saves.

Raw and operator runs alternate (their order flips every round) and the emulator is reset
before each run, so both meet the same server under the same machine load. Each operator run
starts like a task process: its login token is the only one it registers with Airflow's
secrets masker (see ``bench_harness.task_process_masker``). Each round gives
a ratio ``raw seconds / operator seconds`` (= operator throughput / raw throughput); the
table shows min / median / max over the rounds, end to end and for the operator's sending
phase alone. The emulator's CPU use during each run (from ``/proc``) shows whether it was
the bottleneck.

Usage::

    python benchmarks/send_throughput.py                       # 10k and 100k, 5 rounds
    python benchmarks/send_throughput.py --sizes 100000 --rounds 9
    python benchmarks/send_throughput.py --channels viber,sms  # a fallback chain per recipient

Last, the peak memory of a 1,000,000-recipient file send (``--file-send``; the measurement of
``send_scaling.py``: a CSV sent by ``recipients_file=`` in a fresh task-like process).

Targets: operator / raw >= 0.95; file send < 100 MB above the idle task process.
Results: ``benchmarks/results/send_throughput.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

from bench_harness import Emulator, fake_context, machine, spread, table, task_process_masker, write_results

TEXT = "Hello {{name}}, your order is ready"


def recipients(count: int) -> list[dict[str, Any]]:
    """``count`` recipients as an upstream task would hand them over: a phone and a variable."""
    return [{"phone": f"+7 999 {i:07d}", "variables": {"name": f"Client {i}"}} for i in range(count)]


def build_operator(channels: dict[str, Any], **kwargs: Any) -> Any:
    from airflow.sdk import DAG

    from airflow_provider_twin.operators.messages import TwinSendMessagesOperator

    with DAG("benchmark_send_throughput", schedule=None):
        return TwinSendMessagesOperator(task_id="send", channels=channels, text=TEXT, **kwargs)


@contextlib.contextmanager
def one_by_one_checks() -> Iterator[None]:
    """Turn the column-wise check off: every recipient is checked on its own."""
    from airflow_provider_twin.client.messages import Campaign

    columns = Campaign.columns
    Campaign.columns = lambda self, recipients: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Campaign.columns = columns  # type: ignore[method-assign]


def operator_run(op: Any, count: int, one_by_one: bool = False) -> dict[str, float]:
    """Seconds of one ``execute``: end to end, validation and sending phase."""
    with task_process_masker(), one_by_one_checks() if one_by_one else contextlib.nullcontext():
        started = time.perf_counter()
        summary = op.execute(fake_context(f"bench-{uuid.uuid4()}"))
        elapsed = time.perf_counter() - started
    assert summary["accepted"] == count, summary
    timing = summary["timing"]
    return {
        "seconds": elapsed,
        "validation_seconds": timing["validation_seconds"],
        "send_seconds": timing["send_seconds"],
    }


def raw_payloads(
    people: list[dict[str, Any]], channels: dict[str, Any], batch_size: int
) -> list[dict[str, Any]]:
    """The operator's chunks as request payloads (same messages; fresh bulk ids)."""
    from airflow_provider_twin.client.messages import MessageSpec, Problems, compile_spec
    from airflow_provider_twin.client.messages.sources import RecipientList

    campaign = compile_spec(MessageSpec(channels=channels, text=TEXT, group_id=str(uuid.uuid4())))
    source = RecipientList(campaign, people)
    problems = Problems()
    source.validate(problems)
    assert not problems
    return [
        {"messages": chunk.messages, "companyId": None, "taskId": None, "bulkId": str(uuid.uuid4())}
        for chunk in source.chunks(batch_size, str)
    ]


def encoded(payloads: list[dict[str, Any]]) -> list[bytes]:
    """``payloads`` as request bodies, encoded as the operator encodes them."""
    return [json.dumps(p, separators=(",", ":"), ensure_ascii=False).encode() for p in payloads]


def raw_run(
    emulator: Emulator, bodies: list[bytes] | list[dict[str, Any]], in_flight: int
) -> dict[str, float]:
    """Seconds for a minimal httpx loop to post ``bodies`` (bytes, or dicts for httpx to encode)
    with ``in_flight`` concurrency."""
    import httpx

    extra = emulator.connection["extra"]

    async def main() -> float:
        started = time.perf_counter()  # like the operator: client set-up and login count
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            login = await client.post(
                f"{extra['iam_url']}/auth/login",
                json={"email": emulator.connection["login"], "password": emulator.connection["password"]},
            )
            headers = {"Authorization": f"Bearer {login.json()['token']}", "Content-Type": "application/json"}
            url = f"{extra['notify_url']}/messages"
            slots = asyncio.Semaphore(in_flight)

            async def post(body: bytes | dict[str, Any]) -> None:
                async with slots:
                    if isinstance(body, bytes):
                        response = await client.post(url, content=body, headers=headers)
                    else:
                        response = await client.post(url, json=body, headers=headers)
                    response.raise_for_status()
                    response.json()

            await asyncio.gather(*(post(body) for body in bodies))
            return time.perf_counter() - started

    return {"seconds": asyncio.run(main())}


def measure(
    emulator: Emulator, count: int, rounds: int, channels: dict[str, Any], *, batch_size: int, in_flight: int
) -> dict[str, Any]:
    people = recipients(count)
    payloads = raw_payloads(people, channels, batch_size)
    bodies = encoded(payloads)
    common = {"recipients": people, "batch_size": batch_size, "max_in_flight": in_flight}
    plain = build_operator(channels, **common)
    checking = build_operator(channels, check_existing=True, **common)
    runs: dict[str, list[dict[str, float]]] = {
        "raw": [],
        "raw_preencoded": [],
        "operator": [],
        "operator_check": [],
        "operator_one_by_one": [],
    }

    def timed(kind: str) -> None:
        emulator.reset()
        cpu = emulator.cpu_seconds()
        if kind == "raw":
            result = raw_run(emulator, payloads, in_flight)
        elif kind == "raw_preencoded":
            result = raw_run(emulator, bodies, in_flight)
        elif kind == "operator_check":
            result = operator_run(checking, count)
        else:
            result = operator_run(plain, count, one_by_one=kind == "operator_one_by_one")
        result["emulator_cpu_seconds"] = emulator.cpu_seconds() - cpu
        assert emulator.counters()["destinations_created"] == count
        runs[kind].append(result)

    timed("raw")  # warm-up: imports, pools, the emulator's first requests
    timed("operator")
    for kind_runs in runs.values():
        kind_runs.clear()
    for round_ in range(rounds):
        order = ("raw", "operator", "raw_preencoded", "operator_check", "operator_one_by_one")
        if round_ % 2:
            order = order[::-1]
        for kind in order:
            timed(kind)
    raw = [run["seconds"] for run in runs["raw"]]
    preencoded = [run["seconds"] for run in runs["raw_preencoded"]]
    ratios = {
        "end_to_end": [r / run["seconds"] for r, run in zip(raw, runs["operator"], strict=True)],
        "end_to_end_vs_preencoded": [
            r / run["seconds"] for r, run in zip(preencoded, runs["operator"], strict=True)
        ],
        "send_phase": [r / run["send_seconds"] for r, run in zip(raw, runs["operator"], strict=True)],
        "check_existing_end_to_end": [
            r / run["seconds"] for r, run in zip(raw, runs["operator_check"], strict=True)
        ],
        "one_by_one_end_to_end": [
            r / run["seconds"] for r, run in zip(raw, runs["operator_one_by_one"], strict=True)
        ],
    }
    return {
        "recipients": count,
        "chunks": -(-count // batch_size),
        "rounds": rounds,
        "runs": runs,
        "ratios": {name: spread(values) for name, values in ratios.items()},
        "rates": {
            kind: spread([count / run["seconds"] for run in kind_runs]) for kind, kind_runs in runs.items()
        },
        "validation_us_per_recipient": spread(
            [1e6 * run["validation_seconds"] / count for run in runs["operator"]]
        ),
        "one_by_one_validation_us_per_recipient": spread(
            [1e6 * run["validation_seconds"] / count for run in runs["operator_one_by_one"]]
        ),
        "emulator_busy": {
            kind: spread([run["emulator_cpu_seconds"] / run["seconds"] for run in kind_runs])
            for kind, kind_runs in runs.items()
        },
    }


def report(results: list[dict[str, Any]]) -> None:
    rows = []
    for result in results:
        for kind, label in (
            ("raw", "raw httpx loop (json=chunk)"),
            ("raw_preencoded", "raw httpx loop, pre-encoded bodies"),
            ("operator", "operator"),
            ("operator_check", "operator, check_existing=True"),
            ("operator_one_by_one", "operator, one-by-one checks"),
        ):
            rate, busy = result["rates"][kind], result["emulator_busy"][kind]
            rows.append(
                [
                    f"{result['recipients']:,}",
                    label,
                    f"{rate['min']:,.0f} / {rate['median']:,.0f} / {rate['max']:,.0f}",
                    f"{100 * busy['median']:.0f} %",
                ]
            )
    print(
        table(
            ["recipients", "sender", "recipients/s min / median / max", "emulator CPU busy (median)"],
            rows,
            "Throughput",
        )
    )
    rows = []
    for result in results:
        ratios = result["ratios"]
        for name, label in (
            ("end_to_end", "operator / raw, end to end"),
            ("end_to_end_vs_preencoded", "operator / raw pre-encoded, end to end"),
            ("send_phase", "operator / raw, sending phase only"),
            ("check_existing_end_to_end", "operator (check_existing) / raw, end to end"),
            ("one_by_one_end_to_end", "operator (one-by-one checks) / raw, end to end"),
        ):
            r = ratios[name]
            rows.append(
                [f"{result['recipients']:,}", label, f"{r['min']:.3f} / {r['median']:.3f} / {r['max']:.3f}"]
            )
        for key, label in (
            ("validation_us_per_recipient", "validation pass, µs per recipient"),
            ("one_by_one_validation_us_per_recipient", "one-by-one validation, µs per recipient"),
        ):
            v = result[key]
            rows.append(
                [
                    f"{result['recipients']:,}",
                    label,
                    f"{v['min']:.2f} / {v['median']:.2f} / {v['max']:.2f}",
                ]
            )
    print(table(["recipients", "ratio (target >= 0.95)", "min / median / max"], rows, "Operator vs raw"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated recipient counts")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--channels", default="sms", help="comma-separated channels, fallback order")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--max-in-flight", type=int, default=4)
    parser.add_argument(
        "--file-send",
        type=int,
        default=1_000_000,
        help="recipients of the file send whose peak memory is measured (0: skip)",
    )
    parser.add_argument("--output", help="JSON file (default benchmarks/results/send_throughput.json)")
    args = parser.parse_args()
    channels = {name: {"from": "Bench"} for name in args.channels.split(",")}
    facts = machine()
    emulator = Emulator("--delivery-seconds", "60")
    os.environ["AIRFLOW_CONN_TWIN_DEFAULT"] = emulator.connection_json()
    try:
        results = [
            measure(
                emulator,
                int(size),
                args.rounds,
                channels,
                batch_size=args.batch_size,
                in_flight=args.max_in_flight,
            )
            for size in args.sizes.split(",")
        ]
        file_send = file_send_memory(emulator, args.file_send) if args.file_send else None
    finally:
        emulator.close()
    report(results)
    if file_send is not None:
        print(
            f"\nFile send of {file_send['recipients']:,} recipients: {file_send['seconds']:.1f} s, "
            f"peak {file_send['above_idle_mib']:.1f} MiB above the idle task process "
            f"({file_send['idle_mib']:.0f} MiB) (target < 100 MB)"
        )
    settings = {
        "channels": list(channels),
        "batch_size": args.batch_size,
        "max_in_flight": args.max_in_flight,
    }
    write_results(
        "send_throughput",
        {"machine": facts, "settings": settings, "results": results, "file_send": file_send},
        args.output,
    )


def file_send_memory(emulator: Emulator, count: int) -> dict[str, Any]:
    """Time and peak memory of a ``count``-recipient file send (see ``send_scaling.py``)."""
    import tempfile
    from pathlib import Path

    from send_scaling import run_size

    with tempfile.TemporaryDirectory(prefix="twin-bench-") as folder:
        return run_size(emulator, Path(folder), count)


if __name__ == "__main__":
    main()
