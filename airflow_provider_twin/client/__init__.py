"""Pure TWIN API client, by domain. It never imports Airflow.

* :mod:`.core`: configuration, IAM auth, the one engine of retries and errors, the sync and
  async clients that drive it;
* :mod:`.messages`: TWIN notify (campaigns, status, cancel): calls, validation, bulk sending;
* :mod:`.chat`: TWIN chat sessions and their realtime events.

A conversation of the chat domain (an approval's question, help and outcome:
``chat.chat_message``) is sent through notify's ``chat`` channel at most once by
:func:`chat_message_procedure` (``TwinClient.run``) or :func:`send_chat` (async), exported
here so that a chat adapter reaches it through this face.

The sessions a send's ``chat`` channel opened are found after the send by
:class:`CampaignChatSessions` (chat domain), exported here so that the send operator, a
messages adapter, reaches it through this face.

Every event source (message statuses, chat sessions, status webhooks) gives
:class:`TwinEvent` s with stable ids; :class:`SeenEvents` is a stream's cursor.

Calls are data built by the domains (``notify`` is :mod:`.messages.api`, ``chat`` the chat
domain) and sent by either client::

    from airflow_provider_twin.client import TwinClient, TwinClientConfig, TwinCredentials, notify

    config = TwinClientConfig(TwinCredentials(email="ops@example.com", password="..."))
    with TwinClient(config) as twin:
        delivered = twin.send(notify.count_messages(bulk_ids=[bulk_id], status="DELIVERED"))
"""

from __future__ import annotations

from airflow_provider_twin.client import chat
from airflow_provider_twin.client.chat.campaign_sessions import CampaignChatSessions, CampaignSessionsSummary
from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.core.config import TwinClientConfig, TwinCredentials, TwinEndpoints
from airflow_provider_twin.client.core.deadlines import epoch_seconds, positive_seconds
from airflow_provider_twin.client.core.errors import (
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
    TwinTokenRejected,
    TwinTransportError,
    TwinValidationError,
    error_summary,
    is_transient,
)
from airflow_provider_twin.client.core.loop_resources import SharedResources
from airflow_provider_twin.client.core.retry import RetryPolicy
from airflow_provider_twin.client.core.sync_client import TwinClient
from airflow_provider_twin.client.core.twin_events import SeenEvents, TwinEvent
from airflow_provider_twin.client.messages import api as notify
from airflow_provider_twin.client.messages.chat_delivery import (
    DEFAULT_CHAT_ATTEMPTS,
    chat_message_procedure,
    send_chat,
)

__all__ = [
    "DEFAULT_CHAT_ATTEMPTS",
    "ApiCall",
    "AsyncTwinClient",
    "CampaignChatSessions",
    "CampaignSessionsSummary",
    "RetryPolicy",
    "SeenEvents",
    "SharedResources",
    "TwinAPIError",
    "TwinAuthError",
    "TwinClient",
    "TwinClientConfig",
    "TwinConfigError",
    "TwinConflictError",
    "TwinCredentials",
    "TwinEndpoints",
    "TwinError",
    "TwinEvent",
    "TwinInputError",
    "TwinNotFoundError",
    "TwinProtocolError",
    "TwinRateLimited",
    "TwinServerError",
    "TwinTokenRejected",
    "TwinTransportError",
    "TwinValidationError",
    "chat",
    "chat_message_procedure",
    "epoch_seconds",
    "error_summary",
    "is_transient",
    "notify",
    "positive_seconds",
    "send_chat",
]
