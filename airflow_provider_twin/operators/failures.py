"""How a TWIN error ends a task: failed for good when a retry cannot fix it, else up for retry."""

from __future__ import annotations

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
