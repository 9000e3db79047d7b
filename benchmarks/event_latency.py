"""Event in TWIN -> DAG run queued, through a real Airflow, for the three event sources.

Airflow's api-server, scheduler, dag-processor and triggerer run as separate processes on
loopback (SQLite; the event tests' stack, ``tests/integration/events/event_stack.py``) with three
DAGs, each with one ``EmptyOperator`` (the scheduler finishes it without a worker, so runs cost
nothing but scheduling), scheduled on one asset each:

* **websocket**: ``TwinChatEventTrigger`` on session closes. The sessions are started first and
  the watcher joins them (it learns open sessions from its REST poll); then they are closed one
  by one and the close reaches it over the websocket;
* **REST cursor**: ``TwinMessageEventTrigger`` on DELIVERED viber messages, polling every
  ``--poll-interval`` seconds (default 5);
* **webhook**: TWIN POSTs each SMS message's status to the asset's ``callbackUrl``, the
  receiver on Airflow's API server writes the asset event.

For each source ``--events`` TWIN events (default 200) are made ``--rate`` per second apart
(default 4) with the emulator's admin shortcuts, which answer each event's time on TWIN's clock
(the close, the final status). Per event: TWIN's time -> Airflow wrote the asset event ->
the run that consumed it was queued (``queued_at``). p50, p99 and max of both, per source.

Then the alternative users have today, a scheduled DAG with a sensor, costed from the poll
model (see :func:`sensor_cost`) with the slot time of one task start measured here: the
duration of a trivial ``PythonOperator`` run by this Airflow.

The emulator runs in this process (the Airflow components, which do the work measured, do not).
Usage::

    python benchmarks/event_latency.py                       # 200 events per source, 4/s
    python benchmarks/event_latency.py --events 50 --rate 5 --sources rest,webhook
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the event tests' Airflow stack

from bench_harness import machine, table, write_results  # noqa: E402

from airflow_provider_twin.emulator import EmulatorSettings, TwinEmulator  # noqa: E402
from airflow_provider_twin.webhooks.callback_urls import callback_url  # noqa: E402
from tests.integration.events.event_stack import EventStack, payload  # noqa: E402

CHAT_ID = "9a7c1e52-4b3d-4f6e-8a21-3c5d7e9f0b14"
SOURCES = ("websocket", "rest", "webhook")
ASSETS = {"websocket": "bench_chat_closed", "rest": "bench_rest_delivered", "webhook": "bench_webhook"}
DAG_IDS = {"websocket": "bench_ws", "rest": "bench_rest", "webhook": "bench_webhook", "poke": "bench_poke"}
#: The chat watcher's REST poll: only how it learns open sessions here (closes come over the socket).
CHAT_POLL_SECONDS = 10.0

DAG_FILE = '''
"""DAGs of benchmarks/event_latency.py (written by it into a throw-away DAGs folder)."""

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, AssetWatcher

from airflow_provider_twin.triggers import TwinChatEventTrigger, TwinMessageEventTrigger

CHAT = Asset("bench_chat_closed", watchers=[AssetWatcher(name="bench_chat", trigger=TwinChatEventTrigger(
    chat_id="{chat_id}", events=("session_closed",), poll_interval={chat_poll}, cursor_name="bench_chat"))])
REST = Asset("bench_rest_delivered", watchers=[AssetWatcher(name="bench_rest",
    trigger=TwinMessageEventTrigger(statuses=["DELIVERED"], channels=["viber"], created_within_seconds=3600,
    poll_interval={poll}, cursor_name="bench_rest"))])
WEBHOOK = Asset("bench_webhook")
START = pendulum.datetime(2026, 1, 1, tz="UTC")

for dag_id, asset in (("bench_ws", CHAT), ("bench_rest", REST), ("bench_webhook", WEBHOOK)):
    with DAG(dag_id, schedule=[asset], start_date=START, catchup=False, is_paused_upon_creation=False,
             max_active_runs=1000):
        EmptyOperator(task_id="received")

with DAG("bench_poke", schedule=None, start_date=START, catchup=False, is_paused_upon_creation=False):
    PythonOperator(task_id="poke", python_callable=lambda: False)
'''


def epoch(value: str | None) -> float | None:
    """Epoch seconds of Airflow's ISO time (None stays None)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p99 and max (seconds), and how many values."""
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50": statistics.median(ordered), "p99": p99, "max": ordered[-1]}


def make_events(
    stack: EventStack, twin: TwinEmulator, source: str, count: int, rate: float
) -> dict[str, float]:
    """Make ``count`` TWIN events of ``source``, ``rate`` per second; their key -> TWIN's time."""
    admin = twin.admin
    made: dict[str, float] = {}
    sessions: list[str] = []
    if source == "websocket":
        sessions = [item["id"] for item in admin.start_sessions(count, chat_id=CHAT_ID)]

        def joined() -> bool:
            listened = {s for c in admin.realtime()["connections"] for s in c["sessions"]}
            return set(sessions) <= listened

        stack.wait_for(f"the chat watcher to join {count} sessions", joined, time.monotonic() + 180)
    url = callback_url(ASSETS["webhook"], base_url=stack.base_url, secret=stack.webhook_secret)
    started = time.monotonic()
    for number in range(count):
        if source == "websocket":
            [closed] = admin.close_sessions(session_ids=[sessions[number]], rating_required=True, rating=3)
            made[closed["id"]] = float(closed["closed_ts"])
        elif source == "rest":
            batch = admin.make_messages(1, status="DELIVERED", channel="viber", delivery_seconds=0.2)
            made[batch["ids"][0]] = float(batch["final_ts"])
        else:
            batch = admin.make_messages(
                1, status="DELIVERED", channel="sms", delivery_seconds=0.2, callback_url=url
            )
            made[batch["ids"][0]] = float(batch["final_ts"])
        time.sleep(max(0.0, started + (number + 1) / rate - time.monotonic()))
    return made


def event_key(event: dict[str, Any]) -> str | None:
    """What an asset event is about: the session (closes) or the message (DELIVERED statuses)."""
    found = payload(event)
    if found.get("type") == "chat.session_closed":
        return str(found["sessionId"])
    if found.get("type") == "message.status" and found.get("status") == "DELIVERED":
        return str(found["id"])
    return None


def measure(stack: EventStack, source: str, made: dict[str, float], timeout: float) -> dict[str, Any]:
    """Wait for the asset events of ``made`` and the runs after them; the latencies per event.

    An event's run is the first run of the DAG queued after Airflow wrote its asset event: the
    scheduler's reaction to it. That run consumes the event unless another event of the asset
    was already waiting (Airflow queues one run per asset and DAG and gives it the events up to
    the first waiting one; the later ones go to the next run, made when the next event comes).
    How many events the reacting run consumed is reported too.
    """
    dag_id = DAG_IDS[source]

    def arrived() -> list[dict[str, Any]] | None:
        events = [e for e in stack.asset_events(ASSETS[source]) if event_key(e) in made]
        return events if {event_key(e) for e in events} >= set(made) else None

    def settled() -> list[dict[str, Any]] | None:
        # Nothing queued: Airflow's asset event listing fails (500) while a consumed run has not started.
        runs = stack.dag_runs(dag_id)
        return runs if runs and all(run["state"] != "queued" for run in runs) else None

    stack.wait_for(f"{len(made)} {source} asset events", arrived, time.monotonic() + timeout, 2)
    time.sleep(3)  # the scheduler's loop makes the last run
    runs = stack.wait_for(f"the {dag_id} runs to start", settled, time.monotonic() + timeout, 2)
    events = stack.wait_for(f"{len(made)} {source} asset events", arrived, time.monotonic() + timeout, 2)
    queued = sorted(float(epoch(run["queued_at"]) or 0) for run in runs)
    first_written: dict[str, dict[str, Any]] = {}
    for event in events:
        key = event_key(event)
        if key is not None:
            first_written.setdefault(key, event)
    to_asset: list[float] = []
    to_queued: list[float] = []
    for key, event in first_written.items():
        written = float(epoch(event["timestamp"]) or 0)
        to_asset.append(written - made[key])
        reacting = [at for at in queued if at >= written]
        if reacting:
            to_queued.append(reacting[0] - made[key])
    return {
        "events": len(made),
        "asset_events": len(events),
        "runs": len(runs),
        "consumed_by_a_run": sum(1 for e in first_written.values() if e.get("created_dagruns")),
        "to_asset_event": percentiles(to_asset),
        "to_run_queued": percentiles(to_queued),
    }


def poke_slot_seconds(stack: EventStack, runs: int) -> dict[str, float]:
    """What one task start costs here: a trivial PythonOperator's run (median seconds).

    ``execution``: the task's own run, start to end (Airflow's ``duration``). ``slot``: from
    the executor queueing it to its end, which includes starting the task's process: what a
    worker slot is held for, the figure a reschedule-mode poke costs.
    """
    execution: list[float] = []
    slot: list[float] = []
    for number in range(runs):
        run_id = f"poke_{number}_{int(time.time())}"
        stack.api(
            "POST",
            f"/api/v2/dags/{DAG_IDS['poke']}/dagRuns",
            json={"dag_run_id": run_id, "logical_date": None},
        )
        stack.wait_for_run(DAG_IDS["poke"], run_id, timeout=300)
        path = f"/api/v2/dags/{DAG_IDS['poke']}/dagRuns/{run_id}/taskInstances/poke"
        ti = stack.api("GET", path)
        execution.append(float(ti["duration"] or 0.0))
        slot.append(float(epoch(ti["end_date"]) or 0) - float(epoch(ti["queued_when"]) or 0))
    return {"runs": runs, "execution": statistics.median(execution), "slot": statistics.median(slot)}


def sensor_cost(poke_seconds: float, poke_interval: float, events_per_day: float) -> list[list[Any]]:
    """Worker slot-seconds per event of a scheduled DAG + sensor watching TWIN round the clock.

    The poll model: to react to an event within about ``poke_interval`` seconds, a sensor must
    be waiting at every moment (a DAG scheduled daily whose sensor waits the day). In ``poke``
    mode it holds a worker slot all the time: 86,400 slot-seconds a day, whatever happens. In
    ``reschedule`` mode it holds one only while a poke runs, ``poke_seconds`` (one task start,
    measured) every ``poke_interval``. A deferrable sensor holds no worker slot while it waits,
    but one per event (its task resumes to finish) - as a watcher's DAG run does only when
    something happened. Per event = per day / ``events_per_day``.
    """
    day = 86_400.0
    poke = day
    reschedule = day / poke_interval * poke_seconds
    return [
        ["sensor, poke mode", f"{poke:,.0f}", f"{poke / events_per_day:,.1f}"],
        [
            f"sensor, reschedule mode ({poke_interval:.0f} s)",
            f"{reschedule:,.0f}",
            f"{reschedule / events_per_day:,.1f}",
        ],
        ["deferrable sensor / watcher", "0 while waiting", f"{poke_seconds:.1f} (its run's tasks)"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200, help="TWIN events per source (default 200)")
    parser.add_argument("--rate", type=float, default=4.0, help="events per second (default 4)")
    parser.add_argument("--poll-interval", type=float, default=5.0, help="REST watcher's poll (s, default 5)")
    parser.add_argument(
        "--sources", default=",".join(SOURCES), help="comma-separated, of " + ", ".join(SOURCES)
    )
    parser.add_argument("--poke-runs", type=int, default=5, help="trivial task runs timed (default 5)")
    parser.add_argument("--sensor-poke-interval", type=float, default=60.0, help="sensor model's poke (s)")
    parser.add_argument("--events-per-day", type=float, default=100.0, help="sensor model's event rate")
    parser.add_argument("--output", help="results JSON (default benchmarks/results/event_latency.json)")
    args = parser.parse_args()
    sources = [s for s in args.sources.split(",") if s]
    facts = machine()
    results: dict[str, Any] = {"machine": facts, "settings": vars(args), "sources": {}}
    workdir = Path(tempfile.mkdtemp(prefix="twin-bench-events-"))
    dags = workdir / "dags"
    dags.mkdir()
    (dags / "bench_event_dags.py").write_text(
        textwrap.dedent(DAG_FILE).format(
            chat_id=CHAT_ID, chat_poll=CHAT_POLL_SECONDS, poll=args.poll_interval
        )
    )
    print(f"Event latency on {facts['cpu']} ({facts['cores']} cores), Airflow {facts['airflow']}", flush=True)
    settings = EmulatorSettings(delivery_seconds=0.2, chats=[CHAT_ID])
    with TwinEmulator(settings) as twin:
        stack = EventStack(workdir, twin, sorted(DAG_IDS.values()), dags_folder=dags)
        with stack:
            print(
                f"  Airflow up ({workdir}); making {args.events} events per source, {args.rate}/s", flush=True
            )
            for source in sources:
                made = make_events(stack, twin, source, args.events, args.rate)
                timeout = 120 + args.events / args.rate + 3 * args.poll_interval
                results["sources"][source] = measure(stack, source, made, timeout)
                print(f"  {source}: done", flush=True)
            results["poke_task"] = poke_slot_seconds(stack, args.poke_runs)
    rows = []
    for source, found in results["sources"].items():
        asset, queued = found["to_asset_event"], found["to_run_queued"]
        target = "< 2 s" if source != "rest" else f"< {args.poll_interval + 2:.0f} s (poll + 2 s)"
        rows.append(
            [
                source,
                found["events"],
                found["runs"],
                f"{asset['p50']:.2f} / {asset['p99']:.2f}",
                f"{found['consumed_by_a_run']}",
                f"{queued['p50']:.2f} / {queued['p99']:.2f} / {queued['max']:.2f}",
                target,
            ]
        )
    headers = [
        "source",
        "events",
        "runs",
        "-> asset event p50 / p99 (s)",
        "in a run's events",
        "-> run queued p50 / p99 / max (s)",
        "p99 target",
    ]
    print(table(headers, rows, f"TWIN event -> DAG run queued (REST poll every {args.poll_interval:g} s)"))
    poke = results["poke_task"]["slot"]
    cost = sensor_cost(poke, args.sensor_poke_interval, args.events_per_day)
    results["sensor_model"] = {"poke_task_seconds": poke, "rows": cost}
    title = (
        f"Worker slot-seconds, round-the-clock watching, {args.events_per_day:g} events a day (one task "
        f"start = {poke:.1f} s from queued to end here, {results['poke_task']['execution']:.1f} s running)"
    )
    print(table(["alternative", "slot-seconds per day", "per event"], cost, title))
    write_results("event_latency", results, args.output)


if __name__ == "__main__":
    main()
