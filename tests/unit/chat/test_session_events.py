"""Chat sessions as events: started, closed (REST and websocket alike), client messages.

Against the emulator: sessions start over REST, a client writes by continuing its session
(``PUT /chats/{chatId}/sessions`` with ``messageBody``), the admin API closes them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from airflow_provider_twin.client import AsyncTwinClient, SeenEvents, TwinEvent, TwinInputError
from airflow_provider_twin.client.chat import CHAT_EVENT_KINDS, ChatEventFilter, ChatSessionEvents
from airflow_provider_twin.client.chat.events import parse_event
from airflow_provider_twin.client.chat.session_events import MESSAGE_LISTINGS_AT_ONCE
from airflow_provider_twin.client.core.flows import Gather
from airflow_provider_twin.client.core.twin_events import (
    CHAT_CLIENT_MESSAGE,
    CHAT_SESSION_CLOSED,
    CHAT_SESSION_RATED,
    CHAT_SESSION_STARTED,
)
from airflow_provider_twin.emulator import TwinEmulator
from tests.unit.chat.chat_fixtures import CHAT_ID, emulator_config, start_session

OTHER_CHAT = "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
MESSAGES_ROUTE = "GET /chat/api/v1/sessions/{sessionId}/messages"


@pytest.fixture
def stream(twin_emulator: TwinEmulator) -> Iterator[Any]:
    """``poll(events, now=None)``: one poll of a stream against the emulator, on one client."""
    loop = asyncio.new_event_loop()
    client = AsyncTwinClient(emulator_config(twin_emulator))

    def poll(events: ChatSessionEvents, now: float | None = None) -> list[TwinEvent]:
        return loop.run_until_complete(events.poll(client, now))

    poll.client = client  # type: ignore[attr-defined]
    poll.loop = loop  # type: ignore[attr-defined]
    yield poll
    loop.run_until_complete(client.aclose())
    loop.close()


def write(emulator: TwinEmulator, session_id: str, text: str = "hello") -> dict[str, Any]:
    """The client writes in its open session (``POST /sessions/{id}/clients/messages``, §4.5)."""
    response = httpx.post(
        f"{emulator.base_url}/chat/api/v1/sessions/{session_id}/clients/messages",
        json={"body": text},
        headers={"Authorization": f"Bearer {emulator.admin.mint_token()}"},
    )
    assert response.status_code in {200, 201}, response.text
    created: dict[str, Any] = response.json()
    return created


def by_type(events: list[TwinEvent]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for event in events:
        found.setdefault(event.type, []).append(event.event_id)
    return found


def messages_read(emulator: TwinEmulator) -> int:
    return int(emulator.admin.counters()["requests"].get(MESSAGES_ROUTE, 0))


# -- the filter ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"kinds": ()}, "kinds"),
        ({"kinds": ""}, "kinds"),
        ({"kinds": ["session_closed", "session_opened"]}, "kinds"),
        ({"chat_id": ""}, "chat_id"),
        ({"created_within_seconds": 0}, "created_within_seconds"),
        ({"created_within_seconds": float("inf")}, "created_within_seconds"),
    ],
)
def test_a_filter_asking_nothing_or_an_unknown_kind_is_refused_naming_the_field(
    arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(TwinInputError, match=f"^{field}"):
        ChatEventFilter(**arguments)


def test_a_filter_defaults_to_every_kind_of_the_last_day_and_round_trips_as_json() -> None:
    default = ChatEventFilter()
    assert default.kinds == tuple(CHAT_EVENT_KINDS)
    assert default.created_within_seconds == 86400
    flt = ChatEventFilter(chat_id=CHAT_ID, kinds="Session_Closed, client_message")
    assert flt.kinds == ("session_closed", "client_message")
    data = flt.to_json()
    assert data == {
        "chat_id": CHAT_ID,
        "kinds": ["session_closed", "client_message"],
        "created_within_seconds": 86400,
    }
    assert ChatEventFilter.from_json(data) == flt
    with pytest.raises(TwinInputError, match="unknown field"):
        ChatEventFilter.from_json({"events": ["session_closed"]})


# -- REST polls ------------------------------------------------------------------------------------
def test_a_poll_reports_starts_client_messages_and_closes_with_twins_times(
    twin_emulator: TwinEmulator, stream: Any
) -> None:
    quiet = start_session(twin_emulator)
    chatty = start_session(twin_emulator, messageBody="I need help", clientPhone="79990000001")
    twin_emulator.admin.close_session(quiet, rating_required=True)

    events = stream(ChatSessionEvents(ChatEventFilter(chat_id=CHAT_ID)))

    found = by_type(events)
    assert sorted(found[CHAT_SESSION_STARTED]) == sorted(
        [f"session:{quiet}:started", f"session:{chatty}:started"]
    )
    assert found[CHAT_SESSION_CLOSED] == [f"session:{quiet}:closed"]
    assert len(found[CHAT_CLIENT_MESSAGE]) == 1
    sessions = {s["id"]: s for s in twin_emulator.admin.sessions()["items"]}
    closed = next(e for e in events if e.type == CHAT_SESSION_CLOSED)
    assert closed.payload == {
        "sessionId": quiet,
        "chatId": CHAT_ID,
        "sessionRatingRequired": True,
        "rating": sessions[quiet].get("rating"),
    }
    assert closed.time == sessions[quiet]["closedAt"]
    started = next(e for e in events if e.event_id == f"session:{chatty}:started")
    assert started.time == sessions[chatty]["startedAt"]
    wrote = next(e for e in events if e.type == CHAT_CLIENT_MESSAGE)
    client_message = next(m for m in sessions[chatty]["messages"] if m["authorType"] == "CLIENT")
    assert wrote.event_id == f"chat-message:{client_message['id']}"
    assert wrote.payload == {"sessionId": chatty, "chatId": CHAT_ID, "messageId": client_message["id"]}
    assert wrote.time == client_message["createdAt"]
    assert "I need help" not in str(wrote.as_payload())


def test_later_polls_read_only_the_sessions_whose_last_message_moved(
    twin_emulator: TwinEmulator, stream: Any
) -> None:
    first = start_session(twin_emulator, messageBody="one", clientPhone="79990000001")
    second = start_session(twin_emulator, messageBody="two", clientPhone="79990000002")
    source, seen = ChatSessionEvents(ChatEventFilter()), SeenEvents()
    initial = seen.new(stream(source))
    seen.mark(initial)
    assert len(by_type(initial)[CHAT_CLIENT_MESSAGE]) == 2
    assert messages_read(twin_emulator) == 2

    assert seen.new(stream(source)) == []
    assert messages_read(twin_emulator) == 2  # nothing moved: no session's messages read

    wrote = write(twin_emulator, second, "again")
    later = seen.new(stream(source))
    assert [e.event_id for e in later] == [f"chat-message:{wrote['id']}"]
    assert later[0].time == wrote["createdAt"]
    assert later[0].payload["sessionId"] == second
    assert messages_read(twin_emulator) == 3
    assert first in source.open_sessions()


def test_kinds_and_chat_select_the_events(twin_emulator: TwinEmulator, stream: Any) -> None:
    ours = start_session(twin_emulator, messageBody="hi", clientPhone="79990000001")
    response = httpx.post(f"{twin_emulator.base_url}/chat/api/v1/chats/{OTHER_CHAT}/sessions", json={})
    assert response.status_code == 201
    other = response.json()["id"]
    twin_emulator.admin.close_session(ours)
    twin_emulator.admin.close_session(other)

    closes = stream(ChatSessionEvents(ChatEventFilter(chat_id=CHAT_ID, kinds=["session_closed"])))
    assert [e.event_id for e in closes] == [f"session:{ours}:closed"]
    assert messages_read(twin_emulator) == 0  # client messages not asked for: never read

    everything = stream(ChatSessionEvents(ChatEventFilter(kinds=["session_started"])))
    assert {e.event_id for e in everything} == {f"session:{ours}:started", f"session:{other}:started"}


def test_a_session_started_before_the_window_is_not_reported(
    twin_emulator: TwinEmulator, stream: Any
) -> None:
    start_session(twin_emulator)
    later = time.time() + 7200
    assert stream(ChatSessionEvents(ChatEventFilter(created_within_seconds=3600)), later) == []
    assert len(stream(ChatSessionEvents(ChatEventFilter(created_within_seconds=3 * 3600)), later)) == 1


# -- realtime closes -------------------------------------------------------------------------------
def closed_publication(session_id: str, chat_id: str = CHAT_ID) -> Any:
    event = parse_event(
        {
            "event": "sessionClosed",
            "payload": {"sessionId": session_id, "chatId": chat_id, "sessionRatingRequired": True},
        }
    )
    assert event is not None
    return event


def test_open_sessions_are_those_to_listen_to_and_a_websocket_close_is_the_rest_close(
    twin_emulator: TwinEmulator, stream: Any
) -> None:
    session = start_session(twin_emulator)
    source = ChatSessionEvents(ChatEventFilter(chat_id=CHAT_ID))
    stream(source)
    assert source.open_sessions() == [session]

    twin_emulator.admin.close_session(session, rating_required=True)
    heard = stream.loop.run_until_complete(source.realtime_closed(stream.client, closed_publication(session)))
    assert heard is not None
    assert source.open_sessions() == []
    polled = next(e for e in stream(source) if e.type == CHAT_SESSION_CLOSED)
    assert heard == polled  # same id, time (TWIN's closedAt) and payload

    alone = source.closed_event(closed_publication(session))
    assert alone is not None
    assert alone.event_id == polled.event_id
    assert alone.payload == {**polled.payload, "rating": None}


def test_a_websocket_close_of_another_chat_or_an_unwanted_kind_is_no_event() -> None:
    publication = closed_publication("s-1", chat_id=OTHER_CHAT)
    assert ChatSessionEvents(ChatEventFilter(chat_id=CHAT_ID)).closed_event(publication) is None
    assert ChatSessionEvents(ChatEventFilter()).closed_event(publication) is not None
    only_starts = ChatSessionEvents(ChatEventFilter(kinds=["session_started"]))
    assert only_starts.closed_event(publication) is None
    typing = parse_event(
        {"event": "showTypingIndicator", "payload": {"authorType": "BOT", "sessionId": "s-1"}}
    )
    assert typing is not None
    assert ChatSessionEvents(ChatEventFilter()).closed_event(typing) is None


def test_a_websocket_close_of_a_session_twin_no_longer_knows_is_told_from_the_event(
    twin_emulator: TwinEmulator, stream: Any
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    source = ChatSessionEvents(ChatEventFilter())
    event = stream.loop.run_until_complete(source.realtime_closed(stream.client, closed_publication(missing)))
    assert event is not None
    assert event.event_id == f"session:{missing}:closed"
    assert event.payload["sessionRatingRequired"] is True


def test_a_close_carries_the_sessions_rating(twin_emulator: TwinEmulator, stream: Any) -> None:
    rated = start_session(twin_emulator)
    twin_emulator.admin.close_session(rated, rating_required=True, rating=2)
    closes = stream(ChatSessionEvents(ChatEventFilter(kinds=["session_closed"])))
    assert [e.payload["rating"] for e in closes] == [2]


def test_a_rating_given_after_the_close_is_a_rated_event_once(
    twin_emulator: TwinEmulator, stream: Any
) -> None:
    session = start_session(twin_emulator)
    twin_emulator.admin.close_session(session, rating_required=True)
    source, seen = ChatSessionEvents(ChatEventFilter(chat_id=CHAT_ID)), SeenEvents()
    first = seen.new(stream(source))
    seen.mark(first)
    assert CHAT_SESSION_RATED not in by_type(first)
    assert next(e for e in first if e.type == CHAT_SESSION_CLOSED).payload["rating"] is None

    rated_session = twin_emulator.admin.rate_session(session, 1)
    later = seen.new(stream(source))
    seen.mark(later)
    [rated] = later
    assert (rated.event_id, rated.type) == (f"session:{session}:rated", CHAT_SESSION_RATED)
    assert rated.payload == {"sessionId": session, "chatId": CHAT_ID, "rating": 1}
    assert rated.time == rated_session["closedAt"]
    assert seen.new(stream(source)) == []
    # A new stream (after a restart) gives the same event, which its cursor drops.
    assert [e.event_id for e in stream(ChatSessionEvents(ChatEventFilter(kinds="session_rated")))] == [
        rated.event_id
    ]


def test_a_session_rated_at_its_close_gives_both_events_and_an_open_one_neither(
    twin_emulator: TwinEmulator, stream: Any
) -> None:
    rated = start_session(twin_emulator)
    start_session(twin_emulator, clientPhone="79990000009")
    twin_emulator.admin.close_session(rated, rating_required=True, rating=4)
    events = stream(ChatSessionEvents(ChatEventFilter(kinds=["session_closed", "session_rated"])))
    assert by_type(events) == {
        CHAT_SESSION_CLOSED: [f"session:{rated}:closed"],
        CHAT_SESSION_RATED: [f"session:{rated}:rated"],
    }
    assert [e.payload["rating"] for e in events] == [4, 4]
    unrated = stream(ChatSessionEvents(ChatEventFilter(kinds=["session_started", "client_message"])))
    assert CHAT_SESSION_RATED not in by_type(unrated)


def test_a_moved_session_is_read_from_its_last_message_read(twin_emulator: TwinEmulator, stream: Any) -> None:
    session = start_session(twin_emulator, messageBody="one", clientPhone="79990000001")
    source, seen = ChatSessionEvents(ChatEventFilter(kinds=["client_message"])), SeenEvents()
    seen.mark(stream(source))
    twin_emulator.admin.advance_clock(5)
    wrote = [write(twin_emulator, session, text) for text in ("two", "three")]
    later = seen.new(stream(source))
    # Listed from "one" (inclusive, dropped by the cursor): both new messages, nothing lost.
    assert [e.event_id for e in later] == [f"chat-message:{item['id']}" for item in wrote]
    assert messages_read(twin_emulator) == 2


def test_a_second_listing_of_a_session_asks_from_its_last_message_read() -> None:
    now = time.time()
    started = datetime.fromtimestamp(now - 60, timezone.utc).isoformat()
    moved = datetime.fromtimestamp(now - 30, timezone.utc).isoformat()
    source = ChatSessionEvents(ChatEventFilter(kinds=["client_message"]))

    def message_listing(last: str) -> Any:
        poll = source.events(now)
        next(poll)
        step = poll.send(
            {"count": 1, "items": [{"id": "s-1", "startedAt": started, "lastMessageCreatedAt": last}]}
        )
        assert isinstance(step, Gather)
        [call] = step.calls
        with pytest.raises(StopIteration):
            poll.send([{"count": 0, "items": []}])
        return call

    assert "from" not in message_listing(started).params
    assert message_listing(moved).params["from"] == started


def test_client_messages_of_many_sessions_are_read_a_batch_at_a_time(
    twin_emulator: TwinEmulator, stream: Any
) -> None:
    sessions = [
        start_session(twin_emulator, messageBody=f"hi {n}", clientPhone=f"7999000{n:04d}")
        for n in range(MESSAGE_LISTINGS_AT_ONCE + 5)
    ]
    events = stream(ChatSessionEvents(ChatEventFilter(kinds=["client_message"])))
    assert sorted(e.payload["sessionId"] for e in events) == sorted(sessions)
    assert messages_read(twin_emulator) == len(sessions)


def test_a_poll_asks_at_most_a_batch_of_message_listings_together() -> None:
    now = time.time()
    started = datetime.fromtimestamp(now - 60, timezone.utc).isoformat()
    sessions = [
        {"id": f"s-{n}", "chatId": CHAT_ID, "startedAt": started, "lastMessageCreatedAt": started}
        for n in range(MESSAGE_LISTINGS_AT_ONCE + 5)
    ]
    poll = ChatSessionEvents(ChatEventFilter(kinds=["client_message"])).events(now)
    listing = next(poll)
    assert listing.params["from"] < started
    sizes = []
    step = poll.send({"count": len(sessions), "items": sessions})
    while isinstance(step, Gather):
        sizes.append(len(step.calls))
        try:
            step = poll.send([{"count": 0, "items": []} for _ in step.calls])
        except StopIteration:
            break
    assert sizes == [MESSAGE_LISTINGS_AT_ONCE, 5]
