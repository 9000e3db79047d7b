"""Token expiry parsing, retry pacing, call building and configuration checks."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from airflow_provider_twin.client import (
    RetryPolicy,
    TwinClientConfig,
    TwinConfigError,
    TwinCredentials,
    TwinEndpoints,
    notify,
)
from airflow_provider_twin.client.core.engine import Engine
from airflow_provider_twin.client.core.retry import parse_retry_after
from airflow_provider_twin.client.core.tokens import Authenticate, TokenState, jwt_expiry
from tests.unit.core.scripted_twin import config, make_jwt


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (make_jwt(1_800_000_000), 1_800_000_000.0),
        (make_jwt(1_800_000_000.5), 1_800_000_000.5),
        ("not-a-jwt", None),
        ("a.b.c", None),
        (make_jwt("soon"), None),  # type: ignore[arg-type]
        (make_jwt(True), None),  # type: ignore[arg-type]
    ],
)
def test_jwt_expiry(token: str, expected: float | None) -> None:
    assert jwt_expiry(token) == expected


def test_token_state_renews_before_expiry_and_tracks_generations() -> None:
    now = [1000.0]
    state = TokenState(lambda: now[0])
    assert state.usable_token() is None
    state.store(make_jwt(1000 + 3600), "refresh")
    assert state.usable_token() is not None
    now[0] = 1000 + 3600 - 400  # margin is 10 % of lifetime = 360 s
    assert state.usable_token() is not None
    now[0] = 1000 + 3600 - 300
    assert state.usable_token() is None
    assert state.needs(Authenticate(None))
    assert state.needs(Authenticate(state.generation))
    assert not state.needs(Authenticate(state.generation - 1))


def test_renewal_margin_is_capped_at_fifteen_minutes() -> None:
    now = [0.0]
    state = TokenState(lambda: now[0])
    state.store(make_jwt(86400), None)
    now[0] = 86400 - 901
    assert state.usable_token() is not None
    now[0] = 86400 - 899
    assert state.usable_token() is None


def test_retry_policy_backoff_is_bounded_and_jittered() -> None:
    policy = RetryPolicy(max_attempts=6, backoff_initial=1, backoff_max=4, max_elapsed=100)
    rng = random.Random(1)
    delays = [policy.delay(attempt, 0, rng) for attempt in range(1, 6)]
    ceilings = [1, 2, 4, 4, 4]
    assert all(d is not None and 0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert policy.delay(6, 0, rng) is None  # attempts exhausted
    assert policy.delay(1, 99.9, rng, retry_after=1) is None  # total time exhausted
    assert policy.delay(1, 0, rng, retry_after=7) == 7
    assert policy.delay(1, 0, rng, retry_after=121) is None  # longer than max_retry_after


@pytest.mark.parametrize(("value", "expected"), [("3", 3.0), (" 1.5 ", 1.5), ("-1", 0.0), (None, None)])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_http_date_retry_after_falls_back_to_backoff() -> None:
    assert parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None


def test_credentials_need_a_login_or_a_token() -> None:
    with pytest.raises(TwinConfigError, match="e-mail .* and password, or an api_token"):
        TwinCredentials(email="ops@example.com")
    assert TwinCredentials(api_token="t").uses_static_token


def test_secrets_are_not_in_repr() -> None:
    text = repr(TwinCredentials(email="a@b.c", password="hunter22", api_token="tok-123"))
    assert "hunter22" not in text
    assert "tok-123" not in text


@pytest.mark.parametrize("field", ["iam_url", "notify_url", "chat_url"])
def test_endpoints_must_be_http_urls(field: str) -> None:
    with pytest.raises(TwinConfigError, match=field):
        TwinEndpoints(**{field: "notify.twin24.ai"})


def test_endpoints_reject_a_non_websocket_realtime_url() -> None:
    with pytest.raises(TwinConfigError, match="centrifugo_url"):
        TwinEndpoints(centrifugo_url="https://twin24.ai/centrifugo")


def test_default_endpoints_are_the_production_hosts() -> None:
    endpoints = TwinEndpoints()
    assert endpoints.notify_url == "https://notify.twin24.ai/api/v1"
    assert endpoints.chat_url == "https://chat-api.twin24.ai/api/v1"
    assert endpoints.iam_url == "https://iam.twin24.ai/api/v1"


def test_default_timeouts_follow_twin_sdk() -> None:
    cfg = TwinClientConfig(TwinCredentials(api_token="t"))
    assert (cfg.connect_timeout, cfg.read_timeout) == (5.0, 60.0)


def test_request_building() -> None:
    engine = Engine(config())
    request = engine.build_request(notify.cancel_messages(ids="m1"), "tok")
    assert request.method == "DELETE"
    assert str(request.url) == "http://twin.test/notify/api/v1/messages"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.content == b'{"id":"m1","bulkId":null,"groupId":null,"flowId":null}'


def test_clients_share_one_tls_context_built_from_the_trust_store_httpx_uses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import ssl

    import certifi

    from airflow_provider_twin.client import AsyncTwinClient, TwinClient
    from airflow_provider_twin.client.core.http import _tls_context, tls_context

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    shared = tls_context()
    assert shared.verify_mode == ssl.CERT_REQUIRED
    assert shared.check_hostname
    assert tls_context() is shared, "built once per process, not once per client"
    with TwinClient(config()) as one, TwinClient(config()) as two:
        assert one._http._transport._pool._ssl_context is shared  # type: ignore[attr-defined]
        assert two._http._transport._pool._ssl_context is shared  # type: ignore[attr-defined]
    assert AsyncTwinClient(config())._http._transport._pool._ssl_context is shared  # type: ignore[attr-defined]

    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    own = tls_context()
    assert own is not shared, "SSL_CERT_FILE picks another trust store, as it does for httpx"
    assert _tls_context.cache_info().currsize >= 2
