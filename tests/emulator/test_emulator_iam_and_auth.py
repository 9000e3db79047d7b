"""IAM login/refresh, JWT shape and the token checks of the notify and chat routes."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from emulator_testkit import TwinApi, sms, wait_for

from airflow_provider_twin.emulator import TwinEmulator

EXPIRED = {"error": "Token is expired."}
UNAUTHORIZED = {"error": "Unauthorized"}


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, signature = token.split(".")
    assert signature

    def decode(part: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return data

    return decode(header), decode(payload)


def test_login_returns_jwt_with_requested_lifetime(api: TwinApi) -> None:
    before = time.time()
    response = api.login(ttl=600, companyId=1)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "refreshToken"}
    header, payload = jwt_parts(body["token"])
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert {"sub", "companyId", "iat", "exp", "jti"} <= set(payload)
    assert payload["companyId"] == 1
    assert before + 600 <= payload["exp"] <= time.time() + 601
    assert isinstance(body["refreshToken"], str)
    assert body["refreshToken"].count(".") == 0


def test_login_default_ttl_and_cap(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    _, payload = jwt_parts(api.login(ttl=None).json()["token"])
    assert payload["exp"] - payload["iat"] in (3600, 3601)
    twin_emulator.admin.update_settings(token_ttl_cap=60)
    _, payload = jwt_parts(api.login(ttl=86400).json()["token"])
    assert payload["exp"] - payload["iat"] in (60, 61)


@pytest.mark.parametrize(
    "overrides",
    [{"password": "wrong"}, {"email": "nobody@twin.local"}, {"companyId": 999}],
)
def test_login_refused(api: TwinApi, overrides: dict[str, Any]) -> None:
    response = api.login(**overrides)
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid credentials."}


def test_login_malformed_and_invalid_bodies(api: TwinApi) -> None:
    response = api.http.post(
        "/iam/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    response = api.login(ttl="long")
    assert response.status_code == 422
    assert "ttl" in response.json()["details"]


@pytest.mark.parametrize("header_style", ["raw", "bearer", "none"])
def test_refresh_accepts_any_header_style_and_is_multi_use(api: TwinApi, header_style: str) -> None:
    pair = api.login(ttl=60).json()
    headers = {"raw": {"Authorization": pair["token"]}, "bearer": api.headers(pair["token"]), "none": {}}
    for _ in range(2):  # the refresh token stays valid after use
        response = api.http.post(
            "/iam/api/v1/auth/refresh",
            json={"refreshToken": pair["refreshToken"], "ttl": 120},
            headers=headers[header_style],
        )
        assert response.status_code == 200, response.text
        fresh = response.json()
        assert set(fresh) == {"token", "refreshToken"}
        _, payload = jwt_parts(fresh["token"])
        assert payload["exp"] - payload["iat"] in (120, 121)
        assert api.messages(token=fresh["token"]).status_code == 200


def test_refresh_with_unknown_token(api: TwinApi) -> None:
    response = api.http.post("/iam/api/v1/auth/refresh", json={"refreshToken": "nope", "ttl": 60})
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid refresh token."}


def test_missing_and_foreign_tokens_are_unauthorized(api: TwinApi) -> None:
    assert api.http.get("/notify/api/v1/messages").json() == UNAUTHORIZED
    response = api.http.get("/notify/api/v1/messages", headers={"Authorization": "Bearer a.b.c"})
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    with TwinEmulator() as other:  # signed with another secret
        foreign = httpx.post(
            f"{other.base_url}/iam/api/v1/auth/login",
            json={"email": "demo@twin.local", "password": "twin-demo"},
        ).json()["token"]
    response = api.messages(token=foreign)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_expired_token_gets_exact_body_and_exp_agrees(api: TwinApi) -> None:
    token = api.login(ttl=1).json()["token"]
    _, payload = jwt_parts(token)
    assert api.messages(token=token).status_code == 200
    # Wait until the exp claim itself says "expired": server and client must agree.
    wait_for(lambda: time.time() >= payload["exp"], timeout=3)
    response = api.messages(token=token)
    assert response.status_code == 401
    assert response.json() == EXPIRED
    assert api.send(sms("79990000001"), token=token).json() == EXPIRED


def test_expire_all_tokens(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    old = api.token
    assert api.messages().status_code == 200
    twin_emulator.admin.expire_tokens()
    response = api.messages(token=old)
    assert response.status_code == 401
    assert response.json() == EXPIRED
    fresh = api.login().json()["token"]
    assert api.messages(token=fresh).status_code == 200


def test_expired_token_status_403(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(expired_token_status=403)
    token = api.token
    twin_emulator.admin.expire_tokens()
    response = api.messages(token=token)
    assert response.status_code == 403
    assert response.json() == EXPIRED


def test_api_help_token_is_accepted(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    token = twin_emulator.admin.mint_token(ttl=86400)
    _, payload = jwt_parts(token)
    assert payload["exp"] - payload["iat"] in (86400, 86401)
    assert api.messages(token=token).status_code == 200
    assert api.send(sms("79990000001"), token=token).status_code == 201
