"""``TwinStartChatSessionOperator``: start a TWIN chat-bot session exactly once.

A chat session is TWIN's conversation between a client and a chat's bot (twin-api.md §4.2). The
operator takes every field of the start request as a templated argument, has it checked before
sending, and gives the session a deterministic caller-chosen ``sessionId`` derived from the task
instance, so Airflow retries and lost responses never start a second session: an existing
session with that id is reused instead (:mod:`airflow_provider_twin.client.chat`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_twin.client import (
    TwinAuthError,
    TwinConfigError,
    TwinError,
    TwinInputError,
    TwinNotFoundError,
    TwinValidationError,
)
from airflow_provider_twin.client.chat import BODY_FIELDS, session_id_for, start_once, start_request
from airflow_provider_twin.hooks.twin import TwinHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class TwinStartChatSessionOperator(BaseOperator):
    """Start a TWIN chat-bot session (``POST /chats/{chatId}/sessions``), exactly once.

    Every field of TWIN's start request is an argument (snake_case), all templated; ``None``
    (or an empty string) leaves a field out. Everything is validated before the request, and
    invalid input fails the task without retries, listing each problem.

    **Exactly once.** The session gets a caller-chosen ``sessionId``: ``session_id`` when given,
    else a UUIDv5 of the DAG, run, task, map index and ``idempotency_key``, the same on every try.
    A retry (or a repeat after a lost response) therefore cannot start a second session: the
    session with that id is looked up and reused (``"reused": true`` in the result). With
    ``continue_session=True`` the request is ``PUT`` (continue the client's open session or start
    one, twin-api.md §4.3); it carries the same ``sessionId``, so a new session gets it, but when
    TWIN continued an older session a retry may send ``message_body`` again.

    **Dynamic task mapping.** Each mapped instance has its own map index, hence its own session:
    ``TwinStartChatSessionOperator.partial(task_id="start", chat_id=CHAT).expand(
    client_phone=phones)`` starts one session per lead.

    Returned (XCom) value, each key also its own XCom (``start.output["session_id"]``)::

        {"session_id": "…", "chat_id": "…", "client_id": "…", "started_at": "…", "ttl": 3600,
         "messages": [{"authorType": "BOT", "body": "Hello!", "answers": [...], ...}],
         "reused": False}

    ``messages`` are the bot's first messages from TWIN's answer; for a reused session, the
    session's bot and operator messages so far (at most 20).

    :param chat_id: the TWIN chat (widget) whose bot runs the session.
    :param session_id: the session id to use (a UUID); default: derived from the task instance.
    :param idempotency_key: distinguishes several sessions of one task instance; part of the
        derived session id.
    :param continue_session: continue the client's last open session instead of always starting
        a new one (``PUT``).
    :param name: session name.
    :param bot_id: the bot to run (UUID); default: the chat's bot.
    :param session_ttl: session lifetime in seconds, 1 to 43200 (TWIN's default 3600).
    :param messenger_type: messenger of the client, e.g. ``WHATSAPP``.
    :param messenger_user_id: the client's user id in that messenger.
    :param message_body: the client's first message.
    :param message_attachments: ids of attachments of the first message.
    :param client_name_for_operator: client name shown to operators.
    :param client_id: TWIN's client id.
    :param client_external_id: your own id of the client.
    :param client_phone: client phone number.
    :param client_email: client e-mail address.
    :param client_device_id: device id for push notifications.
    :param client_timezone: the client's UTC offset in minutes (e.g. 180 for UTC+3).
    :param client_metadata: key/value pairs the bot sees as variables.
    :param return_answer_async: TWIN's ``returnAnswerAsync`` flag.
    :param client_name: client's full name.
    :param client_first_name: client's first name.
    :param client_middle_name: client's middle name.
    :param client_last_name: client's last name.
    :param channel: channel name.
    :param referer: the page the client came from.
    :param variables: bot variables.
    :param callback_url: URL TWIN calls back for the session.
    :param callback_data: data echoed in those calls (a string; an object is sent as JSON).
    :param bot_node_id: start the bot at this node.
    :param event_callback_url: URL TWIN posts session events to.
    :param event_callback_data: data echoed in those posts (a string; an object is sent as JSON).
    :param notify_on_events: the events to post.
    :param reply_to_message_id: the message the first message answers.
    :param extra_body: further fields under their TWIN names (fields TWIN adds later).
    :param twin_conn_id: the ``twin`` connection.
    """

    template_fields: Sequence[str] = ("chat_id", "session_id", "idempotency_key", *BODY_FIELDS, "extra_body")
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "client_metadata": "json",
        "variables": "json",
        "extra_body": "json",
    }
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        chat_id: str,
        session_id: str | None = None,
        idempotency_key: str | None = None,
        continue_session: bool = False,
        name: str | None = None,
        bot_id: str | None = None,
        session_ttl: int | str | None = None,
        messenger_type: str | None = None,
        messenger_user_id: str | None = None,
        message_body: str | None = None,
        message_attachments: Sequence[str] | None = None,
        client_name_for_operator: str | None = None,
        client_id: str | None = None,
        client_external_id: str | None = None,
        client_phone: str | None = None,
        client_email: str | None = None,
        client_device_id: str | None = None,
        client_timezone: int | str | None = None,
        client_metadata: Mapping[str, Any] | str | None = None,
        return_answer_async: bool | None = None,
        client_name: str | None = None,
        client_first_name: str | None = None,
        client_middle_name: str | None = None,
        client_last_name: str | None = None,
        channel: str | None = None,
        referer: str | None = None,
        variables: Mapping[str, Any] | Sequence[Any] | str | None = None,
        callback_url: str | None = None,
        callback_data: str | Mapping[str, Any] | None = None,
        bot_node_id: str | None = None,
        event_callback_url: str | None = None,
        event_callback_data: str | Mapping[str, Any] | None = None,
        notify_on_events: Sequence[str] | None = None,
        reply_to_message_id: str | None = None,
        extra_body: Mapping[str, Any] | str | None = None,
        twin_conn_id: str = TwinHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("multiple_outputs", True)
        arguments = locals()
        super().__init__(**kwargs)
        self.chat_id = chat_id
        self.session_id = session_id
        self.idempotency_key = idempotency_key
        self.continue_session = continue_session
        for argument in BODY_FIELDS:  # one attribute per TWIN field, named as its argument
            setattr(self, argument, arguments[argument])
        self.extra_body = extra_body
        self.twin_conn_id = twin_conn_id

    # -- input ---------------------------------------------------------------------------------------
    def resolve_session_id(self, context: Context) -> str:
        """``session_id`` when given, else the task instance's deterministic id."""
        if self.session_id:
            return str(self.session_id)
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        return session_id_for(
            self.dag_id,
            str(context["dag_run"].run_id),
            self.task_id,
            -1 if map_index is None else int(map_index),
            None if self.idempotency_key is None else str(self.idempotency_key),
        )

    def build_request(self, session_id: str) -> tuple[str, dict[str, Any]]:
        """The checked chat id and request body.

        :raises TwinInputError: listing every problem.
        """
        values = {name: getattr(self, name) for name in BODY_FIELDS}
        return start_request(self.chat_id, session_id, values, self.extra_body)

    # -- run -----------------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        """Check the input, then start the session or reuse the one a previous try started."""
        session_id = self.resolve_session_id(context)
        try:
            chat_id, body = self.build_request(session_id)
        except TwinInputError as exc:
            raise AirflowFailException(f"{self.task_id}: {exc}") from None
        try_number = int(getattr(context["ti"], "try_number", 1) or 1)
        self.log.info(
            "%s chat session %s in chat %s",
            "Continuing or starting" if self.continue_session else "Starting",
            session_id,
            chat_id,
        )
        hook = TwinHook(twin_conn_id=self.twin_conn_id)
        try:
            procedure = start_once(
                chat_id, body, continue_session=self.continue_session, look_first=try_number > 1
            )
            result = hook.get_client().run(procedure)
        except TwinError as exc:
            raise self._airflow_error(exc) from exc
        finally:
            hook.close()
        self.log.info(
            "Chat session %s %s (client %s, %d bot message(s))",
            result["session_id"],
            "reused: an earlier try started it" if result["reused"] else "started",
            result["client_id"],
            len(result["messages"]),
        )
        return result

    def _airflow_error(self, exc: TwinError) -> AirflowException:
        """Errors a retry cannot fix fail the task for good; the others let Airflow retry."""
        if isinstance(exc, TwinNotFoundError):
            return AirflowFailException(f"{exc} (is the chat id right?)")
        if isinstance(exc, TwinInputError):
            return AirflowFailException(f"{self.task_id}: {exc}")
        if isinstance(exc, (TwinConfigError, TwinValidationError, TwinAuthError)):
            return AirflowFailException(str(exc))
        return AirflowException(str(exc))


__all__ = ["TwinStartChatSessionOperator"]
