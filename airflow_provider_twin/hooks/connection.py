"""Reading a ``twin`` Airflow connection into a client configuration.

Fields: login = account e-mail, password = password; extras: ``company_id``, ``auth_ttl`` (the
lifetime asked for each access token), ``api_token`` (the static-token alternative), ``iam_url``,
``notify_url``, ``chat_url``, ``centrifugo_url``, ``timeout`` (read timeout, seconds),
``max_retries`` and ``user_id`` (the chat widget's user, sent on realtime connect:
:func:`chat_user_id`). Extras may also carry the ``extra__twin__`` prefix older connection forms
wrote, and ``auth_ttl`` its old name ``token_ttl`` (see :data:`OLD_EXTRA_NAMES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from airflow_provider_twin.client.core import (
    DEFAULT_CENTRIFUGO_URL,
    DEFAULT_CHAT_URL,
    DEFAULT_IAM_URL,
    DEFAULT_NOTIFY_URL,
    DEFAULT_TOKEN_TTL,
    RetryPolicy,
    TwinClientConfig,
    TwinConfigError,
    TwinCredentials,
    TwinEndpoints,
)

#: Every extra the ``twin`` connection understands.
EXTRA_FIELDS = (
    "company_id",
    "auth_ttl",
    "api_token",
    "iam_url",
    "notify_url",
    "chat_url",
    "centrifugo_url",
    "timeout",
    "max_retries",
    "user_id",
)

#: Extras read under an old name: ``token_ttl`` became ``auth_ttl`` because Airflow masks the
#: value of every connection field whose name contains "token" (the form showed ``***``).
OLD_EXTRA_NAMES = {"token_ttl": "auth_ttl"}

#: Extras whose values an error message may quote: numbers that are no secret. Any other value
#: (``api_token`` above all, but also a URL that may carry credentials) is never quoted, as an
#: error reaches the connection form's Test button, the CLI and task logs.
QUOTABLE_EXTRAS = frozenset({"company_id", "auth_ttl", "timeout", "max_retries"})


class ConnectionLike(Protocol):
    """The parts of an Airflow ``Connection`` this module reads."""

    conn_id: str
    login: str | None
    password: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


def _extras(conn: ConnectionLike) -> dict[str, Any]:
    """The connection's extras under their current names, empty values left out.

    A field given twice (with and without the ``extra__twin__`` prefix, or under its old and its
    new name) must say the same both times: which one wins would otherwise be a guess. The error
    names both keys, and quotes their values only for :data:`QUOTABLE_EXTRAS`.
    """
    raw = conn.extra_dejson or {}
    extras: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for key, value in raw.items():
        if value in (None, ""):
            continue
        bare = key.removeprefix("extra__twin__")
        name = OLD_EXTRA_NAMES.get(bare, bare)
        if name in extras and str(extras[name]).strip() != str(value).strip():
            first, second = given_as[name], key
            if name in QUOTABLE_EXTRAS:
                first, second = f"{first} ({extras[name]!r})", f"{second} ({value!r})"
            raise TwinConfigError(
                f"connection {conn.conn_id!r}: extra fields {first} and {second} both set {name} "
                f"and differ; keep only {name}"
            )
        extras[name] = value
        given_as[name] = key
    unknown = sorted(set(extras) - set(EXTRA_FIELDS))
    if unknown:
        raise TwinConfigError(
            f"connection {conn.conn_id!r}: unknown extra field(s) {', '.join(unknown)}; "
            f"known fields are {', '.join(EXTRA_FIELDS)}"
        )
    return extras


def _number(conn_id: str, extras: Mapping[str, Any], name: str, kind: type, default: Any) -> Any:
    value = extras.get(name, default)
    if value is None:
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise TwinConfigError(
            f"connection {conn_id!r}: extra field {name} must be a number, got {value!r}"
        ) from None
    if number < 0 or isinstance(value, bool):
        raise TwinConfigError(f"connection {conn_id!r}: extra field {name} must be a positive number")
    return number


def client_config(conn: ConnectionLike) -> TwinClientConfig:
    """The client configuration described by the ``twin`` connection ``conn``.

    :raises TwinConfigError: naming the connection and the field that is wrong.
    """
    extras = _extras(conn)
    conn_id = conn.conn_id
    api_token = extras.get("api_token")
    if api_token is not None and not isinstance(api_token, str):
        raise TwinConfigError(f"connection {conn_id!r}: extra field api_token must be a string")
    max_retries = _number(conn_id, extras, "max_retries", int, 4)
    timeout = _number(conn_id, extras, "timeout", float, 60.0)
    try:
        credentials = TwinCredentials(
            email=conn.login or None,
            password=conn.password or None,
            api_token=api_token,
            company_id=_number(conn_id, extras, "company_id", int, None),
            token_ttl=_number(conn_id, extras, "auth_ttl", int, DEFAULT_TOKEN_TTL),
        )
        endpoints = TwinEndpoints(
            iam_url=str(extras.get("iam_url", DEFAULT_IAM_URL)),
            notify_url=str(extras.get("notify_url", DEFAULT_NOTIFY_URL)),
            chat_url=str(extras.get("chat_url", DEFAULT_CHAT_URL)),
            centrifugo_url=str(extras.get("centrifugo_url", DEFAULT_CENTRIFUGO_URL)),
        )
        return TwinClientConfig(
            credentials=credentials,
            endpoints=endpoints,
            retry=RetryPolicy(max_attempts=max_retries + 1),
            read_timeout=timeout,
        )
    except TwinConfigError as exc:
        raise TwinConfigError(f"connection {conn_id!r}: {exc}") from None


def chat_user_id(conn: ConnectionLike) -> str | None:
    """The ``user_id`` extra: the widget ``settings.userId`` of the realtime connect, or None.

    Seed 003 lists ``userId`` as an optional field of the connect's ``settings`` (the widget user's
    id); it is not a credential. TWIN does not say what it must look like: any non-blank string.

    :raises TwinConfigError: naming the connection when the extra is not a string.
    """
    value = _extras(conn).get("user_id")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TwinConfigError(f"connection {conn.conn_id!r}: extra field user_id must be a non-empty string")
    return value.strip()
