"""How a TWIN error ends a task: failed for good when a retry cannot fix it, else up for retry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_twin.client import (
    TwinAuthError,
    TwinConfigError,
    TwinError,
    TwinInputError,
    TwinValidationError,
)


def airflow_error(exc: TwinError) -> AirflowException:
    """The Airflow exception that ends a task failing with ``exc``.

    For good (no retry): invalid input, a broken connection configuration, TWIN refusing the
    request as invalid (400/422) or the credentials (401/403 after a token renewal).
    Retryable: rate limits, server and network errors beyond the retry budget.
    """
    if isinstance(exc, (TwinInputError, TwinConfigError, TwinValidationError, TwinAuthError)):
        return AirflowFailException(str(exc))
    return AirflowException(str(exc))


class _Closable(Protocol):
    def close(self) -> None: ...


@contextmanager
def twin_calls_of_task(hook: _Closable) -> Iterator[None]:
    """Run a task's TWIN calls through ``hook``: a TWIN error ends the task, the hook is closed.

    Input or configuration the task was given that TWIN's client refuses fails the task for good
    with the client's message alone (no chained traceback: the message says what to fix); any
    other TWIN error ends it as :func:`airflow_error` says. The hook is closed either way.
    """
    try:
        yield
    except (TwinInputError, TwinConfigError) as exc:
        raise AirflowFailException(str(exc)) from None
    except TwinError as exc:
        raise airflow_error(exc) from exc
    finally:
        hook.close()
