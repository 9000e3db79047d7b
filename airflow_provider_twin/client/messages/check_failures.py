"""The failed checks of a delivery wait: which to wait out, and what to say when the wait ends.

A wait (the status sensor's pokes, the status trigger's polls) asks TWIN again at its next
check after trouble that may pass, and ends at once on anything else:

* transient errors (rate limits, TWIN 5xx, network trouble) that outlasted the client's own
  retries (:func:`~airflow_provider_twin.client.core.errors.is_transient`): until the wait's
  timeout;
* a token TWIN refused although the client had just renewed it
  (:class:`~airflow_provider_twin.client.core.errors.TwinTokenRejected`): a renewal raced
  another expiry. TWIN documents no such race (twin-api.md §2.5 says to renew on "Token is
  expired." and on 403, §7.10); ASSUMPTION: it passes, so the next check renews and tries
  again, but only ``auth_failure_limit`` checks in a row (default
  :data:`DEFAULT_AUTH_FAILURE_LIMIT`): a token TWIN keeps refusing, or a 403 that is a real
  lack of rights, then ends the wait with the error.

When the wait times out while its checks fail, :meth:`CheckFailures.describe` says since when
and with which last error, next to the last successful count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_provider_twin.client.core.errors import (
    TwinInputError,
    TwinTokenRejected,
    error_summary,
    is_transient,
)

#: Checks in a row that may fail on a refused renewed token before the wait fails.
DEFAULT_AUTH_FAILURE_LIMIT = 3


def auth_failure_limit(value: Any) -> int:
    """``value`` checked as an ``auth_failure_limit``: a whole number of checks, at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TwinInputError(f"auth_failure_limit must be a whole number of checks >= 1, got {value!r}")
    return value


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="seconds")


@dataclass
class CheckFailures:
    """The checks of one wait that failed since its last successful check.

    :param limit: checks in a row that may fail on a refused renewed token (``auth_failure_limit``).
    """

    limit: int = DEFAULT_AUTH_FAILURE_LIMIT
    clock: Callable[[], float] = field(default=time.time, repr=False)
    failed_checks: int = 0
    auth_failures: int = 0
    since: float | None = None
    last_error: str | None = None
    #: The progress message of the last successful check, if any.
    last_success: str | None = None

    def __post_init__(self) -> None:
        self.limit = auth_failure_limit(self.limit)

    def succeeded(self, progress: str) -> None:
        """A check got its answers (``progress``, its message): the failures so far are over."""
        self.failed_checks = self.auth_failures = 0
        self.since = self.last_error = None
        self.last_success = progress

    def wait_out(self, exc: BaseException) -> bool:
        """Record a failed check; True to try again at the next check, False to end the wait.

        A refused renewed token past the limit gives False: the caller raises ``exc``, which
        :meth:`ending` then describes.
        """
        if isinstance(exc, TwinTokenRejected):
            self.auth_failures += 1
            keep = self.auth_failures < self.limit
        elif is_transient(exc):
            keep = True
        else:
            return False
        self.failed_checks += 1
        if self.since is None:
            self.since = self.clock()
        self.last_error = error_summary(exc)
        return keep

    def end_of_wait(self, exc: BaseException, *, restarts: bool = False) -> str | None:
        """Record a failed check: None to try again at the next check, else why the wait ends.

        ``restarts``: every check is a new start of the task (reschedule mode), so checks in a
        row cannot be counted and a refused renewed token ends the wait at once.
        """
        rejected = isinstance(exc, TwinTokenRejected)
        if self.wait_out(exc) and not (rejected and restarts):
            return None
        if rejected and restarts:
            return f"{self.ending(exc)} (reschedule mode: not tried at the next check)"
        return self.ending(exc)

    def ending(self, exc: BaseException) -> str:
        """Why ``exc`` ended the wait: the limit, when refused renewed tokens reached it."""
        if isinstance(exc, TwinTokenRejected) and self.auth_failures >= self.limit:
            return (
                f"TWIN refused freshly renewed tokens at {self.auth_failures} checks in a row "
                f"(auth_failure_limit={self.limit}): {error_summary(exc)}"
            )
        return error_summary(exc)

    def to_json(self) -> dict[str, Any] | None:
        """``{"since", "failed_checks", "last_error"}`` while checks fail, else None."""
        if self.since is None:
            return None
        return {"since": _iso(self.since), "failed_checks": self.failed_checks, "last_error": self.last_error}

    def describe(self) -> str | None:
        """``TWIN failed every check since <time> (<n> check(s)); last error: ...; last successful
        check: ...`` while checks fail, else None."""
        if self.since is None:
            return None
        return (
            f"TWIN failed every check since {_iso(self.since)} ({self.failed_checks} check(s)); "
            f"last error: {self.last_error}; last successful check: {self.last_success or 'none'}"
        )
