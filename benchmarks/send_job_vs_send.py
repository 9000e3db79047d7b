"""A campaign run by TWIN (a send job) against one sent from Airflow (the send operator).

For N recipients (default 10,000), both ways against the same emulator (in its own process),
in alternating order for ``--rounds`` rounds (default 3):

* **send**: ``TwinSendMessagesOperator.execute`` (validate, then ``POST /messages`` in chunks of
  1,000, four in flight), then ``TwinMessageStatusSensor`` pokes until every message has a final
  status;
* **job**: ``TwinSendJobOperator.execute`` (validate, write the ``.xlsx``, look the job up,
  create it, upload the file, start it), then ``TwinSendJobSensor`` pokes until the job is
  ``COMPLETED``.

Measured per way: the operator's wall time and CPU time (the Airflow worker's share), the
emulator's CPU time meanwhile (TWIN's share: reading the file, storing the messages), the
operator's requests to TWIN (the emulator's counters; logins left out), then the wait: wall
time until done, pokes and requests per poke. The emulator hands a running job's rows over at
``--job-rate`` rows per second (default 0: at once; the real TWIN paces a job itself, at a rate
it does not document) and delivers every message ``--delivery-seconds`` (default 1) after it
is sent, so the waits measure the checks, not a made-up pace. Ratios are job / send, from the
same round.

Usage::

    python benchmarks/send_job_vs_send.py                  # 10,000 recipients, 3 rounds
    python benchmarks/send_job_vs_send.py --size 1000 --rounds 1

Results: ``benchmarks/results/send_job_vs_send.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from typing import Any

from bench_harness import Emulator, fake_context, machine, table, task_process_masker, write_results

POKE_SECONDS = 0.5
#: Figures compared as job / send in each round.
RATIO_KEYS = (
    "handoff_seconds",
    "handoff_cpu_seconds",
    "handoff_emulator_cpu_seconds",
    "handoff_requests",
    "total_seconds",
    "total_requests",
)


def recipients(count: int) -> list[dict[str, Any]]:
    return [{"phone": f"7999{n:07d}", "var_name": f"Client {n}"} for n in range(count)]


def requests_made(emulator: Emulator) -> int:
    counters = emulator.counters()["requests"]
    return sum(count for route, count in counters.items() if not route.endswith("/auth/login"))


def run_send(emulator: Emulator, people: list[dict[str, Any]]) -> dict[str, Any]:
    from airflow.sdk import DAG

    from airflow_provider_twin.operators.messages import TwinSendMessagesOperator
    from airflow_provider_twin.sensors.messages import TwinMessageStatusSensor

    with DAG(f"bench_send_{uuid.uuid4().hex[:8]}", schedule=None):
        op = TwinSendMessagesOperator(
            task_id="send", recipients=people, channels={"sms": {"from": "Shop"}}, text="Spring sale"
        )
    return _measure(emulator, op, lambda summary: TwinMessageStatusSensor(task_id="wait", targets=summary))


def run_job(emulator: Emulator, people: list[dict[str, Any]]) -> dict[str, Any]:
    from airflow.sdk import DAG

    from airflow_provider_twin.operators.send_jobs import TwinSendJobOperator
    from airflow_provider_twin.sensors.send_jobs import TwinSendJobSensor

    with DAG(f"bench_job_{uuid.uuid4().hex[:8]}", schedule=None):
        op = TwinSendJobOperator(
            task_id="send_job",
            name="Spring sale",
            recipients=people,
            channels={"sms": {"from": "Shop"}},
            text="Spring sale",
            settle_seconds=0.0,
        )
    return _measure(emulator, op, lambda summary: TwinSendJobSensor(task_id="wait", job_id=summary))


def _measure(emulator: Emulator, op: Any, make_sensor: Any) -> dict[str, Any]:
    from airflow.sdk import DAG

    emulator.reset()
    with task_process_masker():
        started, cpu, server = time.perf_counter(), time.process_time(), emulator.cpu_seconds()
        summary = op.execute(fake_context(f"bench-{uuid.uuid4()}"))
        handed = time.perf_counter() - started
        handed_cpu = time.process_time() - cpu
        handed_server = emulator.cpu_seconds() - server
        handed_requests = requests_made(emulator)
        with DAG(f"bench_wait_{uuid.uuid4().hex[:8]}", schedule=None):
            sensor = make_sensor(summary)
        pokes = 0
        waited_from = time.perf_counter()
        while True:
            pokes += 1
            result = sensor.poke({})
            if result is not False and getattr(result, "is_done", True):
                break
            time.sleep(POKE_SECONDS)
        waited = time.perf_counter() - waited_from
        sensor._close_client()
    total_requests = requests_made(emulator)
    return {
        "handoff_seconds": round(handed, 3),
        "handoff_cpu_seconds": round(handed_cpu, 3),
        "handoff_emulator_cpu_seconds": round(handed_server, 3),
        "handoff_requests": handed_requests,
        "wait_seconds": round(waited, 3),
        "pokes": pokes,
        "requests_per_poke": round((total_requests - handed_requests) / pokes, 2),
        "total_seconds": round(handed + waited, 3),
        "total_requests": total_requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--job-rate", type=float, default=0.0, help="emulator rows per second (0 = at once)")
    parser.add_argument("--delivery-seconds", type=float, default=1.0)
    parser.add_argument("--output", default=None)
    args = parser.parse_args()

    emulator = Emulator("--delivery-seconds", str(args.delivery_seconds))
    os.environ["AIRFLOW_CONN_TWIN_DEFAULT"] = emulator.connection_json()
    try:
        emulator.settings(task_messages_per_second=args.job_rate)
        people = recipients(args.size)
        rounds: list[dict[str, Any]] = []
        for number in range(args.rounds):
            order = [("send", run_send), ("job", run_job)]
            if number % 2:
                order.reverse()
            measured = {name: run(emulator, people) for name, run in order}
            measured["ratio"] = {
                key: round(measured["job"][key] / measured["send"][key], 3) if measured["send"][key] else None
                for key in RATIO_KEYS
            }
            rounds.append(measured)
            print(f"round {number + 1}: send {measured['send']}\n         job  {measured['job']}", flush=True)
    finally:
        emulator.close()

    def median(way: str, key: str) -> Any:
        return statistics.median(r[way][key] for r in rounds)

    keys = (
        "handoff_seconds",
        "handoff_cpu_seconds",
        "handoff_emulator_cpu_seconds",
        "handoff_requests",
        "wait_seconds",
        "pokes",
        "requests_per_poke",
        "total_seconds",
        "total_requests",
    )
    rows = [
        [
            key,
            median("send", key),
            median("job", key),
            statistics.median(r["ratio"][key] for r in rounds) if key in rounds[0]["ratio"] else "",
        ]
        for key in keys
    ]
    print(
        table(
            ["median of rounds", "send operator", "send job", "job / send (same round)"],
            rows,
            f"{args.size} recipients, {args.rounds} round(s), job rate {args.job_rate or 'at once'}, "
            f"delivery {args.delivery_seconds} s, pokes every {POKE_SECONDS} s",
        )
    )
    write_results(
        "send_job_vs_send",
        {"size": args.size, "job_rate": args.job_rate, "rounds": rounds, "machine": machine()},
        args.output,
    )


if __name__ == "__main__":
    main()
