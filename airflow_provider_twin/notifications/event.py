"""What happened, read from the context an Airflow callback receives.

Airflow calls notifiers with four shapes of context:

* **task callbacks** (``on_failure_callback``, ``on_success_callback``, ``on_retry_callback``,
  ``on_skipped_callback`` of a task): the task's template context; ``ti.state`` is already
  the new state and ``exception`` the error, if any;
* **DAG callbacks** (``on_failure_callback`` / ``on_success_callback`` of a DAG): the template
  context of the run's last task instance (or only ``dag`` and ``run_id``) plus ``reason``
  (``success``, ``task_failure``, ``all_tasks_deadlocked``, ``timed_out``...);
* **deadline alerts**: ``{"dag_run": {...DAG run as JSON...}, "deadline": {"id", "deadline_time"}}``;
* **HITL requests**: a human-in-the-loop operator calling its ``notifiers`` when it starts
  waiting (the task's context, its ``task`` the operator; see :mod:`.hitl_request`).

:func:`callback_event` reduces all four to one :class:`CallbackEvent`: the names a message
template needs (``dag_id``, ``task_id``, ``run_id``, ``try_number``, ``log_url``, ``error``,
``summary``...) and the identity of the event, from which the notifier derives its
deterministic ``bulkId``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from airflow_provider_twin.notifications.hitl_request import HITL_REQUEST, HITL_REQUEST_EVENT, is_hitl_request

Scope = Literal["task", "dag", "deadline", "unknown"]

#: Human words for a task's new state.
TASK_EVENTS: Mapping[str, str] = {
    "success": "succeeded",
    "failed": "failed",
    "up_for_retry": "failed and will be retried",
    "skipped": "was skipped",
    "upstream_failed": "did not run: an upstream task failed",
}

#: Human words for the ``reason`` of a DAG callback.
DAG_EVENTS: Mapping[str, str] = {
    "success": "succeeded",
    "task_failure": "failed",
    "all_tasks_deadlocked": "failed: its tasks are deadlocked",
    "timed_out": "failed: the run timed out",
}

DEADLINE_EVENT = "missed its deadline"


def _get(source: Any, name: str) -> Any:
    """``source[name]`` for mappings, ``source.name`` otherwise; None when absent or failing."""
    if source is None:
        return None
    if isinstance(source, Mapping):
        return source.get(name)
    try:
        return getattr(source, name, None)
    except Exception:  # noqa: BLE001 - a context property that cannot be computed is just absent
        return None


def _text(value: Any) -> str:
    """A context value as text; enums by their value, None as ``""``."""
    if value is None:
        return ""
    value = getattr(value, "value", value)
    return str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def describe_error(error: Any) -> str:
    """``"ValueError: the export is empty"`` for an exception, the text for a string, else ``""``."""
    if error is None or error == "":
        return ""
    if isinstance(error, BaseException):
        message = str(error).strip()
        name = type(error).__name__
        return f"{name}: {message}" if message else name
    return str(error).strip()


def _api_base_url() -> str:
    """Airflow's ``[api] base_url`` (where the UI is), for links in deadline messages."""
    try:
        from airflow.sdk.configuration import conf  # noqa: PLC0415 - only for deadline links

        return str(conf.get("api", "base_url", fallback="http://localhost:8080/"))
    except Exception:  # noqa: BLE001 - a link is a nicety; never fail a notification for it
        return ""


@dataclass(frozen=True)
class CallbackEvent:
    """One callback's event, reduced to what a notification needs.

    :param scope: ``task``, ``dag``, ``deadline``, or ``unknown`` (a context the notifier
        does not recognise, e.g. a direct call in a test).
    :param kind: the task state (``failed``, ``success``...), the DAG callback's ``reason``,
        ``deadline_missed``, or ``hitl_request``.
    :param event: ``kind`` in words ("failed and will be retried").
    :param task_id: the task (task callbacks); for DAG callbacks the run's last task, if any.
    :param error: the exception as ``"Type: message"``, or ``""``.
    :param log_url: the task try's log page; for deadlines the DAG run's page.
    """

    scope: Scope
    kind: str
    event: str
    dag_id: str = ""
    run_id: str = ""
    task_id: str = ""
    map_index: int | None = None
    try_number: int | None = None
    error: str = ""
    log_url: str = ""
    deadline_id: str = ""
    deadline_time: str = ""

    @property
    def task_label(self) -> str:
        """``dag.task`` (with ``[map_index]`` for mapped tasks)."""
        label = f"{self.dag_id}.{self.task_id}" if self.task_id else self.dag_id
        if self.map_index is not None and self.map_index >= 0:
            label += f"[{self.map_index}]"
        return label

    @property
    def summary(self) -> str:
        """One line saying what happened, e.g. ``nightly_crm.load failed (try 2, run manual__...)``."""
        if self.scope == "task":
            details = [f"try {self.try_number}"] if self.try_number else []
            details += [f"run {self.run_id}"] if self.run_id else []
            suffix = f" ({', '.join(details)})" if details else ""
            return f"{self.task_label} {self.event}{suffix}"
        details = [f"run {self.run_id}"] if self.run_id else []
        if self.scope == "deadline" and self.deadline_time:
            details.append(f"deadline {self.deadline_time}")
        suffix = f" ({', '.join(details)})" if details else ""
        subject = f"DAG {self.dag_id}" if self.dag_id else "Airflow"
        return f"{subject} {self.event}{suffix}"

    def identity(self) -> tuple[str, ...] | None:
        """What makes this event unique, for a deterministic ``bulkId``; None if unknowable.

        A task event is one try of one (mapped) task instance reaching one state. A DAG event
        is one end of a run; the run's last task try is part of it, because a cleared run that
        ends again is a new event with the same run id. A deadline event is one deadline.
        """
        if not self.dag_id or not self.run_id or self.scope == "unknown":
            return None
        base = (self.scope, self.dag_id, self.run_id)
        if self.scope == "deadline":
            return (*base, self.deadline_id or self.deadline_time, self.kind)
        return (*base, self.task_id, _text(self.map_index), _text(self.try_number), self.kind)

    def template_variables(self) -> dict[str, Any]:
        """Names added to the template context (where the context lacks them)."""
        return {
            "dag_id": self.dag_id,
            "task_id": self.task_id,
            "map_index": self.map_index,
            "try_number": self.try_number,
            "run_id": self.run_id,
            "event": self.event,
            "error": self.error,
            "exception": self.error,
            "log_url": self.log_url,
            "summary": self.summary,
            "scope": self.scope,
            "reason": self.kind,
            "deadline_time": self.deadline_time,
        }

    def describe(self) -> str:
        """Short description for log lines."""
        return self.summary


def _deadline_event(context: Mapping[str, Any]) -> CallbackEvent:
    dag_run = context.get("dag_run")
    deadline = context.get("deadline")
    dag_id = _text(_get(dag_run, "dag_id"))
    run_id = _text(_get(dag_run, "dag_run_id") or _get(dag_run, "run_id"))
    base_url = _api_base_url().rstrip("/")
    log_url = (
        f"{base_url}/dags/{quote(dag_id)}/runs/{quote(run_id)}" if base_url and dag_id and run_id else ""
    )
    deadline_time = _get(deadline, "deadline_time")
    if hasattr(deadline_time, "isoformat"):
        deadline_time = deadline_time.isoformat(timespec="seconds")
    return CallbackEvent(
        scope="deadline",
        kind="deadline_missed",
        event=DEADLINE_EVENT,
        dag_id=dag_id,
        run_id=run_id,
        log_url=log_url,
        deadline_id=_text(_get(deadline, "id")),
        deadline_time=_text(deadline_time),
    )


def callback_event(context: Mapping[str, Any]) -> CallbackEvent:
    """The :class:`CallbackEvent` of a callback ``context`` (any of the four shapes)."""
    if "deadline" in context:
        return _deadline_event(context)
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_run = context.get("dag_run")
    dag_id = _text(_get(dag, "dag_id") or _get(ti, "dag_id") or _get(dag_run, "dag_id"))
    run_id = _text(context.get("run_id") or _get(dag_run, "run_id") or _get(ti, "run_id"))
    error = describe_error(context.get("exception"))
    common: dict[str, Any] = {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": _text(_get(ti, "task_id")),
        "map_index": _int(_get(ti, "map_index")),
        "try_number": _int(_get(ti, "try_number")),
        "error": error,
        "log_url": _text(_get(ti, "log_url")),
    }
    if "reason" in context:
        reason = _text(context.get("reason")) or "unknown"
        event = DAG_EVENTS.get(reason, f"ended: {reason}")
        return CallbackEvent(scope="dag", kind=reason, event=event, **common)
    if is_hitl_request(context):
        return CallbackEvent(scope="task", kind=HITL_REQUEST, event=HITL_REQUEST_EVENT, **common)
    if ti is not None:
        state = _text(_get(ti, "state")) or ("failed" if error else "success")
        event = TASK_EVENTS.get(state, f"is {state.replace('_', ' ')}")
        return CallbackEvent(scope="task", kind=state, event=event, **common)
    kind = "failed" if error else "notified"
    return CallbackEvent(scope="unknown", kind=kind, event="failed" if error else "notified", **common)
