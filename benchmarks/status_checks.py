"""Status checks: TWIN requests per check of TwinMessageStatusSensor for 10, 10k and 1M messages.

For each size the emulator is filled with that many messages laid out as the send operator
lays them out (chunks of 1,000 destinations, one ``bulkId`` per chunk, one ``groupId`` for the
whole step), then one check is made and the emulator's request counters read:

* **poke**: ``TwinMessageStatusSensor.poke`` (poke and reschedule modes), watching the send
  summary (``targets=``: its bulk ids, or its own group id beyond 100 chunks), and separately
  every bulk id given as ``bulk_ids=`` (100 per request) and the group id alone;
* **trigger**: one poll of ``TwinMessageStatusTrigger`` (the deferrable mode), with a deadline
  already due, so it checks exactly once and reports a timeout;
* both while every message is still pending (the check also lists the messages held until
  their send time), and once more after the emulator's clock moved past the delivery time.

Requests per check must not grow with the number of messages. The table also shows the time
of one check and the longest request line (query string) of a check, which must stay well
under the 8 KB that proxies commonly accept.

Usage::

    python benchmarks/status_checks.py                      # 10, 10,000, 1,000,000
    python benchmarks/status_checks.py --sizes 10,10000     # quicker

Results: ``benchmarks/results/status_checks.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import httpx
from bench_harness import Emulator, machine, table, write_results

COUNT_ROUTE = "GET /notify/api/v1/messages"
BATCH = 1000


def fill(emulator: Emulator, count: int, in_flight: int = 4) -> dict[str, Any]:
    """Create ``count`` messages like one send operator run; return its summary."""
    from airflow_provider_twin.client.messages import bulk_id_for

    run = str(uuid.uuid4())
    group_id = str(uuid.uuid5(uuid.NAMESPACE_URL, run))
    bulk_ids = [bulk_id_for("status_bench", run, "send", -1, k) for k in range(-(-count // BATCH))]
    login = {"email": emulator.connection["login"], "password": emulator.connection["password"]}
    token = httpx.post(f"{emulator.base_url}/iam/api/v1/auth/login", json=login, timeout=30).json()["token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def body(k: int) -> bytes:
        destinations = [
            {"phone": f"7{i:010d}", "variables": {"name": f"Client {i}"}}
            for i in range(k * BATCH, min(count, (k + 1) * BATCH))
        ]
        message = {
            "destinations": destinations,
            "channels": {"sms": {"text": "Hi {{name}}"}},
            "groupId": group_id,
        }
        return json.dumps({"bulkId": bulk_ids[k], "messages": [message]}).encode()

    async def main() -> None:
        async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers, timeout=120) as client:
            queue = list(range(len(bulk_ids) - 1, -1, -1))

            async def worker() -> None:
                while queue:
                    response = await client.post("/notify/api/v1/messages", content=body(queue.pop()))
                    response.raise_for_status()

            await asyncio.gather(*(worker() for _ in range(in_flight)))

    started = time.perf_counter()
    asyncio.run(main())
    assert emulator.counters()["destinations_created"] == count
    print(f"  {count:,} messages created in {time.perf_counter() - started:.1f} s", flush=True)
    return {
        "bulk_ids": bulk_ids,
        "group_id": group_id,
        "own_group": True,
        "total": count,
        "accepted": count,
        "skipped_chunks": 0,
    }


def requests_made(emulator: Emulator) -> int:
    return int(emulator.counters()["requests"].get(COUNT_ROUTE, 0))


def poke_once(emulator: Emulator, **targets: Any) -> dict[str, Any]:
    from airflow_provider_twin.sensors.messages import TwinMessageStatusSensor

    sensor = TwinMessageStatusSensor(task_id="wait", deferrable=False, **targets)
    sensor._client()  # log in first: the login is not part of a check
    before = requests_made(emulator)
    started = time.perf_counter()
    done = sensor.poke({"ti": SimpleNamespace(xcom_push=lambda **_: None)})
    seconds = time.perf_counter() - started
    sensor._close_client()
    return {"requests": requests_made(emulator) - before, "seconds": seconds, "done": bool(done)}


def trigger_once(emulator: Emulator, targets: dict[str, Any]) -> dict[str, Any]:
    """One poll of the trigger: a deadline already due makes it check once, then time out."""
    from airflow_provider_twin.client.messages import Criteria, Targets
    from airflow_provider_twin.triggers.messages import TwinMessageStatusTrigger

    trigger = TwinMessageStatusTrigger(
        targets=Targets.from_summary(targets).to_json(),
        criteria=Criteria().to_json(),
        deadline=time.time(),
        poll_interval=1,
    )

    async def first() -> dict[str, Any]:
        payload: dict[str, Any] = (await anext(trigger.run())).payload
        return payload

    before = requests_made(emulator)
    started = time.perf_counter()
    event = asyncio.run(first())
    seconds = time.perf_counter() - started
    return {"requests": requests_made(emulator) - before, "seconds": seconds, "status": event["status"]}


def longest_query(targets: Any) -> int:
    """Characters of the longest query string one check of ``targets`` sends."""
    from airflow_provider_twin.client.messages import Criteria
    from airflow_provider_twin.client.messages.status import check_requests

    return max(len(urlencode(request.call.params)) for request in check_requests(targets, Criteria()))


def measure(emulator: Emulator, count: int) -> dict[str, Any]:
    from airflow_provider_twin.client.messages import Targets

    emulator.reset()
    emulator.settings(delivery_seconds=3600)
    summary = fill(emulator, count)
    watched = Targets.from_summary(summary)
    result: dict[str, Any] = {
        "messages": count,
        "bulk_ids": len(summary["bulk_ids"]),
        "targets_watch": f"{len(watched.ids)} {watched.kind}",
        "query_chars": longest_query(watched),
        "bulk_ids_query_chars": longest_query(Targets.of(bulk_ids=summary["bulk_ids"])),
    }
    result["pending"] = {
        "poke_targets": poke_once(emulator, targets=summary),
        "poke_bulk_ids": poke_once(emulator, bulk_ids=summary["bulk_ids"], expected_total=count),
        "poke_group": poke_once(emulator, group_ids=summary["group_id"], expected_total=count),
        "trigger_targets": trigger_once(emulator, summary),
    }
    emulator.admin.post("/clock/advance", json={"seconds": 7200}).raise_for_status()
    result["final"] = {
        "poke_targets": poke_once(emulator, targets=summary),
        "poke_group": poke_once(emulator, group_ids=summary["group_id"], expected_total=count),
    }
    assert result["final"]["poke_targets"]["done"], result
    for state in ("pending", "final"):
        for name, check in result[state].items():
            print(
                f"  {count:>9,} {state:<7} {name:<16}: {check['requests']} requests, "
                f"{1000 * check['seconds']:.1f} ms",
                flush=True,
            )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10,10000,1000000")
    parser.add_argument("--output", help="JSON file (default benchmarks/results/status_checks.json)")
    args = parser.parse_args()
    facts = machine()
    emulator = Emulator("--delivery-seconds", "3600")
    os.environ["AIRFLOW_CONN_TWIN_DEFAULT"] = emulator.connection_json()
    try:
        results = [measure(emulator, int(size)) for size in args.sizes.split(",")]
    finally:
        emulator.close()

    def cell(check: dict[str, Any]) -> str:
        return f"{check['requests']} ({1000 * check['seconds']:.0f} ms)"

    rows = [
        [
            f"{r['messages']:,}",
            f"{r['bulk_ids']:,}",
            f"{r['targets_watch'].replace('_ids', '')} ({r['query_chars']:,} chars)",
            cell(r["pending"]["poke_targets"]),
            f"{cell(r['pending']['poke_bulk_ids'])}, {r['bulk_ids_query_chars']:,} chars",
            cell(r["pending"]["poke_group"]),
            cell(r["pending"]["trigger_targets"]),
            cell(r["final"]["poke_targets"]),
        ]
        for r in results
    ]
    print(
        table(
            [
                "messages",
                "chunks (bulk ids)",
                "targets=summary watches (longest query)",
                "poke, targets=summary",
                "poke, bulk_ids= (longest query)",
                "poke, group_ids",
                "trigger poll (incl. its login), targets=summary",
                "final check, targets=summary",
            ],
            rows,
            "Count requests per status check (time of the check)",
        )
    )
    write_results("status_checks", {"machine": facts, "results": results}, args.output)


if __name__ == "__main__":
    main()
