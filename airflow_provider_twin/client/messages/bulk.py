"""Send a campaign of any size to TWIN in chunks, concurrently, exactly once.

The recipients are cut into chunks of ``batch_size`` destinations; each chunk is one
``POST /messages`` carrying a deterministic ``bulkId`` (:func:`bulk_id_for`). Chunks are sent
by ``max_in_flight`` concurrent workers over one :class:`~.AsyncTwinClient`, optionally paced
by a token bucket, while a producer builds the next chunks lazily: memory holds a few chunks,
never the whole campaign.

Exactly once. The ``bulkId`` of chunk *k* is the same on every try of the same task, and
TWIN can be asked whether it exists (``GET /messages?bulkId=...``, one cheap counted request):

* on a retry (``check_existing``), a chunk whose ``bulkId`` exists is skipped;
* a POST whose answer was lost (connection broken after the request left, timeout, or a 5xx)
  is never blindly repeated: the engine does not retry it (the call is not marked
  idempotent), and :class:`BulkSender` first waits, then asks whether the ``bulkId`` exists,
  and only resends when it does not. HTTP 429 and "could not connect" mean TWIN did not act;
  the engine retries those itself.

ASSUMPTION (twin-api.md §3.2, not documented by TWIN): a batch is created atomically per
request: after a lost answer either all of the chunk's messages exist or none. A chunk is
therefore "sent" as soon as one message with its ``bulkId`` exists.

ASSUMPTION: a request of 1000 destinations is accepted (TWIN documents no per-request limit;
1000 is its page size limit, twin-api.md §7.11), hence the default ``batch_size``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import operator
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.core.errors import TwinConflictError, TwinServerError, TwinTransportError
from airflow_provider_twin.client.core.retry import RetryPolicy
from airflow_provider_twin.client.messages import api as notify
from airflow_provider_twin.client.messages.compose import Campaign, RecipientColumns
from airflow_provider_twin.client.messages.models import BatchItem, Destination, MessageData

log = logging.getLogger("airflow_provider_twin.client.messages.bulk")

#: Namespace of the provider's deterministic bulk ids. Never change it: a changed namespace
#: would give a retried send new ids, and TWIN would send the campaign twice.
BULK_ID_NAMESPACE = uuid.UUID("7cd85aa5-62b6-5caa-a343-bc96e9632609")

DEFAULT_BATCH_SIZE = 1000
DEFAULT_MAX_IN_FLIGHT = 4
#: Seconds to wait after a lost answer before asking TWIN whether the chunk exists, so a
#: request still being processed has time to finish.
DEFAULT_SETTLE_SECONDS = 1.0


def bulk_id_for(*parts: object) -> str:
    """A deterministic ``bulkId``: UUIDv5 of the parts joined with ``|``.

    The send operator uses ``(dag_id, run_id, task_id, map_index, chunk_index)``: the same on
    every try of a task instance, different for every chunk, run and mapped instance.
    """
    return str(uuid.uuid5(BULK_ID_NAMESPACE, "|".join(str(part) for part in parts)))


@dataclass
class Chunk:
    """One request's worth of destinations.

    :param index: position of the chunk in the send (0-based), part of its ``bulkId``.
    :param first_index: index of its first destination among all recipients of the send.
    :param destinations: the chunk's destinations in order (to report rejected items).
    """

    index: int
    bulk_id: str
    messages: list[MessageData]
    first_index: int
    destinations: list[Destination]

    @property
    def size(self) -> int:
        """Number of destinations."""
        return len(self.destinations)


def chunk_destinations(
    campaign: Campaign,
    destinations: Iterable[Destination],
    batch_size: int,
    bulk_id: Callable[[int], str],
) -> Iterator[Chunk]:
    """Cut validated destinations into chunks of one message each (lazily)."""
    index = first = 0
    batch: list[Destination] = []
    for destination in destinations:
        batch.append(destination)
        if len(batch) == batch_size:
            yield Chunk(index, bulk_id(index), [campaign.build_message(batch)], first, batch)
            index, first, batch = index + 1, first + batch_size, []
    if batch:
        yield Chunk(index, bulk_id(index), [campaign.build_message(batch)], first, batch)


def chunk_columns(
    campaign: Campaign, columns: RecipientColumns, batch_size: int, bulk_id: Callable[[int], str]
) -> Iterator[Chunk]:
    """Chunks of recipients checked column-wise, each chunk's destinations built when needed."""
    for index, first in enumerate(range(0, columns.total, batch_size)):
        batch = columns.destinations(first, min(first + batch_size, columns.total))
        yield Chunk(index, bulk_id(index), [campaign.build_message(batch)], first, batch)


def chunk_messages(
    messages: Iterable[MessageData], batch_size: int, bulk_id: Callable[[int], str]
) -> Iterator[Chunk]:
    """Pack raw messages into chunks of at most ``batch_size`` destinations (lazily).

    Small messages share a chunk; a message with more destinations than fit is split into
    several messages with the same settings.
    """
    index = first = 0
    current: list[MessageData] = []
    current_destinations: list[Destination] = []
    for message in messages:
        pending = list(message.get("destinations", []))
        while pending:
            room = batch_size - len(current_destinations)
            part, pending = pending[:room], pending[room:]
            piece: MessageData = {**message, "destinations": part}
            current.append(piece)
            current_destinations.extend(part)
            if len(current_destinations) == batch_size:
                yield Chunk(index, bulk_id(index), current, first, current_destinations)
                index, first = index + 1, first + batch_size
                current, current_destinations = [], []
    if current:
        yield Chunk(index, bulk_id(index), current, first, current_destinations)


class TokenBucket:
    """Client-side rate limit: at most ``rate`` acquisitions per second, ``burst`` at once."""

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
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until a request may be sent."""
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / self.rate)


ChunkOutcome = Literal["sent", "skipped"]


@dataclass
class ChunkResult:
    """What happened to one chunk.

    ``sent``: TWIN answered, ``items`` is its answer. ``skipped``: the chunk already existed
    (sent by an earlier try, or created by a request whose answer was lost); ``items`` is None.
    """

    chunk: Chunk
    outcome: ChunkOutcome
    items: list[BatchItem] | None = None
    attempts: int = 1


@dataclass(frozen=True)
class Progress:
    """A progress snapshot for the log: destinations done out of ``total``, rate and ETA."""

    done: int
    total: int
    chunks_done: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Destinations per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, or None before anything was done."""
        return (self.total - self.done) / self.rate if self.rate > 0 else None

    def describe(self) -> str:
        """``sent 12000/100000 recipients (12.0%), 2400/s, ETA 37 s``."""
        share = 100.0 * self.done / self.total if self.total else 100.0
        eta = self.eta
        eta_text = "" if eta is None or self.done >= self.total else f", ETA {eta:.0f} s"
        return (
            f"sent {self.done}/{self.total} recipients ({share:.1f}%) in {self.chunks_done} chunk(s), "
            f"{self.rate:.0f}/s{eta_text}"
        )


def _mask(value: str, keep: int = 2) -> str:
    if len(value) <= 2 * keep:
        return "*" * len(value)
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


def redact_destination(destination: Mapping[str, Any]) -> dict[str, str]:
    """The destination's address fields with the middle masked (``79*******67``).

    Enough to recognise a recipient in a report, not enough to leak a contact list into XCom.
    Variables are dropped.
    """
    redacted: dict[str, str] = {}
    for key, value in destination.items():
        if key == "variables" or not isinstance(value, str):
            continue
        if key == "email" and "@" in value:
            local, domain = value.rsplit("@", 1)
            redacted[key] = f"{local[:1]}***@{domain}"
        else:
            redacted[key] = _mask(value)
    return redacted


_GET_ERROR = operator.methodcaller("get", "error")
_GET_CHANNEL = operator.methodcaller("get", "channel")
_GET_ID = operator.methodcaller("get", "id")


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _error_text(error: Any) -> str:
    if isinstance(error, Mapping):
        message = error.get("message")
        if isinstance(message, str) and message:
            return message
    return str(error)


@dataclass
class SendReport:
    """Running totals of a send, turned into the JSON summary returned to XCom.

    :param own_group: ``group_id`` holds this send's messages and nothing else (a group id the
        send operator derived from the task instance), so watching it equals watching every
        bulk id.
    :param max_message_ids: cap of ``message_ids`` (the sensor and cancel work from bulk ids;
        a million ids do not belong in XCom).
    :param max_rejected_items: cap of ``rejected_items``.
    :param redact: mask destination addresses in ``rejected_items``.
    """

    total: int = 0
    group_id: str | None = None
    own_group: bool = False
    max_message_ids: int = 1000
    max_rejected_items: int = 100
    redact: bool = True
    bulk_ids: list[str] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    skipped_chunks: int = 0
    done: int = 0
    chunks_done: int = 0
    per_channel: Counter[str | None] = field(default_factory=Counter)
    message_ids: list[str] = field(default_factory=list)
    message_ids_truncated: bool = False
    rejected_items: list[dict[str, Any]] = field(default_factory=list)
    mismatched_answers: int = 0
    validation_seconds: float | None = None
    send_seconds: float | None = None

    def add(self, result: ChunkResult) -> None:
        """Account for one finished chunk."""
        chunk = result.chunk
        self.chunks_done += 1
        self.done += chunk.size
        if result.outcome == "skipped" or result.items is None:
            self.skipped_chunks += 1
            self.skipped += chunk.size
            return
        items = result.items
        # ASSUMPTION (twin-api.md §7.8): one answer item per destination, in request order.
        aligned = len(items) == chunk.size
        if not aligned:
            self.mismatched_answers += 1
        if not any(map(_GET_ERROR, items)):
            # The usual answer: everything accepted. Counted without a Python-level loop.
            self.accepted += len(items)
            self.per_channel.update(map(_GET_CHANNEL, items))
            self._keep_ids(items)
            return
        accepted: list[BatchItem] = []
        for position, item in enumerate(items):
            error = item.get("error")
            if not error:
                accepted.append(item)
                continue
            self.rejected += 1
            if len(self.rejected_items) < self.max_rejected_items:
                destination: Mapping[str, Any] = chunk.destinations[position] if aligned else {}
                self.rejected_items.append(
                    {
                        "index": chunk.first_index + position if aligned else None,
                        "bulk_id": chunk.bulk_id,
                        "destination": redact_destination(destination)
                        if self.redact
                        else {k: v for k, v in destination.items() if k != "variables"},
                        "error": _error_text(error),
                    }
                )
        self.accepted += len(accepted)
        self.per_channel.update(map(_GET_CHANNEL, accepted))
        self._keep_ids(accepted)

    def _keep_ids(self, items: list[BatchItem]) -> None:
        room = self.max_message_ids - len(self.message_ids)
        ids = filter(None, map(_GET_ID, items))
        if room > 0:
            self.message_ids.extend(itertools.islice(ids, room))
        if not self.message_ids_truncated and next(ids, None) is not None:
            self.message_ids_truncated = True

    def _channels(self) -> dict[str, int]:
        channels: Counter[str] = Counter()
        for channel, count in self.per_channel.items():
            channels[str(channel).upper() if channel else "UNKNOWN"] += count
        return dict(sorted(channels.items()))

    def summary(self) -> dict[str, Any]:
        """The JSON summary (the shape the status sensor and the cancel operator read)."""
        return {
            "bulk_ids": list(self.bulk_ids),
            "group_id": self.group_id,
            "own_group": self.own_group,
            "total": self.total,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "skipped_chunks": self.skipped_chunks,
            "chunks": len(self.bulk_ids),
            "per_channel": self._channels(),
            "rejected_items": list(self.rejected_items),
            "rejected_items_truncated": self.rejected > len(self.rejected_items),
            "message_ids": list(self.message_ids),
            "message_ids_truncated": self.message_ids_truncated,
            "timing": {
                "validation_seconds": _rounded(self.validation_seconds),
                "send_seconds": _rounded(self.send_seconds),
                "recipients_per_second": round(self.done / self.send_seconds, 1)
                if self.send_seconds
                else None,
            },
        }


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

    :param client: the async client (its engine's retry policy also paces the resends of
        chunks whose answer was lost).
    :param max_in_flight: chunks in flight at once.
    :param max_requests_per_second: client-side limit of all requests (sends and checks).
    :param check_existing: ask TWIN whether each chunk's ``bulkId`` exists before sending it
        (on retries of a task; one GET per chunk).
    :param settle_seconds: minimum wait after a lost answer before checking whether the
        chunk exists.
    :param progress: called with a :class:`Progress` at most every ``progress_interval``
        seconds, and once at the end.
    """

    def __init__(
        self,
        client: AsyncTwinClient,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        max_requests_per_second: float | None = None,
        check_existing: bool = False,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        progress: Callable[[Progress], None] | None = None,
        progress_interval: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.client = client
        self.max_in_flight = max_in_flight
        self.limiter = TokenBucket(max_requests_per_second) if max_requests_per_second else None
        self.check_existing = check_existing
        self.settle_seconds = settle_seconds
        self.progress = progress
        self.progress_interval = progress_interval
        self._rng = rng or random.Random()
        self.requests = 0

    @property
    def retry_policy(self) -> RetryPolicy:
        """The connection's retry policy, reused to pace resends after lost answers."""
        return self.client.engine.config.retry

    async def _request(self, call: ApiCall[Any]) -> Any:
        if self.limiter is not None:
            await self.limiter.acquire()
        self.requests += 1
        return await self.client.send(call)

    async def exists(self, bulk_id: str) -> bool:
        """Whether TWIN holds at least one message of batch ``bulk_id``."""
        count: int = await self._request(notify.count_messages(bulk_ids=[bulk_id]))
        return count > 0

    async def send_chunk(self, chunk: Chunk) -> ChunkResult:
        """Send one chunk exactly once (see the module docstring)."""
        if self.check_existing and await self.exists(chunk.bulk_id):
            log.info("chunk %d (bulkId %s) was sent by an earlier try; skipped", chunk.index, chunk.bulk_id)
            return ChunkResult(chunk, "skipped", attempts=0)
        policy = self.retry_policy
        started = time.monotonic()
        attempt = 0
        call = notify.create_messages(chunk.messages, bulk_id=chunk.bulk_id, idempotent=False)
        while True:
            attempt += 1
            try:
                items: list[BatchItem] = await self._request(call)
            except TwinConflictError:
                # ASSUMPTION: should TWIN refuse a bulkId it already holds (409), the chunk exists.
                log.info("TWIN already holds bulkId %s (chunk %d); skipped", chunk.bulk_id, chunk.index)
                return ChunkResult(chunk, "skipped", attempts=attempt)
            except (TwinTransportError, TwinServerError) as exc:
                if isinstance(exc, TwinTransportError) and not exc.ambiguous:
                    raise
                delay = policy.delay(attempt, time.monotonic() - started, self._rng)
                if delay is None:
                    raise
                log.warning(
                    "chunk %d (bulkId %s): %s; checking whether TWIN created it before resending",
                    chunk.index,
                    chunk.bulk_id,
                    exc,
                )
                await asyncio.sleep(max(delay, self.settle_seconds))
                if await self.exists(chunk.bulk_id):
                    log.warning(
                        "chunk %d (bulkId %s) was created although its answer was lost; not resent",
                        chunk.index,
                        chunk.bulk_id,
                    )
                    return ChunkResult(chunk, "skipped", attempts=attempt)
                log.info("chunk %d (bulkId %s) was not created; sending it again", chunk.index, chunk.bulk_id)
                continue
            return ChunkResult(chunk, "sent", items, attempts=attempt)

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
                self.progress(Progress(report.done, report.total, report.chunks_done, now - started))

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
