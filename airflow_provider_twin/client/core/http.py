"""httpx settings shared by the sync and async clients."""

from __future__ import annotations

import functools
import os
import ssl
from typing import Any

import certifi
import httpx

from airflow_provider_twin.client.core.config import TwinClientConfig


def http_options(config: TwinClientConfig) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client`` / ``httpx.AsyncClient``."""
    return {
        "timeout": httpx.Timeout(config.read_timeout, connect=config.connect_timeout),
        "limits": httpx.Limits(
            max_connections=config.max_connections, max_keepalive_connections=config.max_connections
        ),
        "follow_redirects": False,
        "verify": tls_context(),
    }


def tls_context() -> ssl.SSLContext:
    """The certificate-verifying TLS context every client of this process shares.

    httpx would build a new context for each client, reading the whole CA bundle each time (tens
    of milliseconds of CPU): a cost every task, sensor poke and trigger poll paid again. The
    trust store is the one httpx picks (``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else
    certifi's bundle); a context is read-only once built, so sharing it is safe.
    """
    return _tls_context(os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)


@functools.lru_cache(maxsize=4)
def _tls_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile:
        return ssl.create_default_context(cafile=cafile)
    if capath:
        return ssl.create_default_context(capath=capath)
    return ssl.create_default_context(cafile=certifi.where())
