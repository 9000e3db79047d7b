"""What every TWIN domain builds on: configuration, auth, retries, errors and the clients.

:class:`~.engine.Engine` is the one implementation of request building, token renewal,
retries and error mapping; :class:`~.sync_client.TwinClient` and
:class:`~.async_client.AsyncTwinClient` are the two drivers that perform its effects.
"""

from __future__ import annotations

from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.core.config import (
    DEFAULT_CENTRIFUGO_URL,
    DEFAULT_CHAT_URL,
    DEFAULT_IAM_URL,
    DEFAULT_NOTIFY_URL,
    DEFAULT_TOKEN_TTL,
    TwinClientConfig,
    TwinCredentials,
    TwinEndpoints,
)
from airflow_provider_twin.client.core.errors import TwinConfigError, TwinError, error_summary, is_transient
from airflow_provider_twin.client.core.flows import Gather, Procedure, Sleep
from airflow_provider_twin.client.core.loop_resources import SharedResources
from airflow_provider_twin.client.core.problems import Problems
from airflow_provider_twin.client.core.retry import RetryPolicy
from airflow_provider_twin.client.core.sync_client import TwinClient

__all__ = [
    "DEFAULT_CENTRIFUGO_URL",
    "DEFAULT_CHAT_URL",
    "DEFAULT_IAM_URL",
    "DEFAULT_NOTIFY_URL",
    "DEFAULT_TOKEN_TTL",
    "ApiCall",
    "AsyncTwinClient",
    "Gather",
    "Problems",
    "Procedure",
    "RetryPolicy",
    "SharedResources",
    "Sleep",
    "TwinClient",
    "TwinClientConfig",
    "TwinConfigError",
    "TwinCredentials",
    "TwinEndpoints",
    "TwinError",
    "error_summary",
    "is_transient",
]
