"""``TwinHook``: the ``twin`` Airflow connection, turned into ready TWIN clients."""

from __future__ import annotations

from functools import cached_property
from typing import Any, TypeVar

from airflow.sdk import BaseHook

from airflow_provider_twin.client import AsyncTwinClient, TwinClient, TwinClientConfig, TwinError, notify
from airflow_provider_twin.hooks import secret_masking
from airflow_provider_twin.hooks.connection import chat_user_id, client_config

C = TypeVar("C", TwinClient, AsyncTwinClient)

#: Hook arguments that would carry credentials outside the connection: refused.
_CREDENTIAL_ARGUMENTS = frozenset({"token", "api_token", "password", "login", "email", "refresh_token"})


class TwinHook(BaseHook):
    """Interact with TWIN (twin24.ai) through the ``twin`` connection.

    Credentials live only in the connection: the account e-mail (login) and password, or a
    static ``api_token`` extra. The hook builds one pooled client per instance, sync and/or
    async, which log in, renew tokens and retry as configured.

    :param twin_conn_id: the ``twin`` connection to use.
    """

    conn_name_attr = "twin_conn_id"
    default_conn_name = "twin_default"
    conn_type = "twin"
    hook_name = "TWIN"

    def __init__(self, twin_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        refused = sorted(_CREDENTIAL_ARGUMENTS & set(kwargs))
        if refused:
            raise ValueError(
                f"TwinHook does not take {', '.join(refused)}: credentials live in the Airflow "
                f"connection {twin_conn_id!r} (login/password or the api_token extra)"
            )
        super().__init__(**kwargs)
        self.twin_conn_id = twin_conn_id
        self._client: TwinClient | None = None
        self._async_client: AsyncTwinClient | None = None

    @cached_property
    def client_config(self) -> TwinClientConfig:
        """The client configuration read from the connection."""
        return client_config(self.get_connection(self.twin_conn_id))

    @cached_property
    def chat_user_id(self) -> str | None:
        """The connection's ``user_id`` extra (the chat widget user sent on realtime connect)."""
        return chat_user_id(self.get_connection(self.twin_conn_id))

    async def get_chat_user_id(self) -> str | None:
        """:attr:`chat_user_id`, reading the connection without blocking (in a triggerer)."""
        return chat_user_id(await self.aget_connection(self.twin_conn_id))

    def get_conn(self) -> TwinClient:
        """The sync client (same as :meth:`get_client`)."""
        return self.get_client()

    def get_client(self) -> TwinClient:
        """The hook's sync client, created on first use."""
        if self._client is None:
            self._client = self._prepare(TwinClient(self.client_config))
        return self._client

    async def get_async_client(self) -> AsyncTwinClient:
        """The hook's async client, created on first use; reads the connection without blocking."""
        if self._async_client is None:
            conn = await self.aget_connection(self.twin_conn_id)
            self._async_client = self._prepare(AsyncTwinClient(client_config(conn)))
        return self._async_client

    @staticmethod
    def _prepare(client: C) -> C:
        mask = secret_masking.mask_secret
        client.engine.on_new_token = mask
        token = client.engine.tokens.current()
        if token:
            mask(token)
        return client

    def close(self) -> None:
        """Close the sync client's connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close both clients' connections."""
        self.close()
        if self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None

    def test_connection(self) -> tuple[bool, str]:
        """Log in and make one read-only call (count messages); never sends anything."""
        try:
            client = self.get_client()
            client.send(notify.count_messages(status="DELIVERED"))
        except TwinError as exc:
            return False, str(exc)
        finally:
            self.close()
        who = self.client_config.credentials.email or "the api_token"
        return True, f"Connected to TWIN at {self.client_config.endpoints.notify_url} as {who}"
