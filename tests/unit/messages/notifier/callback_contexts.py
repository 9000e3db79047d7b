"""Callback contexts as Airflow hands them to a notifier, and the notifier's log, recorded."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from unittest import mock


def task_ti(state: str = "failed", try_number: int = 1, map_index: int = -1, **extra: Any) -> Any:
    """A task instance as a callback sees it."""
    values = {
        "dag_id": "nightly_crm",
        "task_id": "load",
        "run_id": "scheduled__2026-01-28T02:00:00+00:00",
        "map_index": map_index,
        "try_number": try_number,
        "state": state,
        "log_url": "http://airflow.example.com/dags/nightly_crm/runs/r/tasks/load?try_number=1",
    }
    values.update(extra)
    return SimpleNamespace(**values)


def task_context(state: str = "failed", error: BaseException | None = None, **ti: Any) -> dict[str, Any]:
    """The context of a task callback."""
    instance = task_ti(state, **ti)
    return {"ti": instance, "task_instance": instance, "run_id": instance.run_id, "exception": error}


def dag_context(reason: str = "task_failure", **ti: Any) -> dict[str, Any]:
    """The context of a DAG callback (last task instance included)."""
    instance = task_ti("failed" if reason != "success" else "success", **ti)
    return {
        "dag": SimpleNamespace(dag_id="nightly_crm", render_template_as_native_obj=False),
        "ti": instance,
        "run_id": instance.run_id,
        "reason": reason,
    }


def deadline_context(deadline_id: str = "0b6d0c7e-0000-4000-8000-00000000d001") -> dict[str, Any]:
    """The context the triggerer gives a deadline alert's callback."""
    return {
        "dag_run": {"dag_id": "nightly_crm", "dag_run_id": "scheduled__2026-01-28T02:00:00+00:00"},
        "deadline": {"id": deadline_id, "deadline_time": "2026-01-28T04:00:00+00:00"},
    }


def logged(notifier: Any) -> mock.MagicMock:
    """Replace the notifier's logger with a mock (copies made for rendering share it)."""
    log = mock.MagicMock()
    notifier._log = log
    return log


def lines(log: mock.MagicMock, level: str) -> list[str]:
    """The formatted messages logged at ``level`` (``info``, ``warning``, ``error``)."""
    return [call.args[0] % call.args[1:] for call in getattr(log, level).call_args_list]
