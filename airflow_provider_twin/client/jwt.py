"""Reading the expiry of TWIN's JWT access tokens.

TWIN's tokens are JWTs whose payload carries a numeric ``exp`` (seconds since the epoch);
the official SDK reads it without verifying the signature, and so do we: the client only
needs to know when to renew, TWIN itself verifies the token.
"""

from __future__ import annotations

import base64
import binascii
import json


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
