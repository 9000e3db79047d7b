"""IAM: ``POST /iam/api/v1/auth/login`` and ``POST /iam/api/v1/auth/refresh`` (twin-api.md §2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .responses import (
    error_response,
    json_response,
    read_json_object,
    validation_error,
)
from .settings import Account
from .state import EmulatorState, account_subject, state_of

IAM_PREFIX = "/iam/api/v1"
DEFAULT_TOKEN_TTL = 3600
#: ASSUMPTION: TWIN's wording for a failed login and an unusable refresh token is not documented.
INVALID_CREDENTIALS = "Invalid credentials."
REFRESH_REFUSED = "Invalid refresh token."

router = APIRouter(prefix=IAM_PREFIX)


def _ttl(body: dict[str, Any], details: dict[str, list[str]]) -> float:
    ttl = body.get("ttl")
    if ttl is None:
        return DEFAULT_TOKEN_TTL
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
        details["ttl"] = ["Must be a positive number of seconds."]
        return DEFAULT_TOKEN_TTL
    return float(ttl)


def _token_pair(state: EmulatorState, account: Account, company_id: int | None, ttl: float) -> dict[str, str]:
    cap = state.settings.token_ttl_cap
    lifetime = ttl if cap is None else min(ttl, cap)
    now = state.token_now()
    subject = account_subject(account)
    return {
        "token": state.tokens.issue(subject, company_id, lifetime, now),
        "refreshToken": state.tokens.issue_refresh(subject, company_id, now),
    }


@router.post("/auth/login")
async def login(request: Request) -> Response:
    """Exchange email and password for a token pair."""
    state = state_of(request)
    body = await read_json_object(request, allow_empty=False)
    if isinstance(body, Response):
        return body
    details: dict[str, list[str]] = {}
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not email:
        details["email"] = ["Must be a non-empty string."]
    if not isinstance(password, str):
        details["password"] = ["Must be a string."]
    ttl = _ttl(body, details)
    company = body.get("companyId")
    if company is not None and (isinstance(company, bool) or not isinstance(company, int | str)):
        details["companyId"] = ["Must be an integer or null."]
    if details:
        return validation_error(details)
    with state.lock:
        account = state.find_account(str(email))
        if account is None or account.password != password:
            return error_response(INVALID_CREDENTIALS, 401)
        # The SDK sends null when no company is configured (twin-api.md §2.1).
        # ASSUMPTION: a company the account does not belong to is refused like bad credentials.
        if company not in (None, 0, "", account.company_id, str(account.company_id)):
            return error_response(INVALID_CREDENTIALS, 401)
        state.counters.logins += 1
        return json_response(_token_pair(state, account, account.company_id, ttl))


@router.post("/auth/refresh")
async def refresh(request: Request) -> Response:
    """Exchange a refresh token for a new token pair.

    ASSUMPTION (twin-api.md §7.13): the ``Authorization`` header (the raw current token, with or
    without ``Bearer``) is optional and may hold an expired token; refresh tokens are multi-use.
    """
    state = state_of(request)
    body = await read_json_object(request, allow_empty=False)
    if isinstance(body, Response):
        return body
    details: dict[str, list[str]] = {}
    refresh_token = body.get("refreshToken")
    if not isinstance(refresh_token, str) or not refresh_token:
        details["refreshToken"] = ["Must be a non-empty string."]
    ttl = _ttl(body, details)
    if details:
        return validation_error(details)
    with state.lock:
        grant = state.tokens.redeem_refresh(str(refresh_token), state.token_now())
        account = None if grant is None else state.account_by_subject(grant.subject)
        if grant is None or account is None:
            return error_response(REFRESH_REFUSED, 401)
        state.counters.refreshes += 1
        return json_response(_token_pair(state, account, grant.company_id, ttl))
