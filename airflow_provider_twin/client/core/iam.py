"""IAM calls: log in and refresh (twin-api.md §2). Both go without a bearer token."""

from __future__ import annotations

from typing import Any, TypedDict

from airflow_provider_twin.client.core.calls import ApiCall, expect_object
from airflow_provider_twin.client.core.config import TwinCredentials
from airflow_provider_twin.client.core.errors import TwinProtocolError


class TokenPair(TypedDict, total=False):
    """What login and refresh answer: the JWT access token and an opaque refresh token."""

    token: str
    refreshToken: str


def _token_pair(body: Any) -> TokenPair:
    data = expect_object(body)
    token = data.get("token")
    if not isinstance(token, str) or not token:
        raise TwinProtocolError("TWIN IAM answered without a token")
    pair: TokenPair = {"token": token}
    refresh = data.get("refreshToken")
    if isinstance(refresh, str) and refresh:
        pair["refreshToken"] = refresh
    return pair


def login(credentials: TwinCredentials) -> ApiCall[TokenPair]:
    """``POST /auth/login`` with the account e-mail and password (twin-api.md §2.1)."""
    return ApiCall(
        method="POST",
        service="iam",
        path="/auth/login",
        description=f"log in as {credentials.email}",
        parse=_token_pair,
        json={
            "email": credentials.email,
            "password": credentials.password,
            "ttl": credentials.token_ttl,
            "companyId": credentials.company_id or None,
        },
        auth=False,
        idempotent=True,  # a second login only issues another token
    )


def refresh(refresh_token: str, current_token: str, ttl: int) -> ApiCall[TokenPair]:
    """``POST /auth/refresh``: the raw current token in ``Authorization`` (twin-api.md §2.3-2.4)."""
    return ApiCall(
        method="POST",
        service="iam",
        path="/auth/refresh",
        description="refresh the access token",
        parse=_token_pair,
        json={"refreshToken": refresh_token, "ttl": ttl},
        headers={"Authorization": current_token} if current_token else {},
        auth=False,
        idempotent=True,
    )
