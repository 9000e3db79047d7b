"""Operators that act on TWIN chat sessions: close one, read its transcript, list sessions.

Thin adapters over the hook's chat methods (the procedures live in
:mod:`airflow_provider_twin.client.chat`, twin-api.md §4): each resolves its templated inputs,
runs one procedure and returns a small JSON result. ``session_id`` takes an id, a start
operator's result or a close sensor's payload, so ``.expand(session_id=closed.output)`` maps an
action over the sessions a sensor saw close. Docs: docs/chat.md "Session actions".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_twin.client import TwinError, TwinInputError, TwinNotFoundError
from airflow_provider_twin.client.chat import (
    CLOSED_STATUSES,
    DEFAULT_LISTED_SESSIONS,
    DEFAULT_TRANSCRIPT_MESSAGES,
    author_type_set,
    closed_status_set,
    session_filters,
    session_ref,
)
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.failures import airflow_error

if TYPE_CHECKING:
    from airflow.sdk import Context

R = TypeVar("R")


class _ChatSessionAction(BaseOperator):
    """Runs one hook call; a TWIN error ends the task right (an unknown session fails for good)."""

    ui_color = "#e6f4ea"

    def __init__(self, *, twin_conn_id: str = TwinHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.twin_conn_id = twin_conn_id

    def _run(self, call: Callable[[TwinHook], R]) -> R:
        hook = TwinHook(twin_conn_id=self.twin_conn_id)
        try:
            return call(hook)
        except TwinNotFoundError as exc:
            raise AirflowFailException(f"{self.task_id}: {exc}") from exc
        except TwinInputError as exc:
            raise AirflowFailException(f"{self.task_id}: {exc}") from None
        except TwinError as exc:
            raise airflow_error(exc) from exc
        finally:
            hook.close()

    def _session_id(self, value: Any) -> str:
        try:
            return session_ref(value)
        except TwinInputError as exc:
            raise AirflowFailException(f"{self.task_id}: {exc}") from None


class TwinCloseChatSessionOperator(_ChatSessionAction):
    """Close a TWIN chat session (``DELETE /sessions/{id}`` with ``{"result": …}``, twin-api.md §4.1).

    Idempotent: a session already closed (by TWIN's ttl, the client, or an earlier try of this
    task) is a success with ``"closed": False``; an unknown session fails the task.

    Returned (XCom)::

        {"session_id": "…", "closed": True, "status": "CLOSED", "result": "resolved"}

    :param session_id: the session (an id, a start operator's result or a close sensor's payload).
        Templated.
    :param result: the close's outcome label (the chat's ``results`` settings name them, §4.6).
        Templated.
    :param closed_statuses: session statuses that mean closed (default ``CLOSED``; TWIN does not
        document the enum, §7.15).
    :param twin_conn_id: the ``twin`` connection.
    """

    template_fields: Sequence[str] = ("session_id", "result")

    def __init__(
        self,
        *,
        session_id: Any,
        result: str = "",
        closed_statuses: str | Iterable[str] = CLOSED_STATUSES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.session_id = session_id
        self.result = result
        self.closed_statuses = closed_status_set(closed_statuses)

    def execute(self, context: Context) -> dict[str, Any]:
        """Close the session unless it is closed already."""
        session_id = self._session_id(self.session_id)
        outcome = self._run(
            lambda hook: hook.close_chat_session(session_id, self.result, self.closed_statuses)
        )
        self.log.info(
            "Chat session %s %s", session_id, "closed" if outcome["closed"] else "was closed already"
        )
        return dict(outcome)


class TwinChatTranscriptOperator(_ChatSessionAction):
    """Read a chat session's transcript: every page of ``GET /sessions/{id}/messages`` (§4.5).

    Messages come oldest first as ``{"id", "author_type", "author_name", "body", "created_at",
    "read_at", "reply_to_id", "attachments"}``; attachments keep their id, name, type and size,
    never their links (which may be signed). Bodies longer than 4096 characters are cut.

    Returned (XCom)::

        {"session_id": "…", "messages": [...], "count": 3, "truncated": False}

    :param session_id: the session (an id, a start operator's result or a close sensor's payload,
        so ``.expand(session_id=closed.output)`` reads every closed session). Templated.
    :param author_types: keep only these authors, e.g. ``["CLIENT", "BOT"]``; default all.
    :param max_messages: most messages returned (default 500, at most 10000); ``truncated``
        says when the session had more.
    :param max_chars: most characters (of JSON) the messages take in all, default 1 000 000
        (about 1 MB: the transcript is an XCom); ``truncated`` says when it left some out.
    :param twin_conn_id: the ``twin`` connection.
    """

    template_fields: Sequence[str] = ("session_id",)

    def __init__(
        self,
        *,
        session_id: Any,
        author_types: str | Iterable[str] | None = None,
        max_messages: int = DEFAULT_TRANSCRIPT_MESSAGES,
        max_chars: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.session_id = session_id
        self.author_types = author_type_set(author_types)
        self.max_messages = max_messages
        self.max_chars = max_chars

    def execute(self, context: Context) -> dict[str, Any]:
        """Read the transcript."""
        session_id = self._session_id(self.session_id)
        transcript = self._run(
            lambda hook: hook.chat_transcript(
                session_id,
                author_types=self.author_types,
                max_messages=self.max_messages,
                max_chars=self.max_chars,
            )
        )
        self.log.info(
            "Chat session %s: %d message(s)%s",
            session_id,
            transcript["count"],
            " (more left out: max_messages or max_chars)" if transcript["truncated"] else "",
        )
        return dict(transcript)


class TwinListChatSessionsOperator(_ChatSessionAction):
    """List TWIN chat sessions by the documented filters (``GET /sessions``, twin-api.md §4.4).

    Returned (XCom), each key also its own XCom (``listed.output["session_ids"]`` maps a sensor
    or an action over the sessions)::

        {"session_ids": ["…"], "sessions": [{"session_id", "chat_id", "name", "status",
         "bot_status", "started_at", "closed_at", "client_id", "messenger_type",
         "last_message_at"}], "total": 12, "truncated": False}

    :param chat_id: sessions of this chat. Templated.
    :param name: sessions with this name (e.g. a send's ``chatSessionName``). Templated.
    :param status: e.g. ``OPEN`` or ``CLOSED`` (TWIN does not document the enum). Templated.
    :param filters: further filters by TWIN's or snake_case names: ``sessionId``, ``from``/``to``
        (ISO-8601 or datetime, on the start time), ``markedAsSpam``, ``operatorId``,
        ``operatorType``, ``botStatus``, ``groupByClientId``, ``tags``, ``clientBanned``,
        ``keyword``. Templated.
    :param max_sessions: most sessions returned (default 100, at most 10000).
    :param twin_conn_id: the ``twin`` connection.
    """

    template_fields: Sequence[str] = ("chat_id", "name", "status", "filters")
    template_fields_renderers: ClassVar[dict[str, str]] = {"filters": "json"}

    def __init__(
        self,
        *,
        chat_id: str | None = None,
        name: str | None = None,
        status: str | None = None,
        filters: Mapping[str, Any] | None = None,
        max_sessions: int = DEFAULT_LISTED_SESSIONS,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(**kwargs)
        self.chat_id = chat_id
        self.name = name
        self.status = status
        self.filters = filters
        self.max_sessions = max_sessions
        if isinstance(filters, Mapping):
            session_filters(filters)  # an unknown filter name fails the DAG's import

    def execute(self, context: Context) -> dict[str, Any]:
        """List the sessions."""
        if self.filters is not None and not isinstance(self.filters, Mapping):
            raise AirflowFailException(f"{self.task_id}: filters must be a mapping, got {self.filters!r}")
        named = {"chatId": self.chat_id, "name": self.name, "status": self.status}
        chosen = {**(self.filters or {}), **{key: value for key, value in named.items() if value}}
        listing = self._run(lambda hook: hook.list_chat_sessions(chosen, max_sessions=self.max_sessions))
        self.log.info(
            "%d chat session(s) listed of %d%s",
            len(listing["session_ids"]),
            listing["total"],
            " (more left out: max_sessions)" if listing["truncated"] else "",
        )
        return dict(listing)


__all__ = ["TwinChatTranscriptOperator", "TwinCloseChatSessionOperator", "TwinListChatSessionsOperator"]
