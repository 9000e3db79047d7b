"""Centrifugo's protocol as TWIN uses it: connect data, joinSession, framing, codes, backoff."""

from __future__ import annotations

import random

import pytest

from airflow_provider_twin.client import TwinProtocolError
from airflow_provider_twin.client.chat.realtime.centrifugo import (
    backoff_delay,
    connect_command,
    connect_data,
    decode_frame,
    encode_commands,
    is_server_ping,
    is_terminal_disconnect,
    join_command,
    join_succeeded,
    reply_error,
)

SID = "0b5a8b5e-8d5c-4c5e-9d55-7f2f0e3a1c11"


# -- connect and join -----------------------------------------------------------------------------
def test_connect_payload_is_twins_widget_flow() -> None:
    assert connect_data([SID]) == {"application": "widget", "settings": {"sessions": [SID]}}
    assert connect_data([], user_id="u1") == {
        "application": "widget",
        "settings": {"sessions": [], "userId": "u1"},
    }
    command = connect_command(1, [SID])
    assert command == {"id": 1, "connect": {"data": connect_data([SID]), "name": "js"}}


def test_join_session_rpc() -> None:
    assert join_command(2, SID) == {"id": 2, "rpc": {"method": "joinSession", "data": {"id": SID}}}
    assert join_succeeded({"success": True})
    assert join_succeeded({})
    assert join_succeeded(None)
    assert not join_succeeded({"success": False})


# -- framing ----------------------------------------------------------------------------------------
def test_frames_are_newline_delimited_json() -> None:
    text = encode_commands([{"id": 1, "connect": {}}, {}])
    assert text == '{"id":1,"connect":{}}\n{}'
    assert decode_frame(text) == [{"id": 1, "connect": {}}, {}]
    assert decode_frame(b'{"push":{}}\n\n{}\n') == [{"push": {}}, {}]
    with pytest.raises(TwinProtocolError):
        decode_frame("{not json")
    with pytest.raises(TwinProtocolError):
        decode_frame("[1, 2]")


def test_ping_and_error_replies() -> None:
    assert is_server_ping({})
    assert is_server_ping({"id": 0})
    assert not is_server_ping({"id": 3, "rpc": {}})
    assert not is_server_ping({"push": {"channel": "c"}})
    assert reply_error({"id": 2, "error": {"code": 103, "message": "permission denied"}}) == (
        103,
        "permission denied",
    )
    assert reply_error({"id": 2, "rpc": {}}) is None


@pytest.mark.parametrize(
    ("code", "terminal"),
    [(3000, False), (3001, False), (3012, False), (3501, True), (3999, True), (4500, True)],
)
def test_terminal_disconnect_codes(code: int, terminal: bool) -> None:
    assert is_terminal_disconnect(code) is terminal


def test_backoff_has_full_jitter_within_bounds() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(attempt, 0.5, 20.0, rng) for attempt in range(40)]
    assert all(0.5 <= delay <= 20.0 for delay in delays)
    assert backoff_delay(0, 0.5, 20.0, rng) == 0.5
    assert max(delays) > 5.0  # grows with the attempt
