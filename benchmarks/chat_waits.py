"""Many concurrent chat-session waits in one triggerer-like process, against the TWIN emulator.

For each N (default 10, 100, 1,000) the benchmark starts N chat sessions, runs N
``TwinChatSessionEventTrigger`` s concurrently in one event loop of this process (as a triggerer
does), waits until every trigger has joined its session and made its REST check, then has the
emulator close the sessions at random moments over a few seconds. It reports:

* **sockets**: websocket connections the emulator saw opened (target: 1 per TWIN connection id);
* **logins**: IAM logins (one shared REST client per connection id);
* **RSS growth**: resident memory of this process while all N wait, above the idle process
  (target at N = 1,000: < 50 MB);
* **latency**: from the emulator publishing ``sessionClosed`` to the trigger yielding its
  ``TriggerEvent``, p50/p99/max (target at N = 1,000: p99 < 100 ms);
* **REST calls** made by the triggers while waiting.

Then, for contrast, the same waits done by polling REST every ``--poll-interval`` seconds
(default 60, like a poke sensor with ``poke_interval=60``): latency from the session's
``closedAt`` to the poll that saw it, and REST calls per hour per wait.

The emulator runs as a separate process, so the server does not share this interpreter.

Usage::

    python benchmarks/chat_waits.py                      # N = 10, 100, 1000, polling contrast at 60 s
    python benchmarks/chat_waits.py --sizes 1000 --skip-polling
    python benchmarks/chat_waits.py --poll-interval 5 --poll-sessions 200   # a quick contrast
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import time
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from bench_harness import Emulator, rss_kib

CHAT_ID = "5f0c7a1e-3b2d-4c8e-9a61-0d2e4b6f8a10"
SESSION_ROUTES = ("GET /chat/api/v1/sessions/{sessionId}", "GET /chat/api/v1/sessions")


def rest_calls(counters: dict[str, Any]) -> int:
    """Session reads (single and list) the emulator served."""
    return sum(int(counters["requests"].get(route, 0)) for route in SESSION_ROUTES)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


class ChatEmulator(Emulator):
    """The emulator in its child process, plus the chat calls this benchmark makes."""

    def __init__(self) -> None:
        import httpx

        super().__init__()
        self.http = httpx.Client(base_url=self.base_url, timeout=60)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One admin API call (``path`` under ``/_emulator``); its decoded answer."""
        response = self.admin.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    def start_sessions(self, count: int) -> list[str]:
        return [
            self.http.post(f"/chat/api/v1/chats/{CHAT_ID}/sessions", json={}).json()["id"]
            for _ in range(count)
        ]

    def realtime_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.call("GET", "/centrifugo")["stats"]
        return stats

    def close(self) -> None:
        if hasattr(self, "http"):
            self.http.close()
        super().close()


async def _in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


async def trigger_round(
    emulator: ChatEmulator, count: int, spread: float, quiet: bool = False
) -> dict[str, Any]:
    """``count`` triggers waiting concurrently; the emulator closes their sessions over ``spread`` s."""
    from airflow_provider_twin.triggers.chat import TwinChatSessionEventTrigger, shared_chat_socket
    from airflow_provider_twin.triggers.connections import connections_in_use

    await _in_thread(emulator.call, "POST", "/reset")
    sessions = await _in_thread(emulator.start_sessions, count)
    gc.collect()
    idle_rss = rss_kib() / 1024
    received: dict[str, float] = {}
    results: dict[str, dict[str, Any]] = {}

    async def wait(session_id: str) -> None:
        trigger = TwinChatSessionEventTrigger(session_id=session_id, deadline=time.time() + 600)
        async for event in trigger.run():
            received[session_id] = time.time()
            results[session_id] = event.payload
            return

    tasks = [asyncio.ensure_future(wait(session_id)) for session_id in sessions]
    started = time.monotonic()
    # Ready: every session is joined on the socket and the REST checks after the joins are done.
    calm = 0
    while calm < 3:
        await asyncio.sleep(0.05)
        shared = shared_chat_socket("twin_default")
        ready = shared is not None and shared.hub.stats.joins >= count and not shared.checker.busy
        calm = calm + 1 if ready else 0
        if time.monotonic() - started > 120:
            raise RuntimeError(f"the {count} waits did not get ready within 120 s")
    ready_seconds = time.monotonic() - started - 0.15
    gc.collect()
    waiting_rss = rss_kib() / 1024
    rest_before = rest_calls(await _in_thread(emulator.counters))
    assert shared is not None
    checks = shared.checker.calls

    rng = random.Random(count)
    for session_id in sessions:
        body = {"after_seconds": rng.uniform(0.1, spread), "rating_required": True}
        await _in_thread(emulator.call, "POST", f"/sessions/{session_id}/close", json=body)
    await asyncio.wait_for(asyncio.gather(*tasks), 120)

    log = await _in_thread(
        emulator.call,
        "GET",
        "/centrifugo/publications",
        params={"event": "sessionClosed", "limit": count},
    )
    published = {item["session_id"]: item["published_at"] for item in log["items"]}
    latencies = [(received[s] - published[s]) * 1000 for s in sessions]
    stats = await _in_thread(emulator.realtime_stats)
    counters = await _in_thread(emulator.counters)
    sources = {results[s]["source"] for s in sessions}
    statuses = {results[s]["status"] for s in sessions}
    assert statuses == {"closed"}, statuses
    assert connections_in_use() == [], "the shared connection should be closed after the last wait"
    row = {
        "n": count,
        "sockets": stats["connections_opened"],
        "logins": counters["logins"],
        "rss_growth_mb": waiting_rss - idle_rss,
        "ready_s": ready_seconds,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
        "rest_checks": checks,
        "rest_while_waiting": rest_calls(counters) - rest_before,
        "sources": sorted(sources),
    }
    if not quiet:
        print(
            f"{count:>6} {row['sockets']:>8} {row['logins']:>7} {row['rss_growth_mb']:>10.1f} "
            f"{row['ready_s']:>8.2f} {row['rest_checks']:>7} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
            f"{row['max_ms']:>8.1f} {row['rest_while_waiting']:>10} {','.join(row['sources']):>10}",
            flush=True,
        )
    return row


async def polling_round(emulator: ChatEmulator, count: int, interval: float) -> dict[str, Any]:
    """``count`` waits that poll ``GET /sessions/{id}`` every ``interval`` seconds."""
    import httpx

    from airflow_provider_twin.client import AsyncTwinClient, chat
    from airflow_provider_twin.hooks.connection import client_config

    await _in_thread(emulator.call, "POST", "/reset")
    sessions = await _in_thread(emulator.start_sessions, count)
    conn = emulator.connection
    config = client_config(
        SimpleNamespace(
            conn_id="bench", login=conn["login"], password=conn["password"], extra_dejson=conn["extra"]
        )
    )
    seen: dict[str, tuple[float, str]] = {}
    polls = 0
    rng = random.Random(count)
    async with AsyncTwinClient(config) as client:

        async def poll(session_id: str) -> None:
            nonlocal polls
            await asyncio.sleep(rng.uniform(0, interval))  # sensors do not start in lockstep
            while True:
                info = await client.send(chat.get_session(session_id))
                polls += 1
                if info.get("status") == "CLOSED":
                    seen[session_id] = (time.time(), str(info.get("closedAt")))
                    return
                await asyncio.sleep(interval)

        tasks = [asyncio.ensure_future(poll(session_id)) for session_id in sessions]
        started = time.time()
        async with httpx.AsyncClient(base_url=f"{emulator.base_url}/_emulator", timeout=60) as admin:
            for session_id in sessions:
                closing = await admin.post(
                    f"/sessions/{session_id}/close", json={"after_seconds": rng.uniform(0.1, interval)}
                )
                closing.raise_for_status()
        await asyncio.gather(*tasks)
        elapsed = time.time() - started
    latencies = [(at - datetime.fromisoformat(closed).timestamp()) * 1000 for at, closed in seen.values()]
    return {
        "n": count,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
        "polls": polls,
        "polls_per_hour_per_wait": 3600 / interval,
        "elapsed_s": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10,100,1000", help="comma-separated N (default 10,100,1000)")
    parser.add_argument("--spread", type=float, default=3.0, help="closes happen over this many seconds")
    parser.add_argument("--poll-interval", type=float, default=60.0, help="polling contrast: seconds")
    parser.add_argument("--poll-sessions", type=int, default=1000, help="polling contrast: how many waits")
    parser.add_argument("--skip-polling", action="store_true")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]

    emulator = ChatEmulator()
    os.environ["AIRFLOW_CONN_TWIN_DEFAULT"] = json.dumps(emulator.connection)
    rows: list[dict[str, Any]] = []
    try:

        async def run_all() -> None:
            await trigger_round(emulator, 5, 0.5, quiet=True)  # warm-up: imports, first login
            print(
                f"{'N':>6} {'sockets':>8} {'logins':>7} {'RSS +MB':>10} {'ready s':>8} {'REST':>7} "
                f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'REST wait':>10} {'via':>10}"
            )
            for size in sizes:
                rows.append(await trigger_round(emulator, size, args.spread))

        asyncio.run(run_all())
        polling: dict[str, Any] | None = None
        if not args.skip_polling:
            print(
                f"\nContrast: {args.poll_sessions} waits polling REST every {args.poll_interval:g} s "
                f"(closes spread over one interval; takes about {2 * args.poll_interval:.0f} s)..."
            )
            polling = asyncio.run(polling_round(emulator, args.poll_sessions, args.poll_interval))
            print(
                f"polling: p50 {polling['p50_ms'] / 1000:.1f} s, p99 {polling['p99_ms'] / 1000:.1f} s, "
                f"max {polling['max_ms'] / 1000:.1f} s; {polling['polls']} REST calls "
                f"({polling['polls_per_hour_per_wait']:.0f} per wait per hour, "
                f"{polling['polls_per_hour_per_wait'] * polling['n']:.0f}/h for all); sockets 0"
            )
        biggest = rows[-1] if rows else None
        if biggest is not None and biggest["n"] >= 1000:
            ok = biggest["sockets"] == 1 and biggest["rss_growth_mb"] < 50 and biggest["p99_ms"] < 100
            verdict = "met" if ok else "NOT met"
            print(f"\nTargets at N = {biggest['n']}: one socket, < 50 MB, p99 < 100 ms: {verdict}")
        if args.json:
            print(json.dumps({"triggers": rows, "polling": polling}, indent=2))
    finally:
        emulator.close()


if __name__ == "__main__":
    main()
