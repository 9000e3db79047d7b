"""JWT-shaped access tokens and opaque refresh tokens for the IAM emulation.

TWIN clients decode the middle segment of the access token and read its numeric ``exp`` claim to
decide when to refresh (twin-api.md §2.2), so tokens here are real JWTs: base64url header, payload
and an HMAC-SHA256 signature made with a secret that is random per emulator instance. The server
trusts only tokens it signed, and it decides expiry from the same ``exp`` claim the client sees, so
both sides agree (twin-api.md §2.5, §8: TWIN's PHP SDK renews only when its copy of ``exp`` has
passed). Tokens are issued and judged on the wall clock, the clock a client reads ``exp`` against.

The admin API can force expiry (:meth:`TokenIssuer.expire_all`): every token expires at a moment
``after_seconds`` ahead. Tokens issued before that moment carry it as their ``exp`` (at the latest),
so a client that renews on ``exp`` sees it coming. Tokens already in a client's hands cannot be
rewritten: they are refused from that moment although their ``exp`` is later, the one case where the
server and the token disagree (a test of the "401 Token is expired." path, not of ``exp``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .ids import IdGenerator

#: ASSUMPTION (twin-api.md §7.13): refresh tokens are multi-use and valid for 30 days.
REFRESH_TOKEN_LIFETIME = 30 * 24 * 3600.0

_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
_CACHE_LIMIT = 20_000


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenState(Enum):
    """Outcome of checking an access token."""

    VALID = "valid"
    INVALID = "invalid"
    EXPIRED = "expired"


@dataclass(frozen=True)
class TokenClaims:
    """The verified content of an access token."""

    subject: str
    company_id: int | None
    issued_at: int
    expires_at: int
    serial: int
    kind: str


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token stands for."""

    subject: str
    company_id: int | None
    expires_at: float


class TokenIssuer:
    """Issues, verifies and expires tokens. Not thread-safe; callers hold the state lock."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)
        self._jti = IdGenerator()
        # Forced expiries: (last serial issued before the call, moment those tokens expire).
        self._forced: list[tuple[int, float]] = []
        self._refresh: dict[str, RefreshGrant] = {}
        self._verified: dict[str, TokenClaims] = {}

    # -- access tokens -------------------------------------------------------------------------------
    def issue(self, subject: str, company_id: int | None, ttl: float, now: float, kind: str = "user") -> str:
        """Return a signed access token valid for ``ttl`` seconds from ``now``.

        ``exp`` is rounded up to a whole second so the token lives at least ``ttl`` seconds; while
        a forced expiry is pending it is no later than that expiry (rounded up likewise).
        """
        serial = self._jti.next_number()
        expires = math.ceil(now + ttl)
        pending = [moment for _, moment in self._forced if moment > now]
        if pending:
            expires = min(expires, math.ceil(min(pending)))
        payload = {
            "sub": subject,
            "companyId": company_id,
            "iat": int(now),
            "exp": expires,
            "jti": self._jti.format(serial),
            "type": kind,
        }
        body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
        signing_input = f"{_HEADER}.{body}"
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(signature)}"

    def check(self, token: str, now: float) -> tuple[TokenState, TokenClaims | None]:
        """Verify signature and expiry of ``token``."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify_signature(token)
            if claims is None:
                return TokenState.INVALID, None
            if len(self._verified) >= _CACHE_LIMIT:
                self._verified.clear()
            self._verified[token] = claims
        if now >= claims.expires_at or any(
            claims.serial <= through and now >= moment for through, moment in self._forced
        ):
            return TokenState.EXPIRED, claims
        return TokenState.VALID, claims

    def _verify_signature(self, token: str) -> TokenClaims | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        header, body, signature = parts
        expected = hmac.new(self._secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(expected, _b64url_decode(signature)):
                return None
            payload: Any = json.loads(_b64url_decode(body))
        except (ValueError, TypeError):
            return None
        if not isinstance(payload, dict):
            return None
        serial = self._jti.parse(str(payload.get("jti", "")))
        if serial is None:
            return None
        company = payload.get("companyId")
        return TokenClaims(
            subject=str(payload.get("sub")),
            company_id=company if isinstance(company, int) else None,
            issued_at=int(payload.get("iat", 0)),
            expires_at=int(payload.get("exp", 0)),
            serial=serial,
            kind=str(payload.get("type", "user")),
        )

    def expire_all(self, now: float, after_seconds: float = 0.0) -> float:
        """Force every access token to expire ``after_seconds`` from ``now``; returns that moment.

        Tokens issued so far are refused from then on; tokens issued until then carry it as
        their ``exp`` (see :meth:`issue`), so their own claim announces it.
        """
        moment = now + after_seconds
        self._forced.append((self._jti.last, moment))
        return moment

    def clear_expiry_mark(self) -> None:
        """Undo :meth:`expire_all` (used when the emulator state is reset)."""
        self._forced.clear()

    # -- refresh tokens ------------------------------------------------------------------------------
    def issue_refresh(self, subject: str, company_id: int | None, now: float) -> str:
        """Return a new opaque refresh token."""
        token = secrets.token_urlsafe(32)
        self._refresh[token] = RefreshGrant(subject, company_id, now + REFRESH_TOKEN_LIFETIME)
        return token

    def redeem_refresh(self, token: str, now: float) -> RefreshGrant | None:
        """Return the grant behind a valid refresh token (it stays valid: multi-use)."""
        grant = self._refresh.get(token)
        if grant is None:
            return None
        if now >= grant.expires_at:
            del self._refresh[token]
            return None
        return grant
