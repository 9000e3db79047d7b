"""Send one notification at most once, within a small, fixed budget of requests and time.

A notification is one ``POST /messages`` carrying a deterministic ``bulkId`` (the same for
every repetition of the same Airflow event). Around it:

1. **Already sent?** Before sending, ``GET /messages?bulkId=...`` (a counted request) asks
   TWIN whether a message with that ``bulkId`` exists. If it does, the callback is a
   repetition of an event already notified (a re-run DAG callback, a triggerer restart) and
   nothing is sent again.
2. **Send.** The POST is not marked idempotent, so the client never repeats it blindly.
3. **Lost answer.** If the POST's answer is lost (timeout or broken connection after the
   request left, or a 5xx), the flow waits ``settle_seconds`` so a request still being
   processed can finish, then asks again whether the ``bulkId`` exists, and sends again only
   when it does not.

At most ``max_attempts`` POSTs are made. When the "already sent?" check cannot reach TWIN
(connection refused, timeout) or is rate-limited, that attempt's POST is skipped: it would
fail the same way, and waiting for a second timeout would only hold up the caller. When the
check fails with a server error (5xx), the notification is sent anyway: for an alert, a rare
duplicate is better than silence. Errors that retrying cannot fix (bad credentials, a message
TWIN rejects) end the flow at once.

Time bound: each attempt waits for at most about one connect plus one read timeout when TWIN
does not answer, and fails at once when it refuses connections; attempts are
``settle_seconds`` apart.

The flow is a generator that *describes* requests (:class:`ApiCall`) and pauses
(:class:`Pause`); :func:`run_sync` and :func:`run_async` perform them with a
:class:`TwinClient` or an :class:`AsyncTwinClient`, so both paths share one behaviour.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_twin.client import notify
from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.core.errors import (
    TwinError,
    TwinRateLimited,
    TwinServerError,
    TwinTransportError,
)
from airflow_provider_twin.client.core.sync_client import TwinClient
from airflow_provider_twin.client.messages.models import BatchItem, MessageData

#: Seconds to wait before another attempt (and before checking a possibly created bulk).
DEFAULT_SETTLE_SECONDS = 1.0
#: Longest wait honoured from a ``Retry-After``: a notification must not park its caller.
MAX_PAUSE_SECONDS = 10.0


@dataclass(frozen=True)
class Pause:
    """Step: wait this many seconds."""

    seconds: float


@dataclass(frozen=True)
class Delivery:
    """The outcome of a notification that reached TWIN.

    :param status: ``sent``; ``confirmed`` when this flow's POST lost its answer but TWIN
        holds the ``bulkId`` (the send went through); ``already_sent`` when TWIN held the
        ``bulkId`` before this flow sent anything (a repeated callback).
    :param attempts: how many attempts it took (1 = first try).
    :param items: TWIN's answer to the POST (empty unless ``sent``).
    :param existing: messages found with the ``bulkId`` (``confirmed``, ``already_sent``).
    """

    status: Literal["sent", "confirmed", "already_sent"]
    bulk_id: str
    attempts: int
    items: list[BatchItem] = field(default_factory=list)
    existing: int = 0

    @property
    def rejected(self) -> list[BatchItem]:
        """Items TWIN answered with an error (a destination it would not send to)."""
        return [item for item in self.items if item.get("error")]

    @property
    def message_ids(self) -> list[str]:
        """Ids of the created messages."""
        return [item_id for item in self.items if (item_id := item.get("id"))]


Step = ApiCall[Any] | Pause
DeliveryFlow = Generator[Step, Any, Delivery]


def is_transient(error: TwinError) -> bool:
    """True for failures another attempt may overcome: network, 5xx, 429."""
    return isinstance(error, (TwinTransportError, TwinServerError, TwinRateLimited))


def _ambiguous(error: TwinError) -> bool:
    """Whether TWIN may have acted on the request despite ``error``."""
    if isinstance(error, TwinTransportError):
        return error.ambiguous
    return isinstance(error, TwinServerError)


def _pause_after(error: TwinError | None, settle_seconds: float) -> float:
    if isinstance(error, TwinRateLimited) and error.retry_after is not None:
        return min(max(error.retry_after, settle_seconds), MAX_PAUSE_SECONDS)
    return settle_seconds


def deliver(
    message: MessageData,
    bulk_id: str,
    *,
    max_attempts: int = 2,
    check_existing: bool = True,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
) -> DeliveryFlow:
    """Flow sending ``message`` under ``bulk_id`` at most once (see the module docstring).

    :param check_existing: ask TWIN whether ``bulk_id`` exists before the first POST; turn
        it off only for a ``bulk_id`` that cannot have been used before (a random one).
    :raises TwinError: the last error once every attempt failed, or at once when another
        attempt cannot help.
    """
    last: TwinError | None = None
    maybe_created = False  # a POST of this flow may have reached TWIN
    for attempt in range(1, max_attempts + 1):
        if attempt > 1:
            yield Pause(_pause_after(last, settle_seconds))
        if check_existing or attempt > 1:
            try:
                existing = yield notify.count_messages(bulk_ids=[bulk_id])
            except TwinError as exc:
                if not is_transient(exc):
                    raise
                last = exc
                if not isinstance(exc, TwinServerError):
                    continue  # TWIN is not answering (or throttling): the POST would fare no better
                existing = 0  # unknown: sending beats staying silent about a failure
            if existing:
                status: Literal["confirmed", "already_sent"] = (
                    "confirmed" if maybe_created else "already_sent"
                )
                return Delivery(status, bulk_id, attempt, existing=int(existing))
        try:
            items = yield notify.create_messages([message], bulk_id=bulk_id)
        except TwinError as exc:
            if not is_transient(exc):
                raise
            last = exc
            maybe_created = maybe_created or _ambiguous(exc)
            continue
        return Delivery("sent", bulk_id, attempt, items=list(items))
    assert last is not None  # the loop ran at least once and every attempt failed
    raise last


def run_sync(client: TwinClient, flow: DeliveryFlow, sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Perform ``flow`` with the sync ``client``."""
    reply: Any = None
    error: TwinError | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(reply)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        reply, error = None, None
        if isinstance(step, Pause):
            sleep(step.seconds)
            continue
        try:
            reply = client.send(step)
        except TwinError as exc:
            error = exc


async def run_async(client: AsyncTwinClient, flow: DeliveryFlow) -> Delivery:
    """Perform ``flow`` with the async ``client``."""
    reply: Any = None
    error: TwinError | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(reply)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        reply, error = None, None
        if isinstance(step, Pause):
            await asyncio.sleep(step.seconds)
            continue
        try:
            reply = await client.send(step)
        except TwinError as exc:
            error = exc
