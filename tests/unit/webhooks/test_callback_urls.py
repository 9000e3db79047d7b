"""The callbackUrl of an asset and its token: stable, per asset, never the secret itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from airflow_provider_twin.client import TwinConfigError
from airflow_provider_twin.webhooks import callback_url, webhook_token
from airflow_provider_twin.webhooks.callback_urls import token_matches

SECRET = "correct horse battery staple"


def test_the_token_is_the_unpadded_urlsafe_hmac_of_the_asset_name() -> None:
    digest = hmac.new(SECRET.encode(), b"twin.delivered", hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert webhook_token(SECRET, "twin.delivered") == expected
    assert len(expected) == 43
    assert "=" not in expected


def test_each_asset_has_its_own_token_and_another_secret_changes_them_all() -> None:
    assert webhook_token(SECRET, "a") != webhook_token(SECRET, "b")
    assert webhook_token(SECRET, "a") != webhook_token(SECRET + "!", "a")


def test_a_token_matches_its_asset_only() -> None:
    token = webhook_token(SECRET, "a")
    assert token_matches(SECRET, "a", token)
    assert not token_matches(SECRET, "b", token)
    assert not token_matches(SECRET, "a", token[:-1])
    assert not token_matches(SECRET, "a", None)
    assert not token_matches("", "a", token)


def test_the_url_holds_the_encoded_asset_name_and_its_token_never_the_secret() -> None:
    url = callback_url("crm/chat closed?", base_url="https://airflow.example.com/", secret=SECRET)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "airflow.example.com")
    assert parts.path == "/twin-webhooks/assets/crm%2Fchat%20closed%3F"
    assert unquote(parts.path.rpartition("/")[2]) == "crm/chat closed?"
    assert parse_qs(parts.query) == {"token": [webhook_token(SECRET, "crm/chat closed?")]}
    assert SECRET not in unquote(url)


def test_the_url_reads_the_airflow_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__TWIN__WEBHOOK_BASE_URL", "http://127.0.0.1:8080")
    monkeypatch.setenv("AIRFLOW__TWIN__WEBHOOK_SECRET", SECRET)
    assert callback_url("a") == callback_url("a", base_url="http://127.0.0.1:8080", secret=SECRET)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"secret": SECRET}, "webhook_base_url is not set"),
        ({"base_url": "airflow.example.com", "secret": SECRET}, "must start with https://"),
        ({"base_url": "https://airflow.example.com"}, "webhook_secret is not set"),
    ],
)
def test_missing_configuration_is_named(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, str], named: str
) -> None:
    monkeypatch.delenv("AIRFLOW__TWIN__WEBHOOK_BASE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW__TWIN__WEBHOOK_SECRET", raising=False)
    with pytest.raises(TwinConfigError, match=named):
        callback_url("a", **kwargs)


def test_a_url_longer_than_twin_takes_is_refused() -> None:
    with pytest.raises(TwinConfigError, match="at most 4000"):
        callback_url("x" * 4000, base_url="https://airflow.example.com", secret=SECRET)
