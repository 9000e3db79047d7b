"""The notifier's pure parts: SMS sizing and cutting, reading callback events, the delivery flow."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_twin.client import notify
from airflow_provider_twin.client.core.errors import (
    TwinAuthError,
    TwinRateLimited,
    TwinServerError,
    TwinTransportError,
)
from airflow_provider_twin.notifications.delivery import MAX_PAUSE_SECONDS, Delivery, Pause, deliver
from airflow_provider_twin.notifications.event import callback_event, describe_error
from airflow_provider_twin.notifications.text import (
    TRUNCATION_MARKER,
    fit_sms,
    sms_capacity,
    sms_encoding,
    sms_parts,
    sms_units,
    truncate,
)
from tests.unit.test_notifier_support import dag_context, deadline_context, task_context


# -- SMS sizing --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "encoding", "units"),
    [
        ("Task failed", "GSM-7", 11),
        ("a{b}", "GSM-7", 6),  # braces are escape + character
        ("line\nbreak", "GSM-7", 10),
        ("use `code`", "UCS-2", 10),  # no backtick in GSM-7
        ("Загрузка", "UCS-2", 8),
        ("café", "UCS-2", 4),  # counted as UCS-2 on purpose (some routes do)
        ("ok 🚨", "UCS-2", 5),  # an emoji is a surrogate pair
    ],
)
def test_encoding_and_units(text: str, encoding: str, units: int) -> None:
    assert sms_encoding(text) == encoding
    assert sms_units(text) == units


@pytest.mark.parametrize(
    ("text", "parts"),
    [("x" * 160, 1), ("x" * 161, 2), ("x" * 305, 2), ("x" * 306, 3), ("я" * 70, 1), ("я" * 71, 2)],
)
def test_parts(text: str, parts: int) -> None:
    assert sms_parts(text) == parts


def test_capacity_keeps_one_unit_per_boundary() -> None:
    assert sms_capacity(1, "GSM-7") == 160
    assert sms_capacity(3, "GSM-7") == 457
    assert sms_capacity(3, "UCS-2") == 199


def test_fit_sms_keeps_short_texts_and_cuts_long_ones_within_budget() -> None:
    assert fit_sms("short", 1) == "short"
    assert fit_sms("x" * 457, 3) == "x" * 457
    cut = fit_sms("word " * 200, 3)
    assert cut.endswith("word" + TRUNCATION_MARKER)
    assert sms_units(cut) <= 457
    one = fit_sms("y" * 500, 1)
    assert len(one) == 160
    assert sms_parts(one) == 1
    braces = fit_sms("{" * 500, 1)
    assert sms_units(braces) <= 160


def test_fit_sms_keeps_the_encoding_of_the_whole_text() -> None:
    # The Cyrillic letter at the end is cut away, yet the budget stays UCS-2's: never more parts.
    cut = fit_sms("x" * 300 + "я", 2)
    assert sms_units(cut, "UCS-2") <= sms_capacity(2, "UCS-2")
    assert cut.endswith(TRUNCATION_MARKER)


def test_truncate() -> None:
    assert truncate("abc", 40) == "abc"
    cut = truncate("a" * 100, 40)
    assert len(cut) == 40
    assert cut.endswith(TRUNCATION_MARKER)
    assert (
        truncate("alpha beta gamma delta epsilon zeta eta theta", 40)
        == "alpha beta gamma delta" + TRUNCATION_MARKER
    )


# -- reading events ----------------------------------------------------------------------------------
def test_task_event() -> None:
    event = callback_event(task_context(error=ValueError("empty export"), try_number=2, map_index=4))
    assert (event.scope, event.kind, event.event) == ("task", "failed", "failed")
    assert (event.dag_id, event.task_id, event.map_index, event.try_number) == ("nightly_crm", "load", 4, 2)
    assert event.error == "ValueError: empty export"
    assert event.summary == "nightly_crm.load[4] failed (try 2, run scheduled__2026-01-28T02:00:00+00:00)"
    assert event.identity() == (
        "task",
        "nightly_crm",
        "scheduled__2026-01-28T02:00:00+00:00",
        "load",
        "4",
        "2",
        "failed",
    )


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ("success", "succeeded"),
        ("up_for_retry", "failed and will be retried"),
        ("skipped", "was skipped"),
        ("removed", "is removed"),
    ],
)
def test_task_states_in_words(state: str, words: str) -> None:
    assert callback_event(task_context(state=state)).event == words


def test_task_state_enums_are_read_by_value() -> None:
    from airflow.sdk import TaskInstanceState

    assert callback_event(task_context(state=TaskInstanceState.UP_FOR_RETRY)).kind == "up_for_retry"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("success", "succeeded"),
        ("task_failure", "failed"),
        ("all_tasks_deadlocked", "failed: its tasks are deadlocked"),
        ("timed_out", "failed: the run timed out"),
        ("something_new", "ended: something_new"),
    ],
)
def test_dag_events(reason: str, words: str) -> None:
    event = callback_event(dag_context(reason))
    assert (event.scope, event.kind, event.event) == ("dag", reason, words)
    assert event.summary == f"DAG nightly_crm {words} (run scheduled__2026-01-28T02:00:00+00:00)"


def test_dag_event_without_a_task_instance() -> None:
    event = callback_event({"dag": dag_context()["dag"], "run_id": "manual__1", "reason": "success"})
    assert event.identity() == ("dag", "nightly_crm", "manual__1", "", "", "", "success")


def test_deadline_event() -> None:
    event = callback_event(deadline_context())
    assert (event.scope, event.kind, event.dag_id) == ("deadline", "deadline_missed", "nightly_crm")
    assert event.deadline_time == "2026-01-28T04:00:00+00:00"
    assert event.identity() == (
        "deadline",
        "nightly_crm",
        "scheduled__2026-01-28T02:00:00+00:00",
        "0b6d0c7e-0000-4000-8000-00000000d001",
        "deadline_missed",
    )


def test_unknown_context_has_no_identity() -> None:
    assert callback_event({}).identity() is None
    assert callback_event({"exception": "boom"}).summary == "Airflow failed"


@pytest.mark.parametrize(
    ("error", "text"),
    [(None, ""), ("", ""), (ValueError(), "ValueError"), (KeyError("k"), "KeyError: 'k'"), ("text", "text")],
)
def test_describe_error(error: Any, text: str) -> None:
    assert describe_error(error) == text


# -- the delivery flow -------------------------------------------------------------------------------
def play(flow: Any, answers: list[Any]) -> tuple[list[Any], Any]:
    """Drive ``flow``: each request gets the next answer (an exception is thrown in)."""
    steps: list[Any] = []
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(reply)
        except StopIteration as stop:
            return steps, stop.value
        steps.append(step)
        reply, error = None, None
        if isinstance(step, Pause):
            continue
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            error = answer
        else:
            reply = answer


def kinds(steps: list[Any]) -> list[str]:
    return ["pause" if isinstance(s, Pause) else f"{s.method}" for s in steps]


MESSAGE: Any = {"destinations": [{"phone": "79991234567"}], "channels": {"sms": {"text": "x"}}}
ITEM = {"id": "m1", "bulkId": "b", "groupId": "g", "flowId": "f", "status": "PENDING", "channel": "SMS"}
LOST = TwinTransportError("no response", ambiguous=True)
REFUSED = TwinTransportError("could not connect", ambiguous=False)
FIVE_HUNDRED = TwinServerError("HTTP 500", status=500, error="boom")


def test_flow_checks_then_sends_a_non_idempotent_post() -> None:
    steps, outcome = play(deliver(MESSAGE, "b"), [0, [ITEM]])
    assert kinds(steps) == ["GET", "POST"]
    assert steps[0].params["bulkId"] == "b"
    assert steps[1].json["bulkId"] == "b"
    assert steps[1].safe_to_repeat is False
    assert outcome == Delivery("sent", "b", 1, items=[ITEM])
    assert outcome.message_ids == ["m1"]


def test_flow_without_check_sends_directly() -> None:
    steps, outcome = play(deliver(MESSAGE, "b", check_existing=False), [[ITEM]])
    assert kinds(steps) == ["POST"]
    assert outcome.status == "sent"


def test_flow_after_a_lost_answer_confirms_instead_of_resending() -> None:
    steps, outcome = play(deliver(MESSAGE, "b", settle_seconds=0.5), [0, LOST, 1])
    assert kinds(steps) == ["GET", "POST", "pause", "GET"]
    assert steps[2] == Pause(0.5)
    assert (outcome.status, outcome.attempts, outcome.existing) == ("confirmed", 2, 1)


def test_flow_resends_when_the_lost_request_did_not_arrive() -> None:
    steps, outcome = play(deliver(MESSAGE, "b"), [0, FIVE_HUNDRED, 0, [ITEM]])
    assert kinds(steps) == ["GET", "POST", "pause", "GET", "POST"]
    assert (outcome.status, outcome.attempts) == ("sent", 2)


def test_flow_skips_the_post_when_twin_is_unreachable_and_gives_up_after_the_budget() -> None:
    flow = deliver(MESSAGE, "b", max_attempts=3)
    with pytest.raises(TwinTransportError, match="could not connect"):
        play(flow, [REFUSED, REFUSED, REFUSED])


def test_flow_skips_the_post_when_the_check_times_out() -> None:
    steps, outcome = play(deliver(MESSAGE, "b"), [LOST, 0, [ITEM]])
    assert kinds(steps) == ["GET", "pause", "GET", "POST"]
    assert (outcome.status, outcome.attempts) == ("sent", 2)


def test_flow_sends_when_the_check_fails_with_a_server_error() -> None:
    steps, outcome = play(deliver(MESSAGE, "b"), [FIVE_HUNDRED, [ITEM]])
    assert kinds(steps) == ["GET", "POST"]
    assert outcome.status == "sent"


def test_flow_honours_retry_after_within_limits() -> None:
    limited = TwinRateLimited("429", retry_after=600.0, status=429, error="Too Many Requests")
    steps, _ = play(deliver(MESSAGE, "b"), [0, limited, 0, [ITEM]])
    assert steps[2] == Pause(MAX_PAUSE_SECONDS)


def test_flow_stops_at_once_on_errors_retrying_cannot_fix() -> None:
    refused = TwinAuthError("bad credentials", status=401, error="Invalid credentials.")
    with pytest.raises(TwinAuthError):
        play(deliver(MESSAGE, "b"), [refused])


def test_flow_reports_a_previous_send_as_already_sent() -> None:
    steps, outcome = play(deliver(MESSAGE, "b"), [2])
    assert kinds(steps) == ["GET"]
    assert (outcome.status, outcome.existing, outcome.items) == ("already_sent", 2, [])


def test_count_call_is_cheap() -> None:
    call = notify.count_messages(bulk_ids=["b"])
    assert call.params["withoutItems"] == "1"
