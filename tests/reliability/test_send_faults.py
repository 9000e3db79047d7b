"""Sends under randomized faults and task retries: never a duplicate, never a missing message.

Each seed draws a fault plan for the emulator (429 storms with ``Retry-After``, 5xx answers,
latency, requests accepted and then dropped, tokens expiring mid-send), a send shape (number
of recipients, batch size, concurrency, client retry budget) and crashes of the task right
after TWIN accepted a chunk. ``TwinSendMessagesOperator`` is then executed like Airflow runs a
task instance: after every failed try it is executed again with the same identity and the
next ``try_number``, until a try succeeds. Every run must end with each (bulkId, destination)
pair created exactly once: 0 duplicates, 0 missing.

The runs drive the operator directly (no scheduler), with tiny backoffs, small batches and
fault counts bounded by ``times``, so the 200+ runs take about a minute. Every assertion
names its seed; ``pytest tests/reliability/test_send_faults.py -k "seed_17"`` replays one.
"""

from __future__ import annotations

import functools
import json
import random
import re
import ssl
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.core.http import http_options
from airflow_provider_twin.client.core.retry import RetryPolicy
from airflow_provider_twin.client.messages import bulk_id_for

pytestmark = pytest.mark.integration

SEEDS = range(220)
MAX_TRIES = 25
MESSAGES_PATH = "/notify/api/v1/messages"
DAG_ID = "test_reliability_send_faults"


class SimulatedCrash(RuntimeError):
    """The task process died right after TWIN accepted a chunk (its answer never used)."""


@dataclass
class Plan:
    """Everything one seed decides; printed with every failure."""

    seed: int
    recipients: int
    batch_size: int
    max_in_flight: int
    max_retries: int
    faults: list[dict[str, Any]] = field(default_factory=list)
    crash_after_posts: list[int] = field(default_factory=list)
    expire_tokens_at_post: int | None = None

    def describe(self) -> str:
        return f"seed={self.seed} plan={json.dumps(self.__dict__, default=str)}"


def draw_plan(seed: int) -> Plan:
    rng = random.Random(seed)
    recipients = rng.randint(3, 40)
    plan = Plan(
        seed=seed,
        recipients=recipients,
        batch_size=rng.randint(1, 8),
        max_in_flight=rng.randint(1, 4),
        max_retries=rng.choice([0, 0, 1, 2, 4]),
    )
    chunks = -(-recipients // plan.batch_size)
    kinds = rng.sample(["storm", "server", "latency", "drop", "expired", "check"], rng.randint(1, 4))
    for kind in kinds:
        if kind == "storm":  # 429 with Retry-After: TWIN did nothing, the client waits and repeats
            plan.faults.append(
                {
                    "method": "POST",
                    "path": MESSAGES_PATH,
                    "kind": "status",
                    "status": 429,
                    "retry_after": rng.choice([0.01, 0.02, 0.05]),
                    "times": rng.randint(1, 6),
                    "probability": rng.choice([0.5, 1.0]),
                }
            )
        elif kind == "server":  # 5xx: TWIN may or may not have acted; the sender must check
            plan.faults.append(
                {
                    "method": "POST",
                    "path": MESSAGES_PATH,
                    "kind": "status",
                    "status": rng.choice([500, 502, 503]),
                    "times": rng.randint(1, 3),
                    "probability": rng.choice([0.3, 0.6, 1.0]),
                }
            )
        elif kind == "latency":
            plan.faults.append(
                {
                    "method": rng.choice(["POST", None]),
                    "path": MESSAGES_PATH,
                    "kind": "latency",
                    "latency_ms": rng.choice([5, 20, 50]),
                    "times": rng.randint(1, 6),
                }
            )
        elif kind == "drop":  # processed, then the connection breaks: the classic duplicate trap
            plan.faults.append(
                {
                    "method": "POST",
                    "path": MESSAGES_PATH,
                    "kind": "drop",
                    "times": rng.randint(1, 3),
                    "probability": rng.choice([0.5, 1.0]),
                }
            )
        elif kind == "expired" and rng.random() < 0.5:
            # Every token issued so far really expires mid-send: renew, repeat.
            plan.expire_tokens_at_post = rng.randint(1, chunks)
        elif kind == "expired":  # one answer says the token expired: renew, repeat once
            plan.faults.append(
                {
                    "method": "POST",
                    "path": MESSAGES_PATH,
                    "kind": "status",
                    "status": 401,
                    "body": {"error": "Token is expired."},
                    "times": 1,
                }
            )
        else:  # faults on the existence checks of retries and lost answers
            plan.faults.append(
                {
                    "method": "GET",
                    "path": MESSAGES_PATH,
                    "kind": rng.choice(["status", "drop"]),
                    "status": 503,
                    "times": rng.randint(1, 3),
                    "probability": 0.5,
                }
            )
    rng.shuffle(plan.faults)
    if rng.random() < 0.5:
        plan.crash_after_posts = sorted(
            rng.sample(range(1, chunks + 3), k=min(chunks + 2, rng.randint(1, 2)))
        )
    return plan


class Chaos:
    """Wraps ``AsyncTwinClient.send``: expires every token, or crashes the task, at chosen POSTs."""

    def __init__(self, plan: Plan, admin: Any) -> None:
        self.plan = plan
        self.admin = admin
        self.posts = 0
        self.crashes = 0
        self.original = AsyncTwinClient.send

    async def send(self, client: AsyncTwinClient, call: ApiCall[Any]) -> Any:
        if not (call.method == "POST" and call.path == "/messages"):
            return await self.original(client, call)
        self.posts += 1
        number = self.posts
        if number == self.plan.expire_tokens_at_post:
            self.admin.expire_tokens()
        result = await self.original(client, call)
        if number in self.plan.crash_after_posts:
            self.crashes += 1
            raise SimulatedCrash(f"simulated crash after POST #{number} was accepted")
        return result


def make_operator(plan: Plan, phones: list[str]) -> Any:
    from airflow.sdk import DAG

    from airflow_provider_twin.operators.messages import TwinSendMessagesOperator

    with DAG(DAG_ID, schedule=None):
        return TwinSendMessagesOperator(
            task_id="send",
            recipients=[{"phone": phone, "var_n": index} for index, phone in enumerate(phones)],
            channels={"sms": {"from": "Reliable"}},
            text="Hello",
            batch_size=plan.batch_size,
            max_in_flight=plan.max_in_flight,
            settle_seconds=0.005,
            progress_interval=3600,
        )


def context(run_id: str, try_number: int) -> dict[str, Any]:
    ti = SimpleNamespace(map_index=-1, try_number=try_number, xcom_push=lambda **_: None)
    return {"ti": ti, "dag_run": SimpleNamespace(run_id=run_id)}


def stored_pairs(admin: Any) -> Counter[tuple[str, str]]:
    """Every (bulkId, phone) the emulator holds, with how many times it holds it."""
    pairs: Counter[tuple[str, str]] = Counter()
    offset = 0
    while True:
        page = admin.messages(limit=1000, offset=offset)
        for item in page["items"]:
            pairs[(item["bulkId"], item["destination"]["phone"])] += 1
        offset += len(page["items"])
        if offset >= page["count"] or not page["items"]:
            return pairs


@pytest.fixture(autouse=True)
def forget_tokens_after_each_run() -> Iterator[None]:
    """Unmask the tokens of a run when it is over.

    Every login registers its token with Airflow's secrets masker, which recompiles one regular
    expression of every secret it holds on each registration: after hundreds of runs in one
    process that costs seconds per login. Each run's tokens are dropped once the run is over
    (the earlier secrets stay registered).
    """
    # airflow.sdk.log re-exports it from Airflow 3.3 only.
    from airflow.sdk._shared.secrets_masker import _secrets_masker

    masker = _secrets_masker()
    before = set(masker.patterns)
    yield
    if masker.patterns != before:
        masker.patterns = set(before)
        masker.replacer = re.compile("|".join(before)) if before else None


@pytest.fixture(scope="module")
def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


@pytest.fixture
def tiny_backoffs(monkeypatch: pytest.MonkeyPatch, tls_context: ssl.SSLContext) -> None:
    """Retries as configured, but waiting milliseconds instead of seconds.

    Every client of the module also shares one TLS context: the emulator speaks plain HTTP,
    and loading the CA bundle for each of the ~500 clients would cost half a minute.
    """
    fast = functools.partial(RetryPolicy, backoff_initial=0.005, backoff_max=0.02, max_elapsed=20.0)
    monkeypatch.setattr("airflow_provider_twin.hooks.connection.RetryPolicy", fast)

    def options(config: Any) -> dict[str, Any]:
        return {**http_options(config), "verify": tls_context}

    monkeypatch.setattr("airflow_provider_twin.client.core.async_client.http_options", options)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"seed_{seed}")
def test_no_duplicate_and_no_missing_message_under_faults(
    seed: int,
    twin_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    tiny_backoffs: None,
    request: pytest.FixtureRequest,
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    plan = draw_plan(seed)
    why = plan.describe()
    admin = twin_emulator.admin
    admin.update_settings(seed=seed, delivery_seconds=30)
    connection = twin_emulator.connection
    connection["extra"]["max_retries"] = plan.max_retries
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(connection))
    for fault in plan.faults:
        admin.add_fault(**fault)
    chaos = Chaos(plan, admin)

    async def send(client: AsyncTwinClient, call: ApiCall[Any]) -> Any:
        return await chaos.send(client, call)

    monkeypatch.setattr(AsyncTwinClient, "send", send)

    phones = [f"7999{seed:03d}{index:04d}" for index in range(plan.recipients)]
    op = make_operator(plan, phones)
    run_id = f"reliability__{seed}"
    summary: dict[str, Any] | None = None
    failures: list[str] = []
    for try_number in range(1, MAX_TRIES + 1):
        try:
            summary = op.execute(context(run_id, try_number))
        except AirflowFailException as exc:  # a failure Airflow would not retry: never expected here
            pytest.fail(f"{why}: try {try_number} failed for good: {exc}")
        except Exception as exc:  # noqa: BLE001 - a failed try: Airflow runs the task again
            failures.append(f"try {try_number}: {type(exc).__name__}: {str(exc)[:160]}")
            continue
        break
    assert summary is not None, f"{why}: no try succeeded in {MAX_TRIES}: {failures}"

    expected = {
        (bulk_id_for(DAG_ID, run_id, "send", -1, index // plan.batch_size), phone): 1
        for index, phone in enumerate(phones)
    }
    stored = stored_pairs(admin)
    duplicates = {pair: n for pair, n in stored.items() if n > 1}
    missing = [pair for pair in expected if pair not in stored]
    unexpected = [pair for pair in stored if pair not in expected]
    assert not duplicates, f"{why}: duplicated pairs {duplicates}; tries: {failures}"
    assert not missing, f"{why}: missing pairs {missing}; tries: {failures}"
    assert not unexpected, f"{why}: pairs nobody asked for {unexpected}"
    counters = admin.counters()
    assert counters["duplicate_pairs"] == 0, f"{why}: {counters}"
    assert counters["destinations_created"] == plan.recipients, f"{why}: {counters}"
    assert summary["total"] == plan.recipients, f"{why}: {summary}"
    assert summary["accepted"] + summary["rejected"] + summary["skipped"] == plan.recipients, (
        f"{why}: {summary}"
    )
    assert summary["rejected"] == 0, f"{why}: {summary}"
    assert len(summary["bulk_ids"]) == -(-plan.recipients // plan.batch_size), f"{why}: {summary}"
    assert chaos.crashes <= len(plan.crash_after_posts), why
    # What the run went through, for reports (``-o junit_family=legacy --junitxml=...``).
    request.node.user_properties.extend(
        [
            ("tries", len(failures) + 1),
            ("crashes", chaos.crashes),
            ("faults_applied", counters["faults_applied"]),
            ("dropped_responses", counters["dropped_responses"]),
            ("skipped_chunks", summary["skipped_chunks"]),
        ]
    )


def test_the_seeds_cover_every_fault_kind() -> None:
    """The seeded plans really mix every kind of trouble (a plan change cannot hollow them out)."""
    plans = [draw_plan(seed) for seed in SEEDS]
    kinds: Counter[str] = Counter()
    for plan in plans:
        for fault in plan.faults:
            kind = fault["kind"] if fault["kind"] != "status" else str(fault["status"])
            kinds[f"{fault['method']} {kind}"] += 1
    assert len(plans) >= 200
    assert kinds["POST 429"] >= 30, kinds
    assert kinds["POST drop"] >= 30, kinds
    assert kinds["POST 401"] >= 15, kinds
    assert sum(kinds[f"POST {status}"] for status in ("500", "502", "503")) >= 30, kinds
    assert sum(n for key, n in kinds.items() if key.endswith("latency")) >= 30, kinds
    assert sum(n for key, n in kinds.items() if key.startswith("GET")) >= 30, kinds
    assert sum(plan.expire_tokens_at_post is not None for plan in plans) >= 15
    assert sum(bool(plan.crash_after_posts) for plan in plans) >= 80
    assert sum(plan.max_retries == 0 for plan in plans) >= 60
    assert sum(plan.max_in_flight > 1 for plan in plans) >= 100
