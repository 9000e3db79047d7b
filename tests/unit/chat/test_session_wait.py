"""The rules of a wait for one session, as both realtime clients drive them (no I/O here)."""

from __future__ import annotations

from airflow_provider_twin.client.chat import (
    ERROR_REALTIME,
    ChatEvent,
    EventFilter,
    SessionCheck,
    closed_result,
)
from airflow_provider_twin.client.chat.realtime import (
    ConnectionLost,
    HubStopped,
    Joined,
    JoinFailed,
    SessionWait,
)

SID = "0b5a8b5e-8d5c-4c5e-9d55-7f2f0e3a1c11"
OPEN = SessionCheck()


def make_wait(**rules: object) -> SessionWait:
    return SessionWait(SID, deadline=1000.0, now=0.0, recheck_interval=600, fallback_interval=30, **rules)  # type: ignore[arg-type]


def test_rest_is_asked_after_each_join_then_on_the_timers() -> None:
    wait = make_wait()
    assert wait.wake_at == 30  # not joined yet: the fallback timer
    assert wait.receive(Joined(1), now=1) is True
    assert wait.checked(OPEN, now=2) is None
    assert wait.wake_at == 602  # joined: the safety-net timer
    assert wait.receive(None, now=300) is False  # woke early: nothing to do
    assert wait.receive(None, now=602) is True
    assert wait.receive(JoinFailed("103 permission denied"), now=610) is True
    assert wait.checked(OPEN, now=611) is None
    assert wait.wake_at == 641  # refused join: REST every fallback interval


def test_a_lost_connection_brings_the_next_check_forward() -> None:
    wait = make_wait()
    wait.receive(Joined(1), now=0)
    wait.checked(OPEN, now=0)
    assert wait.receive(ConnectionLost("3001 shutdown"), now=100) is False
    assert (wait.joined, wait.wake_at) == (False, 130)
    assert wait.receive(Joined(2), now=101) is True  # reconnected: ask REST again at once


def test_transient_trouble_is_asked_again_soon() -> None:
    wait = make_wait()
    wait.receive(Joined(1), now=0)
    assert wait.checked(SessionCheck(trouble="TwinServerError: down"), now=10) is None
    assert wait.wake_at == 15


def test_events_end_the_wait_only_when_awaited_and_of_this_session() -> None:
    wait = make_wait(
        events=EventFilter.from_specs([{"event": "chatMessageCreated", "match": {"type": "TERMINAL"}}])
    )
    other_session = ChatEvent("sessionClosed", {}, "another-session")
    assert wait.receive(other_session, now=1) is False
    assert wait.receive(ChatEvent("chatMessageCreated", {"type": "REGULAR"}, SID), now=1) is False
    done = wait.receive(ChatEvent("chatMessageCreated", {"type": "TERMINAL"}, SID.upper()), now=1)
    assert not isinstance(done, bool)
    assert (done.status, done.source, done.session_id) == ("event", "websocket", SID)
    unnamed = wait.receive(ChatEvent("sessionClosed", {}, None), now=1)  # a one-session socket's event
    assert not isinstance(unnamed, bool)
    assert unnamed.status == "closed"


def test_a_close_seen_over_rest_ends_the_wait() -> None:
    wait = make_wait()
    closed = closed_result(SID, {"id": SID, "status": "CLOSED"})
    assert wait.checked(SessionCheck(closed), now=1) is closed


def test_the_deadline_and_a_stopped_connection_end_the_wait() -> None:
    wait = make_wait()
    late = wait.receive(None, now=1000)
    assert not isinstance(late, bool)
    assert late.status == "timeout"
    stopped = wait.receive(HubStopped("TWIN closed the realtime connection for good: 3503"), now=1)
    assert not isinstance(stopped, bool)
    assert (stopped.status, stopped.error) == ("error", ERROR_REALTIME)
