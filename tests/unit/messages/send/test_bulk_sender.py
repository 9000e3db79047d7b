"""BulkSender against the emulator: bounded concurrency, lazy chunks, exactly once, progress, pacing."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_twin.client import AsyncTwinClient, RetryPolicy
from airflow_provider_twin.client.messages import (
    BulkSender,
    BulkSendError,
    Chunk,
    SendProgress,
    SendReport,
    TokenBucket,
    bulk_id_for,
)
from tests.unit.messages.send.conftest import Twin
from tests.unit.messages.twin_wire import GET, POST


def chunks(count: int, built: list[int] | None = None, run: str = "r") -> Iterator[Chunk]:
    """``count`` chunks of one SMS to one phone each, recording when each is built."""
    for index in range(count):
        if built is not None:
            built.append(index)
        phone = {"phone": f"7999{index:07d}"}
        message: Any = {"destinations": [phone], "channels": {"sms": {"text": "x"}}}
        yield Chunk(index, bulk_id_for(run, index), [message], index, [phone])


def send(twin: Twin, chunk_source: Iterator[Chunk], total: int, **options: Any) -> SendReport:
    """Run a BulkSender over a fresh async client of the emulator."""

    async def main() -> SendReport:
        async with AsyncTwinClient(twin.config()) as client:
            options.setdefault("settle_seconds", 0.0)
            return await BulkSender(client, **options).run(chunk_source, SendReport(total=total))

    return asyncio.run(main())


# -- concurrency and memory ------------------------------------------------------------------------
def test_max_in_flight_bounds_concurrency_and_chunks_are_built_only_as_slots_free_up(twin: Twin) -> None:
    """At most max_in_flight chunks (plus the one being built) exist at once: memory stays flat."""
    twin.fault("POST", "latency", latency_ms=10)
    built: list[int] = []
    done: list[int] = []
    peak = 0

    def progress(snapshot: SendProgress) -> None:
        nonlocal peak
        done.append(snapshot.chunks_done)
        peak = max(peak, len(built) - snapshot.chunks_done)

    report = send(twin, chunks(40, built), 40, max_in_flight=3, progress=progress, progress_interval=0)
    assert report.chunks_done == report.accepted == 40
    assert twin.wire.max_in_flight == 3
    assert peak <= 4
    assert done[-1] == 40


def test_a_failure_stops_new_chunks_and_keeps_the_report(twin: Twin) -> None:
    def fail_after_the_first(snapshot: SendProgress) -> None:
        if not twin.admin.faults():
            twin.fault("POST", status=400, body={"error": "bad"})

    with pytest.raises(BulkSendError) as raised:
        send(twin, chunks(50), 50, max_in_flight=1, progress=fail_after_the_first, progress_interval=0)
    assert raised.value.report.chunks_done == 1
    assert raised.value.report.bulk_ids == [bulk_id_for("r", 0), bulk_id_for("r", 1)]
    assert twin.requests[POST] == 2
    assert "HTTP 400" in str(raised.value)


# -- exactly once ----------------------------------------------------------------------------------
def test_check_existing_skips_chunks_twin_holds(twin: Twin) -> None:
    send(twin, chunks(2), 2)  # an earlier try sent chunks 0 and 1
    report = send(twin, chunks(5), 5, check_existing=True)
    assert (report.skipped_chunks, report.skipped, report.accepted) == (2, 2, 3)
    assert twin.requests[GET] == 5  # one check per chunk
    assert twin.counter("duplicate_pairs") == 0


def test_lost_answer_of_a_created_chunk_is_not_resent(twin: Twin) -> None:
    twin.fault("POST", "drop", times=1)
    report = send(twin, chunks(3), 3, max_in_flight=1)
    assert (report.accepted, report.skipped_chunks) == (2, 1)
    assert (twin.requests[POST], twin.requests[GET]) == (3, 1)
    assert twin.counter("duplicate_pairs") == 0


def test_lost_answer_of_a_chunk_twin_never_created_is_sent_again(twin: Twin) -> None:
    twin.fault("POST", status=503, times=1)
    report = send(twin, chunks(3), 3, max_in_flight=1)
    assert (report.accepted, report.skipped_chunks) == (3, 0)
    assert (twin.requests[POST], twin.requests[GET]) == (4, 1)
    assert twin.counter("destinations_created") == 3


def test_a_chunk_twin_refuses_as_existing_is_skipped(twin: Twin) -> None:
    twin.fault("POST", status=409, body={"error": "bulkId already exists"}, times=1)
    report = send(twin, chunks(1), 1)
    assert (report.accepted, report.skipped_chunks) == (0, 1)


def test_engine_retry_policy_paces_resends(twin: Twin) -> None:
    client = AsyncTwinClient(dataclasses.replace(twin.config(), retry=RetryPolicy(max_attempts=2)))
    try:
        assert BulkSender(client).retry_policy.max_attempts == 2
        assert BulkSender(client).budget.pacing == client.engine.config.retry
    finally:
        asyncio.run(client.aclose())
    with pytest.raises(ValueError, match="max_in_flight"):
        BulkSender(client, max_in_flight=0)


# -- progress and pacing ---------------------------------------------------------------------------
def test_progress_is_reported_at_its_interval_and_at_the_end(twin: Twin) -> None:
    seen: list[SendProgress] = []
    send(twin, chunks(4), 4, progress=seen.append, progress_interval=3600)
    assert [(p.done, p.total, p.chunks_done) for p in seen] == [(4, 4, 4)], "only the final one"
    seen.clear()
    send(twin, chunks(4, run="again"), 4, max_in_flight=1, progress=seen.append, progress_interval=0)
    assert [p.chunks_done for p in seen] == [1, 2, 3, 4, 4]


def test_rate_limit_spaces_every_request(twin: Twin) -> None:
    send(twin, chunks(6), 6, max_in_flight=6, max_requests_per_second=25, check_existing=True)
    times = sorted(twin.wire.times[GET] + twin.wire.times[POST])
    assert len(times) == 12
    assert times[-1] - times[0] >= 11 / 25 - 0.02


def test_token_bucket_allows_a_burst_then_paces() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=50, burst=3, clock=lambda: now[0])
    assert [bucket.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, pytest.approx(0.02), pytest.approx(0.04)]
    now[0] = 1.0  # idle: the bucket refills up to its burst
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(0.02)]
    with pytest.raises(ValueError, match="rate must be positive"):
        TokenBucket(0)


def test_token_bucket_paces_a_procedures_requests_and_passes_errors_through() -> None:
    from airflow_provider_twin.client import TwinServerError, notify
    from airflow_provider_twin.client.core.flows import Sleep

    def procedure() -> Any:
        first = yield notify.count_messages(bulk_ids=["b"])
        try:
            yield notify.count_messages(bulk_ids=["c"])
        except TwinServerError:
            return first, "handled"
        return first, "not thrown"

    paced: Any = TokenBucket(rate=10, clock=lambda: 0.0).pace(procedure())
    steps: list[Any] = [paced.send(None)]
    steps.append(paced.send(7))
    steps.append(paced.send(None))  # the pause done
    with pytest.raises(StopIteration) as stop:
        paced.throw(TwinServerError("HTTP 500", status=500, error="boom"))
    assert [type(step).__name__ for step in steps] == ["ApiCall", "Sleep", "ApiCall"]
    assert steps[1] == Sleep(pytest.approx(0.1))
    assert stop.value.value == (7, "handled")
