"""The arguments of a wait for a chat session: checked where the wait is declared, and when it runs.

A wait names a session, the events that end it (:mod:`.events`), the REST safety-net intervals,
how long a poke listens on the websocket, and optionally the widget user sent on connect. Checked
where it is declared (a DAG file being parsed), a typo fails before any session is started; the
values only known later (templates, a start operator's result) are checked again when the wait
runs, with the same rules.

Which realtime transport a wait uses follows from how it waits (:func:`wait_transport`), so the
``realtime`` extra it needs is checked at declaration too (:func:`require_realtime`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_twin.client.chat.events import EventFilter
from airflow_provider_twin.client.chat.realtime import extra_problem
from airflow_provider_twin.client.core.errors import TwinInputError


def known_after_rendering(value: Any) -> bool:
    """True when ``value`` is known only when the wait runs: a Jinja template or a reference.

    Plain values (None, strings without template markers, lists, tuples and mappings) are known
    where the wait is declared; anything else (such as another task's output) is not.
    """
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    return value is not None and not isinstance(value, (list, tuple, Mapping))


def check_wait_arguments(
    *,
    events: Any,
    listen_timeout: float | None,
    recheck_interval: float,
    fallback_interval: float,
    user_id: Any,
) -> None:
    """Check a wait's arguments where it is declared; the events only when already known.

    :raises TwinInputError: an unknown event name or a malformed event spec.
    :raises ValueError: a negative ``listen_timeout``, an interval that is not positive, or a
        ``user_id`` that is not a non-empty string.
    """
    if listen_timeout is not None and listen_timeout < 0:
        raise ValueError("listen_timeout must not be negative")
    if recheck_interval <= 0 or fallback_interval <= 0:
        raise ValueError("recheck_interval and fallback_interval must be positive")
    if user_id is not None and (not isinstance(user_id, str) or not user_id.strip()):
        raise ValueError(f"user_id must be a non-empty string, got {user_id!r}")
    if not known_after_rendering(events):
        EventFilter.from_specs(events)


def session_id_of(value: Any) -> str:
    """The session id a wait was given when it runs, stripped.

    The start operator's whole result (``{"session_id": ...}``) is accepted too, as mapping
    over a start operator hands each wait that result.

    :raises TwinInputError: when it is not a non-empty string.
    """
    if isinstance(value, Mapping):
        value = value.get("session_id")
    if not isinstance(value, str) or not value.strip():
        raise TwinInputError(f"session_id must be a non-empty string, got {value!r}")
    return value.strip()


def user_id_of(value: Any) -> str | None:
    """The widget user a wait was given when it runs, stripped; None (or empty) for none.

    :raises TwinInputError: when it is neither empty nor a non-blank string.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.strip():
        raise TwinInputError(f"user_id must be a non-empty string, got {value!r}")
    return value.strip()


def wait_transport(*, deferrable: bool, listen_timeout: float | None) -> str | None:
    """The realtime transport a wait uses: ``async_hub``, ``sync_socket`` or None (REST only).

    A deferred wait listens in the triggerer (``async_hub``); a poking wait listens in the worker
    (``sync_socket``) unless its ``listen_timeout`` is 0, which makes it ask REST only.
    """
    if deferrable:
        return "async_hub"
    return None if listen_timeout == 0 else "sync_socket"


def require_realtime(who: str, *, deferrable: bool, listen_timeout: float | None) -> None:
    """Refuse a wait whose realtime transport lacks its packages, naming them and the fix.

    Imports nothing, so a DAG file's parse can ask it, and a missing extra fails the DAG's import
    rather than the wait after its session was started (see
    :func:`~airflow_provider_twin.client.chat.realtime.missing_packages`).

    :raises ImportError: ``who``, the packages missing and the pip command of the extra.
    """
    transport = wait_transport(deferrable=deferrable, listen_timeout=listen_timeout)
    problem = None if transport is None else extra_problem(transport, who)
    if problem is not None:
        raise ImportError(problem)


__all__ = [
    "check_wait_arguments",
    "known_after_rendering",
    "require_realtime",
    "session_id_of",
    "user_id_of",
    "wait_transport",
]
