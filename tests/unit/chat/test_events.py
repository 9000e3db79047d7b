"""TWIN chat events: the envelope variants of a publication, and which events end a wait."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.chat import ChatEvent, EventFilter, EventRule
from airflow_provider_twin.client.chat.events import parse_event

SID = "0b5a8b5e-8d5c-4c5e-9d55-7f2f0e3a1c11"


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
