"""Pure TWIN API client: auth, retries, notify and chat calls. It never imports Airflow.

Calls are built as data by :mod:`.notify` and :mod:`.chat` and sent by either client::

    from airflow_provider_twin.client import TwinClient, TwinClientConfig, TwinCredentials, notify

    config = TwinClientConfig(TwinCredentials(email="ops@example.com", password="..."))
    with TwinClient(config) as twin:
        delivered = twin.send(notify.count_messages(bulk_ids=[bulk_id], status="DELIVERED"))
"""

from __future__ import annotations

from airflow_provider_twin.client import chat, notify
from airflow_provider_twin.client.async_client import AsyncTwinClient
from airflow_provider_twin.client.calls import ApiCall
from airflow_provider_twin.client.config import TwinClientConfig, TwinCredentials, TwinEndpoints
from airflow_provider_twin.client.errors import (
    TwinAPIError,
    TwinAuthError,
    TwinConfigError,
    TwinConflictError,
    TwinError,
    TwinInputError,
    TwinNotFoundError,
    TwinProtocolError,
    TwinRateLimited,
    TwinServerError,
    TwinTransportError,
    TwinValidationError,
)
from airflow_provider_twin.client.retry import RetryPolicy
from airflow_provider_twin.client.sync_client import TwinClient

__all__ = [
    "ApiCall",
    "AsyncTwinClient",
    "RetryPolicy",
    "TwinAPIError",
    "TwinAuthError",
    "TwinClient",
    "TwinClientConfig",
    "TwinConfigError",
    "TwinConflictError",
    "TwinCredentials",
    "TwinEndpoints",
    "TwinError",
    "TwinInputError",
    "TwinNotFoundError",
    "TwinProtocolError",
    "TwinRateLimited",
    "TwinServerError",
    "TwinTransportError",
    "TwinValidationError",
    "chat",
    "notify",
]
