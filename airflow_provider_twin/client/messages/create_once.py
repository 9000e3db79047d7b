"""Create a batch of messages at most once: after an ambiguous failure, ask before sending again.

A batch is one ``POST /messages`` carrying a ``bulkId`` the caller derives deterministically
(the same on every repetition of the same work: a retried task, a repeated callback). TWIN
can be asked whether a message with that ``bulkId`` exists (``GET /messages?bulkId=...``, one
counted request), and that is what makes the send safe to repeat:

1. **Already there?** With ``check_first``, TWIN is asked before the first POST; a batch it
   already holds is not sent again.
2. **Send.** The POST is not marked idempotent, so the client never repeats it blindly.
3. **Lost answer.** After a failure TWIN may have acted on (the connection broke after the
   request left, a timeout, a 5xx), the procedure pauses so that a request still being
   processed can finish, asks whether the ``bulkId`` exists, and sends again only when it
   does not.
4. **Conflict.** TWIN refusing the ``bulkId`` with HTTP 409 means the batch exists.

Errors that another attempt cannot fix (bad credentials, a batch TWIN rejects as invalid) end
the procedure at once. How many attempts it makes, how long it pauses and what it does when
the existence check itself fails is the caller's :class:`CreateOnceBudget`: a notification
and a bulk send need different ones.

ASSUMPTION (twin-api.md §3.2, not documented by TWIN): a batch is created atomically per
request: after a lost answer either all of its messages exist or none. A batch is therefore
"created" as soon as one message with its ``bulkId`` exists.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from airflow_provider_twin.client.core.errors import (
    TwinConflictError,
    TwinError,
    TwinRateLimited,
    TwinServerError,
    TwinTransportError,
    is_transient,
)
from airflow_provider_twin.client.core.flows import Procedure, Sleep
from airflow_provider_twin.client.core.retry import RetryPolicy
from airflow_provider_twin.client.messages import api as notify
from airflow_provider_twin.client.messages.models import BatchItem, MessageData

log = logging.getLogger("airflow_provider_twin.client.messages.create_once")

#: Seconds to wait after a failed attempt before asking TWIN whether the batch exists, so that
#: a request still being processed has time to finish.
DEFAULT_SETTLE_SECONDS = 1.0
#: Longest ``Retry-After`` a notification honours: it must not park its caller.
ALERT_MAX_RETRY_AFTER = 10.0

CreationStatus = Literal["sent", "confirmed", "already_sent"]


@dataclass(frozen=True)
class CreateOnceBudget:
    """How hard :func:`create_once` tries, and what it does when TWIN's answer is unknown.

    :param check_first: ask whether the ``bulkId`` exists before the first POST; off only for
        a ``bulkId`` that cannot have been used before (a first try, a random id).
    :param settle_seconds: the shortest pause before another attempt.
    :param pacing: the retry policy of a client that retries by it. That client already
        repeated what it safely could (HTTP 429, "could not connect", the existence check), so
        only a failure after which TWIN may have acted leads to another attempt, after the
        policy's backoff, until the policy gives up; a failed existence check ends the
        procedure (it never sends without knowing). None: the client makes one attempt per
        request, and every transient failure leads to another attempt, up to
        ``max_attempts``.
    :param max_attempts: attempts at most, without ``pacing``.
    :param max_retry_after: the longest ``Retry-After`` honoured without ``pacing``.
    :param send_on_unknown: without ``pacing``, when the existence check fails with a 5xx,
        send anyway (for an alert, a rare duplicate beats silence); otherwise, and whenever
        TWIN cannot be reached or throttles the check, that attempt's POST is skipped: it
        would fare no better.
    """

    check_first: bool = True
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    pacing: RetryPolicy | None = None
    max_attempts: int = 2
    max_retry_after: float = ALERT_MAX_RETRY_AFTER
    send_on_unknown: bool = False

    @classmethod
    def alert(
        cls, max_attempts: int, settle_seconds: float = DEFAULT_SETTLE_SECONDS, *, check_first: bool = True
    ) -> CreateOnceBudget:
        """A notification's budget: few attempts, fixed pauses, a short ``Retry-After`` at most,
        and a send when the existence check fails with a 5xx."""
        return cls(check_first, settle_seconds, max_attempts=max_attempts, send_on_unknown=True)

    @classmethod
    def paced(cls, pacing: RetryPolicy, settle_seconds: float, *, check_first: bool) -> CreateOnceBudget:
        """A bulk send's budget: attempts paced by the connection's retry policy, and never a
        send when TWIN cannot say whether the batch exists."""
        return cls(check_first, settle_seconds, pacing=pacing)

    def retries(self, error: TwinError) -> bool:
        """Whether a failed POST leads to another attempt."""
        if self.pacing is not None:
            return _maybe_acted(error)
        return is_transient(error)

    def pause(self, attempt: int, error: TwinError, elapsed: float, rng: random.Random) -> float | None:
        """Seconds to wait after failed ``attempt`` (1 for the first), or None to give up."""
        if self.pacing is not None:
            delay = self.pacing.delay(attempt, elapsed, rng)
            return None if delay is None else max(delay, self.settle_seconds)
        if attempt >= self.max_attempts:
            return None
        if isinstance(error, TwinRateLimited) and error.retry_after is not None:
            return min(max(error.retry_after, self.settle_seconds), self.max_retry_after)
        return self.settle_seconds


@dataclass(frozen=True)
class Creation:
    """What became of a batch.

    :param status: ``sent``: TWIN answered the POST; ``confirmed``: a POST of this procedure
        lost its answer but TWIN holds the ``bulkId`` (the send went through);
        ``already_sent``: TWIN held the ``bulkId`` before this procedure sent anything.
    :param attempts: the attempt that settled it (1 = the first).
    :param items: TWIN's answer to the POST (empty unless ``sent``).
    :param existing: messages found with the ``bulkId``; None when TWIN answered 409.
    """

    status: CreationStatus
    bulk_id: str
    attempts: int
    items: list[BatchItem] = field(default_factory=list)
    existing: int | None = 0

    @property
    def rejected(self) -> list[BatchItem]:
        """Items TWIN answered with an error (a destination it would not send to)."""
        return [item for item in self.items if item.get("error")]

    @property
    def message_ids(self) -> list[str]:
        """Ids of the created messages."""
        return [item_id for item in self.items if (item_id := item.get("id"))]


def _maybe_acted(error: TwinError) -> bool:
    """Whether TWIN may have acted on the request despite ``error``."""
    if isinstance(error, TwinTransportError):
        return error.ambiguous
    return isinstance(error, TwinServerError)


def create_once(
    messages: Sequence[MessageData],
    bulk_id: str,
    budget: CreateOnceBudget,
    *,
    rng: random.Random | None = None,
) -> Procedure[Creation]:
    """The procedure creating ``messages`` under ``bulk_id`` at most once (see the module
    docstring); perform it with ``client.run(...)``.

    :raises TwinError: the last error once the budget is spent, or at once when another
        attempt cannot help.
    """
    started = time.monotonic()
    last: TwinError | None = None
    maybe_created = False  # a POST of this procedure may have reached TWIN
    attempt = 0
    while True:
        attempt += 1
        if last is not None:
            pause = budget.pause(attempt - 1, last, time.monotonic() - started, rng or random.Random())
            if pause is None:
                raise last
            yield Sleep(pause)
        if last is not None or budget.check_first:
            try:
                existing: int = yield notify.count_messages(bulk_ids=[bulk_id])
            except TwinError as exc:
                if budget.pacing is not None or not is_transient(exc):
                    raise
                last = exc
                if not (budget.send_on_unknown and isinstance(exc, TwinServerError)):
                    continue  # TWIN is not answering (or throttling): the POST would fare no better
                existing = 0  # unknown: sending beats staying silent about a failure
            if existing:
                status: CreationStatus = "confirmed" if maybe_created else "already_sent"
                log.info("TWIN holds bulkId %s (%d message(s)): not sent again", bulk_id, existing)
                return Creation(status, bulk_id, attempt, existing=existing)
            if maybe_created:
                log.info("TWIN did not create bulkId %s: sending it again", bulk_id)
        try:
            items = yield notify.create_messages(messages, bulk_id=bulk_id)
        except TwinConflictError:
            # ASSUMPTION: should TWIN refuse a bulkId it already holds (409), the batch exists.
            log.info("TWIN already holds bulkId %s (HTTP 409): not sent again", bulk_id)
            return Creation("confirmed" if maybe_created else "already_sent", bulk_id, attempt, existing=None)
        except TwinError as exc:
            if not budget.retries(exc):
                raise
            last = exc
            if _maybe_acted(exc):
                maybe_created = True
                log.warning(
                    "bulkId %s: %s; checking whether TWIN created it before sending again", bulk_id, exc
                )
            continue
        return Creation("sent", bulk_id, attempt, items=list(items))
