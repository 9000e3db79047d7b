"""The one implementation of auth, retry, request building and error mapping.

It is written as generators that *describe* I/O instead of doing it: a flow yields
:class:`Send` (perform this HTTP request and send me the response, or throw the transport
error in), :class:`~.flows.Sleep` and :class:`~.tokens.Authenticate` (renew the token under your lock).
The sync and async clients are small drivers that perform these effects with ``httpx.Client``
or ``httpx.AsyncClient``; the behaviour, and its tests, are shared.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from airflow_provider_twin.client.core import iam
from airflow_provider_twin.client.core.calls import NO_BODY, ApiCall, RawBody
from airflow_provider_twin.client.core.config import TwinClientConfig
from airflow_provider_twin.client.core.errors import (
    TwinAPIError,
    TwinAuthError,
    TwinInputError,
    TwinProtocolError,
    TwinRateLimited,
    TwinTokenRejected,
    TwinTransportError,
    api_error_class,
)
from airflow_provider_twin.client.core.flows import Sleep
from airflow_provider_twin.client.core.retry import parse_retry_after
from airflow_provider_twin.client.core.tokens import Authenticate, TokenState

log = logging.getLogger("airflow_provider_twin.client")

T = TypeVar("T")

#: The exact body TWIN sends for an expired token (twin-api.md §2.5).
TOKEN_EXPIRED = "Token is expired."  # noqa: S105 - an error text, not a secret

#: Renewals one call may ask for when TWIN keeps refusing its token: a renewal can race
#: another expiry (the new token is refused as well), so a refused renewed token is renewed
#: again, a bounded number of times, before the call fails with :class:`TwinTokenRejected`.
RENEWALS_PER_CALL = 3

#: Transport errors raised before the request left the machine: always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True)
class Send:
    """Effect: send this request; the driver sends back the response or throws the error."""

    request: httpx.Request


Effect = Send | Sleep | Authenticate
Flow = Generator[Effect, Any, T]


def _error_text(response: httpx.Response) -> tuple[str, Any]:
    """TWIN's ``error`` and ``details`` from an error response (twin-api.md §6)."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        text = response.text.strip()
        return (text[:500] or response.reason_phrase or "no error text"), None
    if isinstance(body, dict) and "error" in body:
        error = body["error"]
        return (error if isinstance(error, str) else json.dumps(error)), body.get("details")
    return json.dumps(body)[:500], None


def _summarise_details(details: Any) -> str:
    if isinstance(details, dict) and details:
        lines = []
        for field_name, messages in list(details.items())[:10]:
            text = "; ".join(map(str, messages)) if isinstance(messages, list) else str(messages)
            lines.append(f"{field_name}: {text}")
        more = len(details) - 10
        return " (" + ", ".join(lines) + (f", and {more} more" if more > 0 else "") + ")"
    return ""


def _request_url(response: httpx.Response, call: ApiCall[Any]) -> str:
    try:
        return str(response.request.url)
    except RuntimeError:  # a response built without a request (tests)
        return call.path


def api_error(call: ApiCall[Any], response: httpx.Response) -> TwinAPIError:
    """The exception that represents TWIN's error ``response`` to ``call``."""
    error, details = _error_text(response)
    status = response.status_code
    message = (
        f"TWIN {call.service} refused to {call.description} "
        f"({call.method} {call.path}): HTTP {status}: {error}{_summarise_details(details)}"
    )
    kwargs: dict[str, Any] = {
        "status": status,
        "error": error,
        "details": details,
        "method": call.method,
        "url": _request_url(response, call),
    }
    cls = api_error_class(status)
    if cls is TwinRateLimited:
        return TwinRateLimited(
            message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kwargs
        )
    return cls(message, **kwargs)


def _is_token_rejection(response: httpx.Response) -> bool:
    """401 ``Token is expired.`` or any 403: TWIN wants a fresh token (twin-api.md §2.5)."""
    if response.status_code == 403:
        return True
    if response.status_code != 401:
        return False
    error, _ = _error_text(response)
    return error == TOKEN_EXPIRED


class Engine:
    """Sends :class:`ApiCall` values with auth, retries and error mapping, as effect flows.

    One engine belongs to one client and holds that client's token; it is not shared
    between clients.
    """

    def __init__(
        self,
        config: TwinClientConfig,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.tokens = TokenState(clock)
        self._clock = clock
        self._monotonic = monotonic
        self._rng = rng or random.Random()
        self.on_new_token: Callable[[str], None] | None = None
        if config.credentials.api_token:
            self._adopt(config.credentials.api_token, None)

    def _adopt(self, access: str, refresh: str | None) -> None:
        self.tokens.store(access, refresh)
        if self.on_new_token is not None:
            self.on_new_token(access)

    def build_request(self, call: ApiCall[Any], token: str | None) -> httpx.Request:
        """The HTTP request for ``call``, with ``token`` as bearer when the call needs one."""
        url = self.config.endpoints.base(call.service) + call.path
        headers = {"Accept": "application/json", "User-Agent": self.config.user_agent, **call.headers}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if call.form is not None:
            # httpx writes the multipart Content-Type with its boundary (twin-api.md §1.2).
            files = [(part.name, (part.filename, part.data, part.content_type)) for part in call.form.files]
            return httpx.Request(
                call.method,
                url,
                params=dict(call.params),
                headers=headers,
                data=dict(call.form.fields),
                files=files,
            )
        if call.json is NO_BODY:
            return httpx.Request(call.method, url, params=dict(call.params), headers=headers)
        headers["Content-Type"] = "application/json"
        try:
            # NaN and infinity are not JSON: refuse them rather than send a body TWIN cannot read.
            content = json.dumps(
                call.json, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode()
        except ValueError:
            raise TwinInputError(
                f"{call.description}: the request body holds a number that is not finite (NaN or "
                "infinity), which JSON cannot carry; nothing was sent"
            ) from None
        return httpx.Request(call.method, url, params=dict(call.params), headers=headers, content=content)

    def execute(self, call: ApiCall[T]) -> Flow[T]:
        """Flow that performs ``call`` and returns its parsed result, or raises a TwinError."""
        policy = self.config.retry
        started = self._monotonic()
        attempt = 0
        renewals = 0
        while True:
            attempt += 1
            token: str | None = None
            generation = self.tokens.generation
            if call.auth:
                token = self.tokens.usable_token()
                if token is None:
                    yield Authenticate(None)
                    token = self.tokens.usable_token() or self._require_token()
                generation = self.tokens.generation
            request = self.build_request(call, token)
            try:
                response: httpx.Response = yield Send(request)
            except httpx.TransportError as exc:
                ambiguous = not isinstance(exc, _NOT_SENT)
                delay = None
                if not ambiguous or call.safe_to_repeat:
                    delay = policy.delay(attempt, self._monotonic() - started, self._rng)
                if delay is None:
                    raise self._transport_error(call, exc, ambiguous, attempt) from exc
                self._log_retry(call, type(exc).__name__, delay, attempt)
                yield Sleep(delay)
                continue

            if call.auth and _is_token_rejection(response):
                if self.config.credentials.uses_static_token:
                    raise self._static_token_rejected(call, response)
                if renewals >= RENEWALS_PER_CALL:
                    raise self._renewed_token_rejected(call, response, renewals)
                renewals += 1
                log.info(
                    "TWIN answered HTTP %s to %s; renewing the token", response.status_code, call.description
                )
                yield Authenticate(generation)
                attempt -= 1
                continue

            if response.is_success:
                return self._parse(call, response)

            error = api_error(call, response)
            delay = None
            if response.status_code == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                delay = policy.delay(attempt, self._monotonic() - started, self._rng, retry_after)
            elif response.status_code >= 500 and call.safe_to_repeat:
                delay = policy.delay(attempt, self._monotonic() - started, self._rng)
            if delay is None:
                raise error
            self._log_retry(call, f"HTTP {response.status_code}", delay, attempt)
            yield Sleep(delay)

    def authenticate(self, request: Authenticate) -> Flow[None]:
        """Flow that renews the token unless a concurrent call already did.

        Drivers run it under their lock, so concurrent callers renew once.
        """
        if not self.tokens.needs(request):
            return
        creds = self.config.credentials
        if creds.api_token:
            raise TwinAuthError(
                "the api_token of this TWIN connection has expired; copy a new one from TWIN's "
                "'API help' tab or configure the account e-mail and password instead",
                status=401,
                error=TOKEN_EXPIRED,
            )
        pair: iam.TokenPair | None = None
        refresh = self.tokens.refresh_token
        if refresh is not None:
            try:
                pair = yield from self.execute(
                    iam.refresh(refresh, self.tokens.current() or "", creds.token_ttl)
                )
            except TwinAPIError as exc:
                log.info("TWIN refused the token refresh (HTTP %s); logging in again", exc.status)
        if pair is None:
            pair = yield from self.execute(iam.login(creds))
        self._adopt(pair["token"], pair.get("refreshToken"))
        log.debug("TWIN token renewed (generation %s)", self.tokens.generation)

    def _require_token(self) -> str:
        token = self.tokens.current()
        if not token:
            raise TwinAuthError("TWIN authentication produced no token", status=401, error="no token")
        return token

    def _parse(self, call: ApiCall[T], response: httpx.Response) -> T:
        if call.raw:
            return call.parse(RawBody(response.content, dict(response.headers)))
        if not response.content:
            return call.parse(None)
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise TwinProtocolError(
                f"TWIN {call.service} answered {call.description} with HTTP {response.status_code} "
                f"and a body that is not JSON: {response.text[:200]!r}"
            ) from exc
        return call.parse(body)

    def _static_token_rejected(self, call: ApiCall[Any], response: httpx.Response) -> TwinAuthError:
        error, details = _error_text(response)
        return TwinAuthError(
            f"TWIN {call.service} rejected the connection's api_token while trying to {call.description} "
            f"(HTTP {response.status_code}: {error}); a static token cannot be renewed: copy a new one "
            "from TWIN's 'API help' tab or configure the account e-mail and password instead",
            status=response.status_code,
            error=error,
            details=details,
            method=call.method,
            url=call.path,
        )

    def _renewed_token_rejected(
        self, call: ApiCall[Any], response: httpx.Response, renewals: int
    ) -> TwinTokenRejected:
        error = api_error(call, response)
        return TwinTokenRejected(
            f"{error} (TWIN refused the token after {renewals} renewal(s) for this call)",
            status=error.status,
            error=error.error,
            details=error.details,
            method=error.method,
            url=error.url,
        )

    def _transport_error(
        self, call: ApiCall[Any], exc: httpx.TransportError, ambiguous: bool, attempts: int
    ) -> TwinTransportError:
        base = self.config.endpoints.base(call.service)
        what = "no response (TWIN may have processed the request)" if ambiguous else "could not connect"
        hint = (
            ""
            if call.safe_to_repeat or not ambiguous
            else "; not retried because repeating it could act twice"
        )
        return TwinTransportError(
            f"TWIN {call.service} at {base}: {what} while trying to {call.description} "
            f"({call.method} {call.path}) after {attempts} attempt(s): {type(exc).__name__}: {exc}{hint}",
            ambiguous=ambiguous,
        )

    def _log_retry(self, call: ApiCall[Any], reason: str, delay: float, attempt: int) -> None:
        log.warning(
            "TWIN %s %s %s: %s; retrying in %.2f s (attempt %d of %d)",
            call.service,
            call.method,
            call.path,
            reason,
            delay,
            attempt + 1,
            self.config.retry.max_attempts,
        )
