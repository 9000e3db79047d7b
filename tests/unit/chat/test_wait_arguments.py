"""A chat wait's arguments, checked where it is declared and when it runs (client, no Airflow)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.chat import (
    check_wait_arguments,
    known_after_rendering,
    session_id_of,
    user_id_of,
    wait_transport,
)

VALID: dict[str, Any] = {
    "events": None,
    "listen_timeout": None,
    "recheck_interval": 600,
    "fallback_interval": 30,
    "user_id": None,
}


@pytest.mark.parametrize(
    ("change", "error", "text"),
    [
        ({"listen_timeout": -1}, ValueError, "listen_timeout must not be negative"),
        ({"recheck_interval": 0}, ValueError, "must be positive"),
        ({"fallback_interval": -5}, ValueError, "must be positive"),
        ({"user_id": "  "}, ValueError, "user_id must be a non-empty string, got '  '"),
        ({"events": ["sessionClosd"]}, TwinInputError, "sessionClosd"),
    ],
)
def test_a_bad_declaration_is_refused(change: dict[str, Any], error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        check_wait_arguments(**{**VALID, **change})


def test_events_known_only_when_the_wait_runs_are_checked_then() -> None:
    check_wait_arguments(**{**VALID, "events": "{{ params.events }}"})
    check_wait_arguments(**{**VALID, "events": object()})  # e.g. another task's output
    assert known_after_rendering("{% if x %}a{% endif %}")
    assert not known_after_rendering("chatMessageCreated")
    assert not known_after_rendering(["chatMessageCreated"])
    assert not known_after_rendering(None)


def test_the_session_id_when_the_wait_runs() -> None:
    assert session_id_of(" S1 ") == "S1"
    assert session_id_of({"session_id": "S2", "reused": False}) == "S2"  # the start operator's result
    for bad in ("", "  ", None, 7, {"id": "S3"}):
        with pytest.raises(TwinInputError, match="session_id must be a non-empty string"):
            session_id_of(bad)


def test_the_user_id_when_the_wait_runs() -> None:
    assert user_id_of(None) is None
    assert user_id_of("") is None  # a template rendered empty: the connection's extra applies
    assert user_id_of(" visitor-7 ") == "visitor-7"
    with pytest.raises(TwinInputError, match="user_id must be a non-empty string"):
        user_id_of(["not", "a", "string"])


@pytest.mark.parametrize(
    ("deferrable", "listen_timeout", "transport"),
    [
        (True, None, "async_hub"),
        (True, 0, "async_hub"),
        (False, None, "sync_socket"),
        (False, 5, "sync_socket"),
    ],
)
def test_the_transport_follows_from_how_the_wait_waits(
    deferrable: bool, listen_timeout: float | None, transport: str
) -> None:
    assert wait_transport(deferrable=deferrable, listen_timeout=listen_timeout) == transport


def test_a_poking_wait_that_only_asks_rest_needs_no_transport() -> None:
    assert wait_transport(deferrable=False, listen_timeout=0) is None
