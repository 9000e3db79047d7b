"""Send a campaign of any size to TWIN in chunks, concurrently, exactly once.

Chunks (:mod:`.chunks`) are sent by ``max_in_flight`` concurrent workers over one
:class:`~airflow_provider_twin.client.AsyncTwinClient`, optionally paced by a token bucket,
while the chunks are built lazily: memory holds a few chunks, never the whole campaign.

Exactly once: each chunk is created by the :mod:`.create_once` procedure under its
deterministic ``bulkId``. On a retry of the task (``check_existing``) a chunk TWIN already
holds is skipped; a POST whose answer was lost is checked, never blindly repeated. HTTP 429 and
"could not connect" mean TWIN did not act; the client retries those itself, and the same retry
policy paces the resends after a lost answer.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.core.flows import Finished, Procedure, Sleep, resume
from airflow_provider_twin.client.core.retry import RetryPolicy
from airflow_provider_twin.client.messages.chunks import Chunk
from airflow_provider_twin.client.messages.create_once import (
    DEFAULT_SETTLE_SECONDS,
    CreateOnceBudget,
    create_once,
)
from airflow_provider_twin.client.messages.send_report import ChunkResult, SendProgress, SendReport

log = logging.getLogger("airflow_provider_twin.client.messages.bulk")

T = TypeVar("T")

DEFAULT_MAX_IN_FLIGHT = 4


class TokenBucket:
    """Client-side rate limit: at most ``rate`` requests per second, ``burst`` at once.

    Each request reserves the next free slot, so concurrent senders queue up fairly and the
    wait is known at once (a pause step, the same in a sync or an async client).
    """

    def __init__(
        self, rate: float, burst: float = 1.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1.0, burst)
        self._tokens = self.capacity
        self._clock = clock
        self._stamp = clock()

    def reserve(self) -> float:
        """Take the next slot; the seconds to wait until it comes (0 when one is free now)."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def pace(self, procedure: Procedure[T]) -> Procedure[T]:
        """``procedure`` with each of its requests waiting for a slot first."""
        reply: Any = None
        error: BaseException | None = None
        while not isinstance(step := resume(procedure, reply, error), Finished):
            if isinstance(step, ApiCall):
                wait = self.reserve()
                if wait > 0:
                    yield Sleep(wait)
            reply, error = None, None
            try:
                reply = yield step
            except Exception as exc:  # noqa: BLE001 - handed to the procedure, which decides
                error = exc
        return step.value  # type: ignore[no-any-return]


class BulkSendError(Exception):
    """A send stopped before every chunk was sent; ``report`` tells what was sent.

    ``__cause__`` is the first error. Chunks already sent are safe: a retry of the same task
    skips them by their ``bulkId``.
    """

    def __init__(self, message: str, report: SendReport) -> None:
        super().__init__(message)
        self.report = report


class BulkSender:
    """Sends chunks with bounded concurrency, optional rate limit, and exactly-once retries.

    :param client: the async client (its retry policy also paces the resends of chunks whose
        answer was lost).
    :param max_in_flight: chunks in flight at once.
    :param max_requests_per_second: client-side limit of all requests (sends and checks).
    :param check_existing: ask TWIN whether each chunk's ``bulkId`` exists before sending it
        (on retries of a task; one GET per chunk).
    :param settle_seconds: minimum wait after a lost answer before checking whether the
        chunk exists.
    :param progress: called with a :class:`~.send_report.SendProgress` at most every
        ``progress_interval`` seconds, and once at the end.
    """

    def __init__(
        self,
        client: AsyncTwinClient,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        max_requests_per_second: float | None = None,
        check_existing: bool = False,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        progress: Callable[[SendProgress], None] | None = None,
        progress_interval: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.client = client
        self.max_in_flight = max_in_flight
        self.limiter = TokenBucket(max_requests_per_second) if max_requests_per_second else None
        self.budget = CreateOnceBudget.paced(
            client.engine.config.retry, settle_seconds, check_first=check_existing
        )
        self.progress = progress
        self.progress_interval = progress_interval
        self._rng = rng or random.Random()

    @property
    def retry_policy(self) -> RetryPolicy:
        """The connection's retry policy, reused to pace resends after lost answers."""
        return self.client.engine.config.retry

    async def send_chunk(self, chunk: Chunk) -> ChunkResult:
        """Send one chunk exactly once (see :mod:`.create_once`)."""
        procedure = create_once(chunk.messages, chunk.bulk_id, self.budget, rng=self._rng)
        if self.limiter is not None:
            procedure = self.limiter.pace(procedure)
        creation = await self.client.run(procedure)
        if creation.status == "sent":
            return ChunkResult(chunk, "sent", creation.items, attempts=creation.attempts)
        log.info("chunk %d (bulkId %s) is already in TWIN; skipped", chunk.index, chunk.bulk_id)
        return ChunkResult(chunk, "skipped", attempts=creation.attempts)

    async def run(self, chunks: Iterable[Chunk], report: SendReport) -> SendReport:
        """Send every chunk; fill ``report`` as chunks finish.

        Chunks are pulled from ``chunks`` only when a slot is free, so at most
        ``max_in_flight`` chunks (plus the one being built) are in memory. On the first
        failure no new chunk is started, chunks in flight finish, and :class:`BulkSendError`
        is raised from the failure.
        """
        slots = asyncio.Semaphore(self.max_in_flight)
        pending: set[asyncio.Future[None]] = set()
        failures: list[BaseException] = []
        started = time.monotonic()
        last_progress = started

        def report_progress(final: bool = False) -> None:
            nonlocal last_progress
            now = time.monotonic()
            if self.progress is not None and (final or now - last_progress >= self.progress_interval):
                last_progress = now
                self.progress(SendProgress(report.done, report.total, report.chunks_done, now - started))

        async def send(chunk: Chunk) -> None:
            try:
                result = await self.send_chunk(chunk)
            except Exception as exc:  # noqa: BLE001 - collected and re-raised below
                failures.append(exc)
                return
            finally:
                slots.release()
            report.add(result)
            report_progress()

        try:
            for chunk in chunks:
                await slots.acquire()
                if failures:
                    slots.release()
                    break
                report.bulk_ids.append(chunk.bulk_id)
                task = asyncio.ensure_future(send(chunk))
                pending.add(task)
                task.add_done_callback(pending.discard)
        except Exception as exc:  # noqa: BLE001 - building a chunk failed: stop like a send failure
            failures.append(exc)
        finally:
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        report_progress(final=True)
        if failures:
            first = failures[0]
            raise BulkSendError(
                f"the send stopped after {report.chunks_done} of {len(report.bulk_ids)} started chunk(s): "
                f"{first}",
                report,
            ) from first
        return report
