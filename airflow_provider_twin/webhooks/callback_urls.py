"""The ``callbackUrl`` TWIN calls for an asset, and the per-asset token that proves a call is ours.

TWIN signs nothing (twin-api.md §3.2.7): the only thing a webhook call carries that a forger
cannot guess is its URL. So each asset gets its own token, ``HMAC-SHA256(secret, asset_name)``
in URL-safe base64 without padding, and the URL TWIN is given is::

    <webhook_base_url>/twin-webhooks/assets/<asset name, percent-encoded>?token=<token>

The master secret (``[twin] webhook_secret``) never leaves the Airflow configuration; a token
leaks only its own asset (one token cannot be turned into another's). Changing the secret
changes every token, which is how tokens are rotated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote, urlencode

from airflow_provider_twin.client import TwinConfigError

#: The Airflow configuration section of the webhook options (see get_provider_info "config").
CONFIG_SECTION = "twin"
SECRET_OPTION = "webhook_secret"  # noqa: S105 - the option's name, not a secret
BASE_URL_OPTION = "webhook_base_url"
#: Where the plugin's FastAPI app is mounted on Airflow's API server.
URL_PREFIX = "/twin-webhooks"
#: TWIN's limit on ``callbackUrl`` (twin-api.md §3.2.2).
MAX_CALLBACK_URL_BYTES = 4000


def webhook_token(secret: str, asset_name: str) -> str:
    """The token of ``asset_name``'s webhook URL: URL-safe base64 of HMAC-SHA256, no padding."""
    if not secret:
        raise TwinConfigError(f"[{CONFIG_SECTION}] {SECRET_OPTION} is empty: set a long random secret")
    digest = hmac.new(secret.encode(), asset_name.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_matches(secret: str, asset_name: str, token: str | None) -> bool:
    """Whether ``token`` is ``asset_name``'s token, compared in constant time."""
    if not token or not secret:
        return False
    return hmac.compare_digest(webhook_token(secret, asset_name).encode(), token.encode())


def asset_path(asset_name: str) -> str:
    """The receiver's path for ``asset_name`` (without the token), every reserved byte encoded."""
    return f"{URL_PREFIX}/assets/{quote(asset_name, safe='')}"


def _configured(option: str) -> str | None:
    """``[twin] <option>`` from Airflow's configuration (also ``AIRFLOW__TWIN__<OPTION>``)."""
    from airflow.sdk import conf  # noqa: PLC0415 - the pure URL functions need no Airflow

    value = conf.get(CONFIG_SECTION, option, fallback=None)
    return str(value).strip() if value else None


def configured_secret() -> str | None:
    """The master secret ``[twin] webhook_secret`` (``None`` when not set)."""
    return _configured(SECRET_OPTION)


def callback_url(asset_name: str, *, base_url: str | None = None, secret: str | None = None) -> str:
    """The ``callbackUrl`` that makes TWIN's status webhooks events of the asset ``asset_name``.

    :param asset_name: the name of an asset some DAG defines (the receiver answers 404 otherwise).
    :param base_url: the URL TWIN reaches Airflow's API server at; default ``[twin] webhook_base_url``.
    :param secret: the master secret; default ``[twin] webhook_secret``.
    :return: the URL, with the asset's token in its query string.
    :raises TwinConfigError: the base URL or the secret is not configured, or the URL is too long.
    """
    if not asset_name:
        raise TwinConfigError("asset_name is empty: name the asset the webhooks feed")
    base = base_url if base_url is not None else _configured(BASE_URL_OPTION)
    key = secret if secret is not None else configured_secret()
    if not base:
        raise TwinConfigError(
            f"[{CONFIG_SECTION}] {BASE_URL_OPTION} is not set: the URL TWIN can reach Airflow's API "
            "server at, e.g. https://airflow.example.com"
        )
    if not base.startswith(("http://", "https://")):
        raise TwinConfigError(f"[{CONFIG_SECTION}] {BASE_URL_OPTION} must start with https:// or http://")
    if not key:
        raise TwinConfigError(
            f"[{CONFIG_SECTION}] {SECRET_OPTION} is not set (or AIRFLOW__TWIN__WEBHOOK_SECRET): "
            "the secret the webhook tokens derive from"
        )
    query = urlencode({"token": webhook_token(key, asset_name)})
    url = f"{base.rstrip('/')}{asset_path(asset_name)}?{query}"
    if len(url.encode()) > MAX_CALLBACK_URL_BYTES:
        raise TwinConfigError(
            f"the callbackUrl of asset {asset_name!r} is {len(url.encode())} bytes; "
            f"TWIN takes at most {MAX_CALLBACK_URL_BYTES}: shorten the asset name or the base URL"
        )
    return url


__all__ = [
    "BASE_URL_OPTION",
    "CONFIG_SECTION",
    "SECRET_OPTION",
    "URL_PREFIX",
    "asset_path",
    "callback_url",
    "configured_secret",
    "token_matches",
    "webhook_token",
]
