"""When and how long to wait before trying a TWIN call again.

Retried: HTTP 429 (honouring ``Retry-After``), 5xx, and transport failures. A failure after
which TWIN may have acted (5xx, a lost response) is retried only for calls that are safe to
repeat: reads, cancels, and creates the caller made idempotent (a send with a ``bulkId`` the
operator can check). Backoff is exponential with full jitter, bounded by attempts and by the
total time spent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from airflow_provider_twin.client.core.errors import TwinConfigError


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and pacing of retries.

    :param max_attempts: attempts in total, the first included (1 disables retries).
    :param backoff_initial: the backoff ceiling of the first retry, in seconds.
    :param backoff_max: the largest backoff ceiling, in seconds.
    :param max_elapsed: give up once this many seconds have passed since the first attempt.
    :param max_retry_after: a ``Retry-After`` longer than this ends the retries at once,
        rather than parking a worker for minutes.
    """

    max_attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    max_elapsed: float = 300.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise TwinConfigError("max_attempts must be at least 1")
        if self.backoff_initial < 0 or self.backoff_max < 0 or self.max_elapsed < 0:
            raise TwinConfigError("retry delays must not be negative")

    def delay(
        self,
        attempt: int,
        elapsed: float,
        rng: random.Random,
        retry_after: float | None = None,
    ) -> float | None:
        """Seconds to wait before the attempt after ``attempt``, or None to give up.

        :param attempt: the number of the attempt that just failed (1 for the first).
        :param elapsed: seconds since the first attempt started.
        :param retry_after: the server's ``Retry-After``, which wins over the backoff.
        """
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            wait = retry_after
        else:
            ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (attempt - 1)))
            wait = rng.uniform(0, ceiling)
        if elapsed + wait > self.max_elapsed:
            return None
        return wait


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds; None if absent or unreadable.

    The HTTP-date form is rare for APIs and read as absent, so the backoff applies instead.
    """
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)
