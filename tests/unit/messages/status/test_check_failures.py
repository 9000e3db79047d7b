"""Which failed checks a delivery wait waits out, and what it says about them."""

from __future__ import annotations

import pytest

from airflow_provider_twin.client import (
    TwinAuthError,
    TwinInputError,
    TwinServerError,
    TwinTokenRejected,
    TwinTransportError,
)
from airflow_provider_twin.client.messages import CheckFailures


def _rejected() -> TwinTokenRejected:
    return TwinTokenRejected("HTTP 401: Token is expired.", status=401, error="Token is expired.")


def test_transient_errors_are_waited_out_and_described_since_the_first() -> None:
    now = [1_800_000_000.0]
    failures = CheckFailures(clock=lambda: now[0])
    failures.succeeded("bulk b: 0 of 3 succeeded")
    assert (failures.describe(), failures.to_json()) == (None, None)
    assert failures.wait_out(TwinTransportError("connection refused", ambiguous=False))
    now[0] += 60
    assert failures.wait_out(TwinServerError("HTTP 503", status=503, error="x"))
    assert failures.to_json() == {
        "since": "2027-01-15T08:00:00+00:00",
        "failed_checks": 2,
        "last_error": "TwinServerError: HTTP 503",
    }
    assert failures.describe() == (
        "TWIN failed every check since 2027-01-15T08:00:00+00:00 (2 check(s)); "
        "last error: TwinServerError: HTTP 503; last successful check: bulk b: 0 of 3 succeeded"
    )
    failures.succeeded("bulk b: 3 of 3 succeeded")
    assert failures.describe() is None


def test_refused_renewed_tokens_are_waited_out_up_to_the_limit_in_a_row() -> None:
    failures = CheckFailures(limit=2)
    assert failures.wait_out(_rejected())
    failures.succeeded("ok")  # a successful check starts the count again
    assert failures.wait_out(_rejected())
    assert not failures.wait_out(_rejected())
    assert failures.ending(_rejected()).startswith(
        "TWIN refused freshly renewed tokens at 2 checks in a row (auth_failure_limit=2): TwinTokenRejected"
    )


def test_other_errors_end_the_wait() -> None:
    failures = CheckFailures()
    refused_login = TwinAuthError("HTTP 401: Invalid credentials.", status=401, error="Invalid credentials.")
    assert not failures.wait_out(refused_login)
    assert failures.describe() is None
    assert failures.ending(refused_login) == "TwinAuthError: HTTP 401: Invalid credentials."
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(TwinInputError, match="auth_failure_limit"):
            CheckFailures(limit=bad)  # type: ignore[arg-type]


def test_the_end_of_a_wait_after_a_failed_check() -> None:
    failures = CheckFailures(limit=2)
    assert failures.end_of_wait(TwinTransportError("connection refused", ambiguous=False)) is None
    assert failures.end_of_wait(_rejected()) is None
    assert failures.end_of_wait(_rejected()) == failures.ending(_rejected())
    refused_login = TwinAuthError("HTTP 401: Invalid credentials.", status=401, error="Invalid credentials.")
    assert failures.end_of_wait(refused_login) == "TwinAuthError: HTTP 401: Invalid credentials."


def test_a_rescheduled_wait_ends_at_the_first_refused_renewed_token() -> None:
    """Every check of a reschedule-mode wait is a new task start: no checks in a row to count."""
    failures = CheckFailures(limit=3)
    ending = failures.end_of_wait(_rejected(), restarts=True)
    assert (
        ending
        == "TwinTokenRejected: HTTP 401: Token is expired. (reschedule mode: not tried at the next check)"
    )
    assert failures.end_of_wait(TwinServerError("HTTP 503", status=503, error="x"), restarts=True) is None
