"""TWIN realtime conventions shared by both clients: connect data, envelopes, filters, results."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from airflow_provider_twin.client.chat.realtime.protocol import (
    ERROR_NOT_FOUND,
    ERROR_REST,
    ChatEvent,
    EventFilter,
    EventRule,
    WaitResult,
    backoff_delay,
    check_failure,
    closed_result,
    connect_command,
    connect_data,
    decode_frame,
    encode_commands,
    is_server_ping,
    is_terminal_disconnect,
    join_command,
    join_succeeded,
    parse_event,
    reply_error,
)
from airflow_provider_twin.client.core.errors import (
    TwinInputError,
    TwinNotFoundError,
    TwinProtocolError,
    TwinServerError,
    TwinTransportError,
    TwinValidationError,
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


# -- envelopes (twin-api.md §7.16) --------------------------------------------------------------------
CLOSE = {"sessionId": SID, "chatId": "c1", "sessionRatingRequired": True}


@pytest.mark.parametrize(
    "data",
    [
        {"event": "sessionClosed", "payload": CLOSE},
        {"type": "sessionClosed", "data": CLOSE},
        {"event": "sessionClosed", "data": CLOSE},
        {"type": "sessionClosed", "payload": CLOSE},
        {"event": "sessionClosed", **CLOSE},
        {"type": "sessionClosed", **CLOSE},
        json.dumps({"event": "sessionClosed", "payload": CLOSE}),
        {"event": "sessionclosed", "payload": CLOSE},
    ],
)
def test_envelope_variants_are_all_understood(data: Any) -> None:
    event = parse_event(data, channel="widget:x", offset=4)
    assert event == ChatEvent("sessionClosed", CLOSE, SID, "widget:x", 4)


def test_flat_chat_message_keeps_its_own_type_field() -> None:
    message = {"event": "chatMessageCreated", "id": "m1", "type": "TERMINAL", "sessionId": SID}
    event = parse_event(message)
    assert event is not None
    assert (event.name, event.payload["type"], event.session_id) == ("chatMessageCreated", "TERMINAL", SID)
    # A flat object keyed by "type" whose value is not an event name is not an event.
    assert parse_event({"type": "TERMINAL", "id": "m1"}) is None


def test_session_id_from_the_envelope_when_the_payload_has_none() -> None:
    event = parse_event({"event": "showTypingIndicator", "payload": {"authorType": "BOT"}, "sessionId": SID})
    assert event is not None
    assert event.session_id == SID
    assert parse_event({"event": "showTypingIndicator", "payload": {"authorType": "BOT"}}).session_id is None  # type: ignore[union-attr]


@pytest.mark.parametrize("data", [None, 3, "not json", [1], {}, {"payload": {}}, {"event": ""}])
def test_non_events_are_ignored(data: Any) -> None:
    assert parse_event(data) is None


def test_unknown_event_names_pass_through() -> None:
    event = parse_event({"event": "somethingNew", "payload": {"x": 1}})
    assert event is not None
    assert event.name == "somethingNew"


# -- event filters ----------------------------------------------------------------------------------
def test_session_closed_always_finishes() -> None:
    closed = ChatEvent("sessionClosed", {}, SID)
    assert EventFilter().finishes(closed)
    assert not EventFilter().finishes(ChatEvent("chatMessageCreated", {"type": "TERMINAL"}, SID))
    assert EventFilter().names == ("sessionClosed",)


def test_rules_match_payload_fields() -> None:
    events = EventFilter.from_specs(
        [
            "operatorChanged",
            {"event": "chatMessageCreated", "match": {"type": "terminal", "authorType": ["BOT", "OPERATOR"]}},
        ]
    )
    assert events.names == ("sessionClosed", "operatorChanged", "chatMessageCreated")
    assert events.finishes(ChatEvent("operatorChanged", {}, None))
    assert events.finishes(ChatEvent("chatMessageCreated", {"type": "TERMINAL", "authorType": "BOT"}, SID))
    assert not events.finishes(ChatEvent("chatMessageCreated", {"type": "REGULAR", "authorType": "BOT"}, SID))
    assert not events.finishes(
        ChatEvent("chatMessageCreated", {"type": "TERMINAL", "authorType": "CLIENT"}, SID)
    )
    assert not events.finishes(ChatEvent("chatMessageRead", {}, SID))


def test_filter_json_round_trip_and_string_forms() -> None:
    events = EventFilter.from_specs([{"event": "chatMessageCreated", "match": {"type": "TERMINAL"}}])
    assert events.to_json() == [{"event": "chatMessageCreated", "match": {"type": "TERMINAL"}}]
    assert EventFilter.from_json(events.to_json()) == events
    assert EventFilter.from_specs(json.dumps(events.to_json())) == events
    assert EventFilter.from_specs("chatMessageCreated") == EventFilter((EventRule("chatMessageCreated"),))
    assert (
        EventFilter.from_specs(None) == EventFilter.from_specs([]) == EventFilter.from_specs("sessionClosed")
    )


def test_only_session_scoped_events_can_share_a_connection() -> None:
    assert not EventFilter().needs_own_connection
    assert not EventFilter.from_specs(["chatMessageCreated"]).needs_own_connection
    assert EventFilter.from_specs(["showTypingIndicator"]).needs_own_connection
    assert EventFilter.from_specs(["chatMessageRead", "chatMessageCreated"]).needs_own_connection


def test_bad_specs_name_every_problem() -> None:
    with pytest.raises(TwinInputError) as info:
        EventFilter.from_specs(
            ["sessionClosd", {"event": "chatMessageCreated", "where": {}}, 5, {"match": {}}]
        )
    problems = info.value.problems
    assert len(problems) == 4
    assert "unknown event 'sessionClosd'" in problems[0]
    assert "where" in problems[1]
    assert "events[2]" in problems[2]
    assert "events[3]" in problems[3]
    with pytest.raises(TwinInputError, match="not valid JSON"):
        EventFilter.from_specs("[oops")


# -- results -----------------------------------------------------------------------------------------
def test_closed_result_from_the_rest_session_object() -> None:
    info = {"id": SID, "chatId": "c1", "status": "CLOSED", "sessionRatingRequired": True}
    result = closed_result(SID, info)
    assert result is not None
    assert (result.status, result.event, result.source) == ("closed", "sessionClosed", "rest")
    assert result.payload == {"sessionId": SID, "chatId": "c1", "sessionRatingRequired": True}
    assert closed_result(SID, {**info, "status": "OPEN"}) is None
    # TWIN's session object may lack the rating flag: reported as unknown.
    bare = closed_result(SID, {"id": SID, "status": "closed"})
    assert bare is not None
    assert bare.payload == {"sessionId": SID, "chatId": None, "sessionRatingRequired": None}
    assert closed_result(SID, {"status": "FINISHED"}, closed_statuses=["finished"]) is not None


def test_wait_result_event_round_trip() -> None:
    result = WaitResult.from_event(ChatEvent("sessionClosed", dict(CLOSE), SID), SID)
    event = result.to_event()
    assert json.loads(json.dumps(event)) == event
    assert set(event) >= {"status", "session_id", "event", "payload"}
    assert WaitResult.from_json(event) == result
    assert WaitResult.from_json({"status": "weird"}).status == "error"
    other = WaitResult.from_event(ChatEvent("chatMessageCreated", {"type": "TERMINAL"}, SID), SID)
    assert other.status == "event"


def test_check_failure_tells_transient_from_final() -> None:
    missing = check_failure(SID, TwinNotFoundError("nope", status=404, error="Entity not found"))
    assert missing is not None
    assert (missing.status, missing.error) == ("error", ERROR_NOT_FOUND)
    refused = check_failure(SID, TwinValidationError("bad", status=422, error="x"))
    assert refused is not None
    assert refused.error == ERROR_REST
    assert check_failure(SID, TwinServerError("down", status=503, error="x")) is None
    assert check_failure(SID, TwinTransportError("reset", ambiguous=False)) is None
