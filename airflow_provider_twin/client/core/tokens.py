"""The client's token: when it is good, when to renew it, how to get a new one.

Renewal follows TWIN's SDK and guidance (twin-api.md §2.5): renew before ``exp`` (a margin of
10 % of the token's lifetime, at most 15 minutes), and when TWIN answers 401 ``Token is
expired.`` or 403. A refresh is tried first; if TWIN refuses it, the client logs in again.
Tokens live only in this object: never in a log line, an exception or a repr.

TWIN's tokens are JWTs whose payload carries a numeric ``exp``; like the official SDK, the
client reads it without verifying the signature: it only needs to know when to renew, TWIN
itself verifies the token.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass


def jwt_expiry(token: str) -> float | None:
    """Return the ``exp`` claim of a JWT as a UNIX timestamp, or None if it has none.

    A token that is not JWT-shaped (three dot-separated parts with a JSON payload) also gives
    None: a static token of another shape is used as is, without proactive renewal.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return float(exp)


#: Never renew earlier than this many seconds before expiry (TWIN suggests ~15 min for 24 h tokens).
MAX_RENEW_MARGIN = 900.0
#: Share of a token's lifetime kept as renewal margin.
RENEW_FRACTION = 0.1


@dataclass(frozen=True)
class Authenticate:
    """An effect: the engine needs a (new) token before it can go on.

    ``rejected_generation`` is None when there is simply no usable token, or the generation
    of the token TWIN just rejected; if the token was renewed meanwhile by a concurrent call,
    nothing needs to be done.
    """

    rejected_generation: int | None = None


class TokenState:
    """The current access/refresh token pair and its expiry."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._access: str | None = None
        self._refresh: str | None = None
        self._expires_at: float | None = None
        self._renew_at: float | None = None
        self.generation = 0

    def __repr__(self) -> str:
        return f"TokenState(generation={self.generation}, has_token={self._access is not None})"

    @property
    def refresh_token(self) -> str | None:
        """The refresh token of the current pair, if TWIN gave one."""
        return self._refresh

    def current(self) -> str | None:
        """The access token, due for renewal or not (the refresh call sends it)."""
        return self._access

    def usable_token(self) -> str | None:
        """The access token if it is not due for renewal, else None."""
        if self._access is None:
            return None
        if self._renew_at is not None and self._clock() >= self._renew_at:
            return None
        return self._access

    def needs(self, request: Authenticate) -> bool:
        """Whether ``request`` still needs a new token (a concurrent call may have renewed it)."""
        if request.rejected_generation is None:
            return self.usable_token() is None
        return request.rejected_generation == self.generation

    def store(self, access: str, refresh: str | None) -> None:
        """Adopt a new token pair."""
        now = self._clock()
        expires_at = jwt_expiry(access)
        self._access, self._refresh, self._expires_at = access, refresh, expires_at
        if expires_at is None:
            self._renew_at = None
        else:
            margin = min(MAX_RENEW_MARGIN, max(0.0, expires_at - now) * RENEW_FRACTION)
            self._renew_at = expires_at - margin
        self.generation += 1

    def expiry(self) -> float | None:
        """The current token's ``exp`` (UNIX time), if known."""
        return self._expires_at
