"""One exception hierarchy for everything the TWIN client can raise.

Callers catch :class:`TwinError` for "anything TWIN-related", or a subclass to react to one
cause (re-authenticate, back off, fix the input). Messages are written for the person reading
a task log: they name the service, the call and TWIN's own error text, never a credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TwinError(Exception):
    """Base class of every error raised by the TWIN client."""


class TwinConfigError(TwinError, ValueError):
    """The client or connection configuration is unusable (missing credentials, bad URL...)."""


class TwinInputError(TwinError, ValueError):
    """Input rejected locally, before any request was sent.

    ``problems`` holds one human-readable line per problem, each naming the field and, where
    it applies, the recipient index.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems or [])


class TwinTransportError(TwinError):
    """The request could not be completed: connection refused, timeout, connection reset.

    ``ambiguous`` is true when the request may have reached TWIN (the response was lost), so a
    blind retry of a non-idempotent call could act twice.
    """

    def __init__(self, message: str, *, ambiguous: bool) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


class TwinProtocolError(TwinError):
    """TWIN answered with a body this client cannot interpret."""


class TwinAPIError(TwinError):
    """TWIN answered with an HTTP error status.

    :param status: the HTTP status code.
    :param error: TWIN's ``error`` text (or the raw body when it was not JSON).
    :param details: TWIN's ``details`` object, e.g. field → messages for validation errors.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error: str,
        details: Any = None,
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.details = details
        self.method = method
        self.url = url


class TwinAuthError(TwinAPIError):
    """Authentication or authorisation failed (HTTP 401/403, or login refused)."""


class TwinTokenRejected(TwinAuthError):
    """TWIN refused the token it had just made the client renew, again and again for one call.

    TWIN answered "Token is expired." (or 403) to a call, the client renewed its token and
    repeated the call, and TWIN refused the new token too, up to the engine's renewals per
    call. Most often a renewal raced another expiry; a delivery wait treats it as passing
    trouble for a bounded number of checks.
    """


class TwinValidationError(TwinAPIError):
    """TWIN rejected the request as invalid (HTTP 400/422); ``details`` names the fields."""


class TwinNotFoundError(TwinAPIError):
    """The entity does not exist (HTTP 404)."""


class TwinConflictError(TwinAPIError):
    """The entity already exists (HTTP 409), e.g. a chat session id that is already taken."""


class TwinRateLimited(TwinAPIError):
    """TWIN kept answering HTTP 429 beyond the retry budget.

    ``retry_after`` is TWIN's last ``Retry-After`` in seconds, when it sent one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TwinServerError(TwinAPIError):
    """TWIN failed with a 5xx status beyond the retry budget (or on a call unsafe to retry)."""


_BY_STATUS: Mapping[int, type[TwinAPIError]] = {
    400: TwinValidationError,
    401: TwinAuthError,
    403: TwinAuthError,
    404: TwinNotFoundError,
    409: TwinConflictError,
    422: TwinValidationError,
    429: TwinRateLimited,
}


def api_error_class(status: int) -> type[TwinAPIError]:
    """The exception class that represents an HTTP error ``status``."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return TwinServerError
    return TwinAPIError


def is_transient(exc: BaseException) -> bool:
    """True for errors worth another check later: rate limits, TWIN 5xx, network trouble.

    The client already retried them within its budget; a wait still treats them as "not known
    yet" rather than as a verdict (a TWIN hiccup never fails a long wait), and a bounded flow
    such as a notification may try once more.
    """
    if isinstance(exc, TwinTransportError):
        return True
    if isinstance(exc, TwinAPIError):
        return exc.status in (408, 425, 429) or exc.status >= 500
    return False


def error_summary(exc: BaseException) -> str:
    """One line describing ``exc`` for a log or an event, never a credential."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
