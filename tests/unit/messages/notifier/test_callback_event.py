"""What happened, read from the three shapes of context an Airflow callback receives."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_twin.notifications.event import callback_event, describe_error
from tests.unit.messages.notifier.callback_contexts import dag_context, deadline_context, task_context


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
