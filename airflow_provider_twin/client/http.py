"""httpx settings shared by the sync and async clients."""

from __future__ import annotations

from typing import Any

import httpx

from airflow_provider_twin.client.config import TwinClientConfig


def http_options(config: TwinClientConfig) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client`` / ``httpx.AsyncClient``."""
    return {
        "timeout": httpx.Timeout(config.read_timeout, connect=config.connect_timeout),
        "limits": httpx.Limits(
            max_connections=config.max_connections, max_keepalive_connections=config.max_connections
        ),
        "follow_redirects": False,
    }
