"""The create-once procedure on its own, played step by step with scripted answers.

Two budgets use it: a notification's (few attempts over a client that tries each request
once) and a bulk send's (paced by the connection's retry policy, over a client that already
retried what it safely could).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from airflow_provider_twin.client import (
    RetryPolicy,
    TwinAuthError,
    TwinConflictError,
    TwinRateLimited,
    TwinServerError,
    TwinTransportError,
    notify,
)
from airflow_provider_twin.client.core.flows import Sleep
from airflow_provider_twin.client.messages import CreateOnceBudget, Creation, create_once
from airflow_provider_twin.client.messages.create_once import ALERT_MAX_RETRY_AFTER

MESSAGE: Any = {"destinations": [{"phone": "79991234567"}], "channels": {"sms": {"text": "x"}}}
ITEM = {"id": "m1", "bulkId": "b", "groupId": "g", "flowId": "f", "status": "PENDING", "channel": "SMS"}
LOST = TwinTransportError("no response", ambiguous=True)
REFUSED = TwinTransportError("could not connect", ambiguous=False)
FIVE_HUNDRED = TwinServerError("HTTP 500", status=500, error="boom")
CONFLICT = TwinConflictError("HTTP 409", status=409, error="bulkId already exists")
LIMITED = TwinRateLimited("429", retry_after=600.0, status=429, error="Too Many Requests")

ALERT = CreateOnceBudget.alert(max_attempts=2, settle_seconds=1.0)
PACING = RetryPolicy(max_attempts=3, backoff_initial=0.001, backoff_max=0.002, max_elapsed=60)


def paced(check_first: bool = False, settle_seconds: float = 0.5) -> CreateOnceBudget:
    return CreateOnceBudget.paced(PACING, settle_seconds, check_first=check_first)


def play(budget: CreateOnceBudget, answers: list[Any]) -> tuple[list[Any], Creation]:
    """Drive the procedure: each request gets the next answer (an exception is thrown in)."""
    procedure = create_once([MESSAGE], "b", budget, rng=random.Random(7))
    steps: list[Any] = []
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = procedure.throw(error) if error is not None else procedure.send(reply)
        except StopIteration as stop:
            assert not answers, f"unused answers: {answers}"
            return steps, stop.value
        steps.append(step)
        reply, error = None, None
        if isinstance(step, Sleep):
            continue
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            error = answer
        else:
            reply = answer


def kinds(steps: list[Any]) -> list[str]:
    return ["pause" if isinstance(s, Sleep) else f"{s.method}" for s in steps]


# -- what is asked and sent ----------------------------------------------------------------------
def test_checks_then_sends_a_post_the_client_never_repeats() -> None:
    steps, outcome = play(ALERT, [0, [ITEM]])
    assert kinds(steps) == ["GET", "POST"]
    assert steps[0].params["bulkId"] == "b"
    assert steps[0].params["withoutItems"] == "1"  # a counted request, whatever the batch size
    assert steps[1].json["bulkId"] == "b"
    assert steps[1].safe_to_repeat is False
    assert outcome == Creation("sent", "b", 1, items=[ITEM])  # type: ignore[list-item]
    assert outcome.message_ids == ["m1"]


@pytest.mark.parametrize("budget", [CreateOnceBudget.alert(2, check_first=False), paced()])
def test_without_check_first_sends_directly(budget: CreateOnceBudget) -> None:
    steps, outcome = play(budget, [[ITEM]])
    assert kinds(steps) == ["POST"]
    assert outcome.status == "sent"


@pytest.mark.parametrize("budget", [ALERT, paced(check_first=True)])
def test_a_batch_twin_holds_is_not_sent_again(budget: CreateOnceBudget) -> None:
    steps, outcome = play(budget, [2])
    assert kinds(steps) == ["GET"]
    assert (outcome.status, outcome.existing, outcome.items) == ("already_sent", 2, [])


@pytest.mark.parametrize("budget", [ALERT, paced(check_first=True)])
def test_conflict_means_the_batch_exists(budget: CreateOnceBudget) -> None:
    steps, outcome = play(budget, [0, CONFLICT])
    assert kinds(steps) == ["GET", "POST"]
    assert (outcome.status, outcome.existing) == ("already_sent", None)


@pytest.mark.parametrize("budget", [ALERT, paced()])
def test_conflict_after_a_lost_answer_confirms_the_send(budget: CreateOnceBudget) -> None:
    answers: list[Any] = [LOST, 0, CONFLICT] if budget.pacing else [0, LOST, 0, CONFLICT]
    _, outcome = play(budget, answers)
    assert outcome.status == "confirmed"


# -- a lost answer -------------------------------------------------------------------------------
def test_alert_after_a_lost_answer_confirms_instead_of_resending() -> None:
    steps, outcome = play(CreateOnceBudget.alert(2, settle_seconds=0.5), [0, LOST, 1])
    assert kinds(steps) == ["GET", "POST", "pause", "GET"]
    assert steps[2] == Sleep(0.5)
    assert (outcome.status, outcome.attempts, outcome.existing) == ("confirmed", 2, 1)


def test_alert_resends_when_the_lost_request_did_not_arrive() -> None:
    steps, outcome = play(ALERT, [0, FIVE_HUNDRED, 0, [ITEM]])
    assert kinds(steps) == ["GET", "POST", "pause", "GET", "POST"]
    assert (outcome.status, outcome.attempts) == ("sent", 2)


def test_bulk_after_a_lost_answer_that_was_created_is_not_resent() -> None:
    steps, outcome = play(paced(settle_seconds=0.5), [LOST, 3])
    assert kinds(steps) == ["POST", "pause", "GET"]
    assert steps[1].seconds >= 0.5  # the settle time is the least it waits
    assert (outcome.status, outcome.existing) == ("confirmed", 3)


def test_bulk_after_a_lost_answer_that_was_not_created_sends_again() -> None:
    steps, outcome = play(paced(), [FIVE_HUNDRED, 0, [ITEM]])
    assert kinds(steps) == ["POST", "pause", "GET", "POST"]
    assert (outcome.status, outcome.attempts, outcome.items) == ("sent", 2, [ITEM])


def test_bulk_gives_up_when_its_retry_policy_does() -> None:
    with pytest.raises(TwinServerError):
        play(paced(), [FIVE_HUNDRED, 0, FIVE_HUNDRED, 0, FIVE_HUNDRED])  # 3 attempts


def test_bulk_does_not_retry_what_its_client_already_retried() -> None:
    for error in (REFUSED, LIMITED):
        with pytest.raises(type(error)):
            play(paced(), [error])


# -- the existence check fails -------------------------------------------------------------------
def test_alert_sends_when_the_check_fails_with_a_server_error() -> None:
    steps, outcome = play(ALERT, [FIVE_HUNDRED, [ITEM]])
    assert kinds(steps) == ["GET", "POST"]
    assert outcome.status == "sent"


def test_alert_skips_the_post_when_the_check_times_out() -> None:
    steps, outcome = play(ALERT, [LOST, 0, [ITEM]])
    assert kinds(steps) == ["GET", "pause", "GET", "POST"]
    assert (outcome.status, outcome.attempts) == ("sent", 2)


def test_alert_skips_the_post_when_twin_is_unreachable_and_gives_up_after_the_budget() -> None:
    with pytest.raises(TwinTransportError, match="could not connect"):
        play(CreateOnceBudget.alert(max_attempts=3), [REFUSED, REFUSED, REFUSED])


@pytest.mark.parametrize("check_error", [FIVE_HUNDRED, LOST])
def test_bulk_never_sends_without_knowing_whether_the_batch_exists(check_error: Exception) -> None:
    with pytest.raises(type(check_error)):
        play(paced(), [LOST, check_error])
    with pytest.raises(type(check_error)):
        play(paced(check_first=True), [check_error])


# -- pauses and errors no attempt can fix --------------------------------------------------------
def test_alert_honours_retry_after_within_limits() -> None:
    steps, _ = play(ALERT, [0, LIMITED, 0, [ITEM]])
    assert steps[2] == Sleep(ALERT_MAX_RETRY_AFTER)
    short = TwinRateLimited("429", retry_after=0.1, status=429, error="Too Many Requests")
    steps, _ = play(ALERT, [0, short, 0, [ITEM]])
    assert steps[2] == Sleep(1.0), "never sooner than the settle time"


@pytest.mark.parametrize("budget", [ALERT, paced(check_first=True)])
def test_stops_at_once_on_errors_retrying_cannot_fix(budget: CreateOnceBudget) -> None:
    refused = TwinAuthError("bad credentials", status=401, error="Invalid credentials.")
    with pytest.raises(TwinAuthError):
        play(budget, [refused])
    with pytest.raises(TwinAuthError):
        play(budget, [0, refused])


def test_count_call_is_cheap() -> None:
    call = notify.count_messages(bulk_ids=["b"])
    assert call.params["withoutItems"] == "1"
