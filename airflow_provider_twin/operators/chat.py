"""``TwinStartChatSessionOperator``: start a TWIN chat-bot session exactly once.

A chat session is TWIN's conversation between a client and a chat's bot (twin-api.md §4.2). The
operator builds the start request from keyword arguments (every field of §4.2, all templated),
validates it before sending, and gives the session a deterministic caller-chosen ``sessionId``
derived from the task instance, so Airflow retries and lost responses never start a second
session: an existing session with that id is reused instead.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_twin.client import chat
from airflow_provider_twin.client.chat.api import MAX_SESSION_TTL
from airflow_provider_twin.client.chat.models import SessionInfo
from airflow_provider_twin.client.core.errors import (
    TwinAuthError,
    TwinConfigError,
    TwinConflictError,
    TwinError,
    TwinInputError,
    TwinNotFoundError,
    TwinValidationError,
)
from airflow_provider_twin.client.core.sync_client import TwinClient
from airflow_provider_twin.hooks.twin import TwinHook

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Namespace of the deterministic session ids (UUIDv5 of the task instance identity).
SESSION_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://twin24.ai/airflow-provider-twin/chat-session")

#: Client UTC offsets TWIN can mean, in minutes (UTC-12:00 to UTC+14:00).
TIMEZONE_RANGE = (-720, 840)

#: How many bot/operator messages of a reused session are returned.
REUSED_MESSAGES_LIMIT = 20

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def session_id_for(dag_id: str, run_id: str, task_id: str, map_index: int, key: str | None = None) -> str:
    """The deterministic ``sessionId`` of a task instance (and an optional key).

    The same on every try of the task instance, different for each run, task, mapped instance
    and key. A UUIDv5, so TWIN accepts it as a session id (twin-api.md §4.2).
    """
    parts = [dag_id, run_id, task_id, str(map_index)]
    if key:
        parts.append(key)
    return str(uuid.uuid5(SESSION_ID_NAMESPACE, "|".join(parts)))


# -- body fields -------------------------------------------------------------------------------------
Check = Callable[[str, Any, list[str]], Any]


def _string(name: str, value: Any, problems: list[str]) -> Any:
    if not isinstance(value, str):
        problems.append(f"{name}: must be a string, got {type(value).__name__}")
    return value


def _text_or_json(name: str, value: Any, problems: list[str]) -> Any:
    """Callback data is a string in TWIN; an object or list is sent as its JSON text."""
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return _string(name, value, problems)


def _non_empty(name: str, value: Any, problems: list[str]) -> Any:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name}: must be a non-empty string")
    return value


def _uuid(name: str, value: Any, problems: list[str]) -> Any:
    if not isinstance(value, str) or not _UUID.match(value):
        problems.append(f"{name}: must be a UUID, got {value!r}")
    return value


def _email(name: str, value: Any, problems: list[str]) -> Any:
    if not isinstance(value, str) or not _EMAIL.match(value):
        problems.append(f"{name}: must be an e-mail address, got {value!r}")
    return value


def _integer(name: str, value: Any, problems: list[str], *, low: int, high: int, unit: str) -> Any:
    number = value
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        number = int(value)  # a rendered template is a string
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        problems.append(f"{name}: must be an integer from {low} to {high} {unit}, got {value!r}")
        return value
    return number


def _ttl(name: str, value: Any, problems: list[str]) -> Any:
    return _integer(name, value, problems, low=1, high=MAX_SESSION_TTL, unit="seconds")


def _timezone(name: str, value: Any, problems: list[str]) -> Any:
    low, high = TIMEZONE_RANGE
    return _integer(name, value, problems, low=low, high=high, unit="minutes (the client's UTC offset)")


def _boolean(name: str, value: Any, problems: list[str]) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        problems.append(f"{name}: must be true or false, got {value!r}")
    return value


def _json_value(value: Any) -> Any:
    """A rendered template of a dict or list arrives as a JSON string: decode it."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _object(name: str, value: Any, problems: list[str]) -> Any:
    value = _json_value(value)
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        problems.append(f"{name}: must be an object with string keys")
        return value
    return dict(value)


def _object_or_list(name: str, value: Any, problems: list[str]) -> Any:
    value = _json_value(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return _object(name, value, problems)


def _strings(name: str, value: Any, problems: list[str]) -> Any:
    value = _json_value(value)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        problems.append(f"{name}: must be a list of strings")
        return value
    return list(value)


#: Operator argument -> (TWIN body field, check), in twin-api.md §4.2 order.
BODY_FIELDS: dict[str, tuple[str, Check]] = {
    "name": ("name", _string),
    "bot_id": ("botId", _uuid),
    "session_ttl": ("sessionTtl", _ttl),
    "messenger_type": ("messengerType", _non_empty),
    "messenger_user_id": ("messengerUserId", _non_empty),
    "message_body": ("messageBody", _string),
    "message_attachments": ("messageAttachments", _strings),
    "client_name_for_operator": ("clientNameForOperator", _string),
    "client_id": ("clientId", _non_empty),
    "client_external_id": ("clientExternalId", _non_empty),
    "client_phone": ("clientPhone", _non_empty),
    "client_email": ("clientEmail", _email),
    "client_device_id": ("clientDeviceId", _non_empty),
    "client_timezone": ("clientTimezone", _timezone),
    "client_metadata": ("clientMetadata", _object),
    "return_answer_async": ("returnAnswerAsync", _boolean),
    "client_name": ("clientName", _string),
    "client_first_name": ("clientFirstName", _string),
    "client_middle_name": ("clientMiddleName", _string),
    "client_last_name": ("clientLastName", _string),
    "channel": ("channel", _string),
    "referer": ("referer", _string),
    "variables": ("variables", _object_or_list),
    "callback_url": ("callbackUrl", _non_empty),
    "callback_data": ("callbackData", _text_or_json),
    "bot_node_id": ("botNodeId", _non_empty),
    "event_callback_url": ("eventCallbackUrl", _non_empty),
    "event_callback_data": ("eventCallbackData", _text_or_json),
    "notify_on_events": ("notifyOnEvents", _strings),
    "reply_to_message_id": ("replyToMessageId", _non_empty),
}

#: Checks of body fields given through ``extra_body`` under their TWIN names.
_CHECKS_BY_TWIN_NAME: dict[str, Check] = {twin: check for twin, check in BODY_FIELDS.values()}


def build_body(values: Mapping[str, Any], extra_body: Any = None) -> dict[str, Any]:
    """The start request body from operator arguments (None = not sent) and ``extra_body``.

    ``extra_body`` adds fields under their TWIN names (for fields TWIN adds later); a field
    given both ways is an error.

    :raises TwinInputError: listing every problem, each naming the field.
    """
    problems: list[str] = []
    body: dict[str, Any] = {}
    for argument, (field, check) in BODY_FIELDS.items():
        value = values.get(argument)
        if value is None or value == "":
            continue  # not given (an empty rendered template too)
        body[field] = check(argument, value, problems)
    extra = _json_value(extra_body) if extra_body is not None else {}
    if not isinstance(extra, Mapping):
        problems.append("extra_body: must be an object of TWIN field -> value")
        extra = {}
    for field, value in extra.items():
        if field == "sessionId":
            problems.append("extra_body: set the session id with session_id, not sessionId")
        elif field in body:
            problems.append(f"extra_body: {field} is also given as an operator argument")
        elif value is not None:
            known = _CHECKS_BY_TWIN_NAME.get(field)
            body[field] = value if known is None else known(f"extra_body.{field}", value, problems)
    if problems:
        raise TwinInputError(
            "invalid chat session request: "
            + "; ".join(problems[:20])
            + (f"; and {len(problems) - 20} more" if len(problems) > 20 else ""),
            problems,
        )
    return body


def _message(item: Mapping[str, Any]) -> dict[str, Any]:
    """A message in the start answer's shape (twin-api.md §4.2)."""
    return {
        "authorId": item.get("authorId"),
        "authorType": item.get("authorType"),
        "body": item.get("body"),
        "answers": item.get("answers") or [],
        "keyboard": item.get("keyboard"),
        "actions": item.get("actions") or {},
        "attachments": item.get("attachments") or [],
    }


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
        super().__init__(**kwargs)
        self.chat_id = chat_id
        self.session_id = session_id
        self.idempotency_key = idempotency_key
        self.continue_session = continue_session
        self.name = name
        self.bot_id = bot_id
        self.session_ttl = session_ttl
        self.messenger_type = messenger_type
        self.messenger_user_id = messenger_user_id
        self.message_body = message_body
        self.message_attachments = message_attachments
        self.client_name_for_operator = client_name_for_operator
        self.client_id = client_id
        self.client_external_id = client_external_id
        self.client_phone = client_phone
        self.client_email = client_email
        self.client_device_id = client_device_id
        self.client_timezone = client_timezone
        self.client_metadata = client_metadata
        self.return_answer_async = return_answer_async
        self.client_name = client_name
        self.client_first_name = client_first_name
        self.client_middle_name = client_middle_name
        self.client_last_name = client_last_name
        self.channel = channel
        self.referer = referer
        self.variables = variables
        self.callback_url = callback_url
        self.callback_data = callback_data
        self.bot_node_id = bot_node_id
        self.event_callback_url = event_callback_url
        self.event_callback_data = event_callback_data
        self.notify_on_events = notify_on_events
        self.reply_to_message_id = reply_to_message_id
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
        """The validated chat id and request body.

        :raises TwinInputError: listing every problem.
        """
        problems: list[str] = []
        _non_empty("chat_id", self.chat_id, problems)
        _uuid("session_id", session_id, problems)
        try:
            body = build_body({name: getattr(self, name) for name in BODY_FIELDS}, self.extra_body)
        except TwinInputError as exc:
            problems.extend(exc.problems)
            body = {}
        if problems:
            raise TwinInputError("invalid chat session request: " + "; ".join(problems[:20]), problems)
        return str(self.chat_id), {"sessionId": session_id, **body}

    # -- run -----------------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        """Validate, then start the session or reuse the one a previous try started."""
        session_id = self.resolve_session_id(context)
        try:
            chat_id, body = self.build_request(session_id)
        except TwinInputError as exc:
            raise AirflowFailException(f"{self.task_id}: {exc}") from None
        try_number = int(getattr(context["ti"], "try_number", 1) or 1)
        hook = TwinHook(twin_conn_id=self.twin_conn_id)
        try:
            return self._start(hook.get_client(), chat_id, body, session_id, try_number)
        except TwinError as exc:
            raise self._airflow_error(exc) from exc
        finally:
            hook.close()

    def _start(
        self, client: TwinClient, chat_id: str, body: dict[str, Any], session_id: str, try_number: int
    ) -> dict[str, Any]:
        if try_number > 1:
            existing = self._existing(client, session_id)
            if existing is not None:
                return self._reuse(client, chat_id, existing)
        call = chat.continue_or_start_session if self.continue_session else chat.start_session
        self.log.info(
            "%s chat session %s in chat %s",
            "Continuing or starting" if self.continue_session else "Starting",
            session_id,
            chat_id,
        )
        try:
            started = client.send(call(chat_id, body))
        except TwinConflictError:
            # The id is taken: a previous try (or a repeat of this request) started it.
            existing = self._existing(client, session_id)
            if existing is None:
                raise
            return self._reuse(client, chat_id, existing)
        return self._result(chat_id, started, reused=False)

    def _existing(self, client: TwinClient, session_id: str) -> SessionInfo | None:
        try:
            return client.send(chat.get_session(session_id))
        except TwinNotFoundError:
            return None

    def _reuse(self, client: TwinClient, chat_id: str, info: SessionInfo) -> dict[str, Any]:
        found_chat = str(info.get("chatId") or chat_id)
        if found_chat.lower() != chat_id.lower():
            raise AirflowFailException(
                f"{self.task_id}: chat session {info.get('id')} already exists in chat {found_chat}, "
                f"not in {chat_id}; give another session_id or idempotency_key"
            )
        self.log.info(
            "Chat session %s already exists (started by an earlier try): reusing it", info.get("id")
        )
        page = client.send(chat.session_messages(str(info.get("id")), limit=REUSED_MESSAGES_LIMIT))
        items = page.get("items") if isinstance(page.get("items"), list) else []
        messages = [
            _message(item)
            for item in items or []
            if isinstance(item, Mapping) and str(item.get("authorType") or "").upper() != "CLIENT"
        ]
        started = {
            "id": info.get("id"),
            "clientId": info.get("clientId"),
            "startedAt": info.get("startedAt"),
            "ttl": info.get("ttl"),
            "messages": messages,
        }
        return self._result(chat_id, started, reused=True)

    def _result(self, chat_id: str, started: Mapping[str, Any], *, reused: bool) -> dict[str, Any]:
        messages = [dict(message) for message in started.get("messages") or []]
        result = {
            "session_id": started.get("id"),
            "chat_id": chat_id,
            "client_id": started.get("clientId"),
            "started_at": started.get("startedAt"),
            "ttl": started.get("ttl"),
            "messages": messages,
            "reused": reused,
        }
        self.log.info(
            "Chat session %s %s (client %s, %d bot message(s))",
            result["session_id"],
            "reused" if reused else "started",
            result["client_id"],
            len(messages),
        )
        return result

    @staticmethod
    def _airflow_error(exc: TwinError) -> AirflowException:
        """Errors a retry cannot fix fail the task for good; the others let Airflow retry."""
        if isinstance(exc, TwinNotFoundError):
            return AirflowFailException(f"{exc} (is the chat id right?)")
        if isinstance(exc, (TwinInputError, TwinConfigError, TwinValidationError, TwinAuthError)):
            return AirflowFailException(str(exc))
        return AirflowException(str(exc))


__all__ = [
    "BODY_FIELDS",
    "SESSION_ID_NAMESPACE",
    "TwinStartChatSessionOperator",
    "build_body",
    "session_id_for",
]
