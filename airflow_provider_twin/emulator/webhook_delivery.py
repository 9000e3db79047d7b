"""Sending the status webhooks: a background sweeper, a bounded queue, senders with retries.

The sweeper wakes every :data:`SWEEP_INTERVAL` seconds (and at once when changes are added or the
clock is advanced), takes the changes that fell due from the :class:`.WebhookSchedule` and queues
them; it never queues more than the setting ``webhook_queue_size``, so a burst waits in the schedule,
not in memory as pending requests, and no request handler ever waits for a receiver.
:data:`SENDERS` senders POST each change (``Content-Type: application/json``, body twin-api.md §3.2.7)
with ``webhook_attempts`` attempts, ``webhook_timeout_seconds`` each, pausing
``webhook_backoff_seconds`` (doubling) between them. A connect error, a timeout or a 5xx answer is
retried; a 2xx ends the delivery as ``delivered``, any other answer as ``failed`` at once.

Only loopback hosts receive webhooks unless ``webhook_allow_any_host`` is on: a delivery to another
host is recorded as ``refused`` and never sent. Fault rules with ``"target": "webhook"``
(:mod:`.faults`) make attempts fail as if the receiver were down or answering errors.

Everything runs in the event loop that serves the emulator; it starts with the first change
scheduled (or the first request after a restart) and ends with that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from .clock import iso_or_none
from .loopback import is_loopback
from .webhook_schedule import StatusChange

if TYPE_CHECKING:
    from .state import EmulatorState

logger = logging.getLogger(__name__)

#: Seconds between two sweeps of the schedule when nothing wakes the sweeper earlier.
SWEEP_INTERVAL = 0.05
#: Webhooks sent at the same time.
SENDERS = 16
#: Deliveries ``GET /_emulator/webhooks`` can show (the oldest are forgotten first).
DELIVERY_LOG_SIZE = 100_000

QUEUED, SENDING, DELIVERED, FAILED, REFUSED = "queued", "sending", "delivered", "failed", "refused"


def url_without_query(url: str) -> str:
    """``url`` without its query and fragment (a receiver's token stays out of the listing)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def refusal(url: str, allow_any_host: bool) -> str | None:
    """Why the emulator will not send to ``url``, or None when it may."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "Not a valid URL."
    if parts.scheme not in ("http", "https") or not host:
        return "Not an http(s) URL."
    if not allow_any_host and not is_loopback(host):
        return f"Host {host} is not a loopback host; set webhook_allow_any_host to deliver there."
    return None


class WebhookDelivery:
    """One status change's webhook: what it reports, its attempts and its result."""

    __slots__ = (
        "attempts",
        "changed_at",
        "delivered_at",
        "finished_at",
        "id",
        "last_error",
        "last_status",
        "message_id",
        "new_status",
        "old_status",
        "result",
        "url",
    )

    def __init__(self, delivery_id: int, change: StatusChange) -> None:
        self.id = delivery_id
        self.url = url_without_query(change.url)
        self.message_id = change.message_id
        self.old_status = change.old_status
        self.new_status = change.new_status
        self.changed_at = change.changed_at
        self.attempts = 0
        self.result = QUEUED
        self.last_status: int | None = None
        self.last_error: str | None = None
        self.delivered_at: float | None = None
        self.finished_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """An item of ``GET /_emulator/webhooks``; times are the emulator's clock."""
        return {
            "id": self.id,
            "url": self.url,
            "message_id": self.message_id,
            "old_status": self.old_status,
            "new_status": self.new_status,
            "attempts": self.attempts,
            "result": self.result,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "created_at": iso_or_none(self.changed_at),
            "delivered_at": iso_or_none(self.delivered_at),
            "finished_at": iso_or_none(self.finished_at),
            "created_ts": self.changed_at,
            "delivered_ts": self.delivered_at,
        }


#: A queued webhook: the generation it was queued in, its log entry, the change, the message's
#: previous delivery (to wait for) and this one's completion.
_Queued = tuple[int, "WebhookDelivery", StatusChange, "asyncio.Future[None] | None", "asyncio.Future[None]"]


class WebhookDispatcher:
    """The sweeper, the queue and the senders of one emulator, plus the log of deliveries."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.log: deque[WebhookDelivery] = deque(maxlen=DELIVERY_LOG_SIZE)
        self._next_id = 1
        self._generation = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Queued] | None = None
        #: The last queued delivery of each message, done once sent: its next change waits for it,
        #: so the changes of one message reach the receiver in order (as TWIN made them).
        self._last_of: dict[str, asyncio.Future[None]] = {}
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle -----------------------------------------------------------------------------------
    def ensure_running(self) -> None:
        """Start the sweeper and senders in the running event loop, when there is one and they
        are not running there yet; otherwise just wake the sweeper."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.wake()
            return
        if loop is self._loop and self._tasks and not all(task.done() for task in self._tasks):
            self.wake()
            return
        self._loop = loop
        self._queue = asyncio.Queue()
        self._last_of = {}
        self._wake = asyncio.Event()
        client = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        self._tasks = [loop.create_task(self._sweep_forever(client), name="twin-webhook-sweeper")]
        self._tasks += [
            loop.create_task(self._send_forever(client), name=f"twin-webhook-sender-{number}")
            for number in range(SENDERS)
        ]

    def needs_start(self) -> bool:
        """True when changes wait but no sweeper runs in the calling event loop."""
        if not len(self.state.messages.webhooks):
            return False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        return loop is not self._loop or not self._tasks or all(task.done() for task in self._tasks)

    def wake(self) -> None:
        """Make the sweeper look at the schedule now (callable from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def reset(self) -> None:
        """Forget deliveries; webhooks queued or being retried are not sent (any more)."""
        self._generation += 1
        self.log.clear()

    # -- listing -------------------------------------------------------------------------------------
    def deliveries(
        self,
        *,
        message_ids: list[str] | None = None,
        results: frozenset[str] | None = None,
        new_statuses: frozenset[str] | None = None,
    ) -> list[WebhookDelivery]:
        """Deliveries oldest first, filtered (caller holds the state lock)."""
        wanted = None if message_ids is None else {value.lower() for value in message_ids}
        return [
            item
            for item in self.log
            if (wanted is None or item.message_id.lower() in wanted)
            and (results is None or item.result in results)
            and (new_statuses is None or item.new_status in new_statuses)
        ]

    # -- sweeping ------------------------------------------------------------------------------------
    def sweep(self) -> int:
        """Queue the changes due by now, as far as the queue has room; returns how many were taken."""
        state, queue = self.state, self._queue
        if queue is None:
            return 0
        with state.lock:
            room = state.settings.webhook_queue_size - queue.qsize()
            if room <= 0:
                return 0
            changes = state.messages.webhooks.due(state.now(), room)
            allow_any = state.settings.webhook_allow_any_host
            for change in changes:
                delivery = WebhookDelivery(self._next_id, change)
                self._next_id += 1
                self.log.append(delivery)
                refused = refusal(change.url, allow_any)
                if refused is not None:
                    delivery.result, delivery.last_error = REFUSED, refused
                    delivery.finished_at = state.now()
                    continue
                previous = self._last_of.get(change.message_id)
                done = asyncio.get_running_loop().create_future()
                self._last_of[change.message_id] = done
                queue.put_nowait((self._generation, delivery, change, previous, done))
        return len(changes)

    async def _sweep_forever(self, client: httpx.AsyncClient) -> None:
        wake = self._wake
        assert wake is not None
        try:
            while True:
                try:
                    self.sweep()
                except Exception:
                    logger.exception("Sweeping the webhook schedule failed")
                # asyncio.TimeoutError is not the builtin TimeoutError before Python 3.11.
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    await asyncio.wait_for(wake.wait(), SWEEP_INTERVAL)
                wake.clear()
        finally:
            await client.aclose()

    # -- sending -------------------------------------------------------------------------------------
    async def _send_forever(self, client: httpx.AsyncClient) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            generation, delivery, change, previous, done = await queue.get()
            try:
                if previous is not None:
                    await asyncio.shield(previous)  # the message's earlier change goes first
                if generation == self._generation:
                    await self._deliver(client, delivery, change, generation)
            except Exception:
                logger.exception("Sending webhook %s failed", delivery.id)
            finally:
                if not done.done():
                    done.set_result(None)
                if self._last_of.get(change.message_id) is done:
                    del self._last_of[change.message_id]
                queue.task_done()

    async def _deliver(
        self, client: httpx.AsyncClient, delivery: WebhookDelivery, change: StatusChange, generation: int
    ) -> None:
        state = self.state
        with state.lock:
            settings = state.settings
            attempts, backoff = settings.webhook_attempts, settings.webhook_backoff_seconds
            timeout = settings.webhook_timeout_seconds
        content = json.dumps(change.body).encode()
        path = urlsplit(change.url).path or "/"
        delivery.result = SENDING
        try:
            for attempt in range(1, attempts + 1):
                if generation != self._generation:
                    return
                with state.lock:
                    fault = state.faults.draw("POST", path, target="webhook")
                    delivery.attempts = attempt
                status, error = await self._attempt(client, change.url, content, fault, timeout)
                delivery.last_status, delivery.last_error = status, error
                if status is not None and 200 <= status < 300:
                    with state.lock:
                        delivery.result = DELIVERED
                        delivery.delivered_at = delivery.finished_at = state.now()
                    return
                if status is not None and status < 500:
                    break
                if attempt < attempts:
                    await asyncio.sleep(backoff * 2 ** (attempt - 1))
        except Exception as exc:
            delivery.last_error = f"{type(exc).__name__}: {exc}".rstrip(": ")
            raise
        finally:
            # Whatever ends the attempts (a reset, an unexpected error, the loop closing), a
            # delivery never stays "sending".
            if delivery.result == SENDING:
                with state.lock:
                    delivery.result = FAILED
                    delivery.finished_at = state.now()

    @staticmethod
    async def _attempt(
        client: httpx.AsyncClient, url: str, content: bytes, fault: Any, timeout: float
    ) -> tuple[int | None, str | None]:
        """One POST within ``timeout`` seconds; returns ``(HTTP status or None, error or None)``."""

        async def post() -> tuple[int | None, str | None] | httpx.Response:
            if fault is not None and fault.latency_ms > 0:
                await asyncio.sleep(fault.latency_ms / 1000.0)
            if fault is not None and fault.kind == "status":
                return int(fault.status), f"Receiver answered {fault.status} (fault {fault.id})."
            if fault is not None and fault.kind == "drop":
                return None, f"Receiver unreachable: connection refused (fault {fault.id})."
            return await client.post(
                url, content=content, headers={"Content-Type": "application/json"}, timeout=timeout
            )

        try:
            # wait_for, not asyncio.timeout (Python 3.11+); its TimeoutError is asyncio's before 3.11.
            answer = await asyncio.wait_for(post(), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return None, f"No answer within {timeout:g} s."
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}".rstrip(": ")
        if not isinstance(answer, httpx.Response):
            return answer
        status = answer.status_code
        return status, None if 200 <= status < 300 else f"Receiver answered {status}."


__all__ = [
    "DELIVERY_LOG_SIZE",
    "SENDERS",
    "SWEEP_INTERVAL",
    "WebhookDelivery",
    "WebhookDispatcher",
    "refusal",
    "url_without_query",
]
