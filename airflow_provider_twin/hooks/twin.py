"""``TwinHook``: the ``twin`` Airflow connection, turned into ready TWIN clients."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any, TypeVar

from airflow.sdk import BaseHook

from airflow_provider_twin.client import (
    AsyncTwinClient,
    TwinClient,
    TwinClientConfig,
    TwinError,
    chat,
    notify,
)
from airflow_provider_twin.client.files import (
    DownloadedFile,
    FileLimits,
    FileMetadata,
    Upload,
    download_file,
    upload_procedure,
)
from airflow_provider_twin.client.messages import (
    SendJobPlan,
    SendJobProgress,
    SendJobSummary,
    TemplateData,
    TemplatePage,
    TemplateUpsert,
    control_send_job,
    create_template,
    find_template,
    list_templates,
    read_send_job,
    remove_template,
    start_send_job,
    template_body,
    update_template,
    upsert_template,
)
from airflow_provider_twin.hooks import secret_masking
from airflow_provider_twin.hooks.connection import chat_user_id, client_config
from airflow_provider_twin.hooks.file_sources import FileSource, read_upload

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

    # -- notify templates: thin calls of client.messages.templates (docs/templates.md) ---------------
    def list_templates(
        self,
        *,
        name: str | None = None,
        company_id: int | str | None = None,
        ids: str | Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> TemplatePage:
        """One page of the stored templates matching the filters (``{count, items}``)."""
        call = list_templates(name=name, company_id=company_id, ids=ids, limit=limit, offset=offset)
        return self.get_client().send(call)

    def get_template(self, template_id: str) -> TemplateData | None:
        """The stored template ``template_id`` names (one GET), or None when TWIN has none."""
        return self.get_client().run(find_template(template_id))

    def create_template(
        self, name: str, channels: Any, text: str | None = None, allowed_time_ranges: Any = None
    ) -> str:
        """Store a new template (checked first, see :func:`template_body`); returns its id."""
        body = template_body(name, channels, text, allowed_time_ranges)
        return self.get_client().send(create_template(body))

    def update_template(
        self,
        template_id: str,
        name: str,
        channels: Any,
        text: str | None = None,
        allowed_time_ranges: Any = None,
    ) -> None:
        """Replace a stored template's name, channels and send windows."""
        body = template_body(name, channels, text, allowed_time_ranges)
        self.get_client().send(update_template(template_id, body))

    def delete_template(self, template_id: str) -> bool:
        """Delete a template; False when TWIN had none (so a retry is no failure)."""
        return self.get_client().run(remove_template(template_id))["deleted"]

    def upsert_template(
        self, name: str, channels: Any, text: str | None = None, allowed_time_ranges: Any = None
    ) -> TemplateUpsert:
        """Make the template called ``name`` hold these channels: updated when one exists, else
        created, never twice across retries (:func:`upsert_template`)."""
        body = template_body(name, channels, text, allowed_time_ranges)
        return self.get_client().run(upsert_template(body))

    # -- chat sessions: thin calls of the procedures in client.chat (docs/chat.md) ---------------------
    def close_chat_session(
        self, session_id: str, result: str = "", closed_statuses: Iterable[str] = chat.CLOSED_STATUSES
    ) -> chat.CloseOutcome:
        """Close a chat session (``DELETE /sessions/{id}``); one closed already: ``closed=False``."""
        return self.get_client().run(chat.close_once(session_id, result, closed_statuses))

    def chat_transcript(
        self,
        session_id: str,
        *,
        author_types: str | Iterable[str] | None = None,
        max_messages: int = chat.DEFAULT_TRANSCRIPT_MESSAGES,
        max_chars: int | None = None,
    ) -> chat.Transcript:
        """A chat session's messages, every page, oldest first (optionally only some authors)."""
        procedure = chat.read_transcript(
            session_id, author_types=author_types, max_messages=max_messages, max_chars=max_chars
        )
        return self.get_client().run(procedure)

    def list_chat_sessions(
        self, filters: Mapping[str, Any] | None = None, *, max_sessions: int = chat.DEFAULT_LISTED_SESSIONS
    ) -> chat.SessionListing:
        """Chat sessions by the documented filters (``chatId``, ``name``, ``status``, ``from``...)."""
        return self.get_client().run(chat.find_sessions(filters, max_sessions=max_sessions))

    def post_client_message(
        self,
        session_id: str,
        body: str,
        *,
        attachments: list[str] | None = None,
        reply_to_message_id: str | None = None,
    ) -> dict[str, Any]:
        """Post into a session **as its client** (the only documented path, twin-api.md §4.5);
        to send our own text to a person, use the ``chat`` channel of a Notify message."""
        call = chat.post_client_message(
            session_id, body, attachments=attachments, reply_to_message_id=reply_to_message_id
        )
        posted = self.get_client().send(call)
        return dict(posted)

    def mark_chat_message_read(self, message_id: str) -> None:
        """Mark a chat message read (``PATCH /messages/{id}/read``)."""
        self.get_client().send(chat.mark_message_read(message_id))

    def upload_file(
        self,
        source: FileSource,
        *,
        private: bool = False,
        ttl: int | None = None,
        path: str | None = None,
        name: str | None = None,
        content_type: str | None = None,
        source_conn_id: str | None = None,
        max_bytes: int | None = None,
    ) -> FileMetadata:
        """Upload one file to TWIN's file storage; the file is checked against the limits first.

        :param source: a local path, a URL or an Airflow ``ObjectStoragePath`` (read with its
            ``open()``).
        :param private: a private file is downloaded only with a token.
        :param ttl: seconds TWIN keeps the file.
        :param path: TWIN folder to store it in.
        :param name: the stored file name; default: the source's.
        :param content_type: the MIME type; default: guessed from the name.
        :param source_conn_id: the Airflow connection of a URL ``source``.
        :param max_bytes: the largest file accepted (default: the 10 MB of :class:`FileLimits`).
        :return: TWIN's metadata of the stored file (``id``, ``url``, ``downloadLink``...).
        :raises TwinInputError: the file breaks a limit; nothing was sent.
        """
        limits = FileLimits() if max_bytes is None else FileLimits(max_bytes=max_bytes)
        upload = read_upload(
            source, name=name, content_type=content_type, limits=limits, conn_id=source_conn_id
        )
        return self.upload_files([upload], private=private, ttl=ttl, path=path)[0]

    def upload_files(
        self,
        uploads: Sequence[Upload],
        *,
        private: bool = False,
        ttl: int | None = None,
        path: str | None = None,
    ) -> list[FileMetadata]:
        """Upload files already read and checked (:func:`~.file_sources.read_upload`) in one request."""
        return self.get_client().run(upload_procedure(uploads, private=private, ttl=ttl, path=path))

    def download_file(self, file_id: str) -> DownloadedFile:
        """Read a file back from TWIN's file storage (a private one with the connection's token)."""
        return self.get_client().send(download_file(file_id))

    def start_send_job(
        self, job: SendJobPlan, *, start: bool = True, settle_seconds: float = 1.0
    ) -> SendJobSummary:
        """Create, upload and start a TWIN send job exactly once across retries
        (:func:`~airflow_provider_twin.client.messages.start_send_job`)."""
        return self.get_client().run(start_send_job(job, start=start, settle_seconds=settle_seconds))

    def read_send_job(self, job_id: str, name: str | None = None) -> SendJobProgress:
        """A send job's status and counts (:func:`~airflow_provider_twin.client.messages.read_send_job`)."""
        return self.get_client().run(read_send_job(job_id, name))

    def control_send_job(self, job_id: str, action: str) -> str:
        """Pause, resume or cancel a send job; its status after it (``DELETED`` once cancelled)."""
        return self.get_client().run(control_send_job(job_id, action))

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
