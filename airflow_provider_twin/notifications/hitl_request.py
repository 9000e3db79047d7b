"""Human-in-the-loop requests: a notifier in a HITL operator's ``notifiers`` asks someone to decide.

Airflow's HITL operators (``HITLOperator``, ``ApprovalOperator``, ``HITLBranchOperator``...)
call each of their ``notifiers`` with the task's context when the task starts waiting for a
human. Such a call is not a callback of a finished try: the task instance is still running
and the context's ``task`` is the operator, with its rendered ``subject`` and ``body``, its
``options`` and ``multiple``. This module recognises that call, names its event, and gives
templates what the person needs to decide: the question, the options and the link to the
task's Required Actions page.

The operator is recognised by what it has, not by its class, so nothing here imports the
standard provider (a deployment without it still loads the notifier).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: The event kind of a HITL request (part of its ``bulkId`` identity: one per try).
HITL_REQUEST = "hitl_request"

#: The event in words: "approve_load waits for your decision".
HITL_REQUEST_EVENT = "waits for your decision"

#: The operator attributes a HITL request is recognised by.
HITL_ATTRIBUTES = ("subject", "options", "multiple", "generate_link_to_ui_from_context")

#: Task states of callbacks after a try (a HITL operator's failure callback is no request).
CALLBACK_STATES = frozenset({"success", "failed", "up_for_retry", "skipped", "upstream_failed"})

#: How much of the body the default text quotes: enough to decide on, short enough to keep
#: the options and the link in an SMS. The Required Actions page shows all of it.
BODY_PREVIEW_LENGTH = 200

#: The text sent for a HITL request when neither ``text`` nor ``template_id`` is given: the
#: question, the numbered options, then the link (what to answer, and where).
HITL_DEFAULT_TEXT = (
    "Airflow: {{ subject }}"
    "{% if body %}\n{{ body | truncate(" + str(BODY_PREVIEW_LENGTH) + ', end="...") }}{% endif %}'
    "\n{% if multiple %}Choose one or more:{% else %}Choose one:{% endif %}\n{{ options_text }}"
    "{% if required_actions_url %}\nDecide in Airflow: {{ required_actions_url }}{% endif %}"
)


def _state(ti: Any) -> str:
    state = getattr(ti, "state", None)
    return str(getattr(state, "value", state) or "")


def is_hitl_task(task: Any) -> bool:
    """Whether ``task`` looks like one of Airflow's HITL operators (see :data:`HITL_ATTRIBUTES`)."""
    if task is None or isinstance(task, Mapping):
        return False
    try:
        return all(hasattr(task, name) for name in HITL_ATTRIBUTES) and isinstance(task.options, Sequence)
    except Exception:  # noqa: BLE001 - an object whose attributes fail is no HITL operator
        return False


def is_hitl_request(context: Mapping[str, Any]) -> bool:
    """Whether ``context`` is a HITL operator asking its notifiers for a decision.

    That is: the context's ``task`` is a HITL operator and its task instance has not ended
    (no callback state, no exception). The same operator's ``on_failure_callback`` or
    ``on_success_callback`` are ordinary task callbacks.
    """
    if "reason" in context or context.get("exception") is not None:
        return False
    ti = context.get("ti") or context.get("task_instance")
    return ti is not None and is_hitl_task(context.get("task")) and _state(ti) not in CALLBACK_STATES


def numbered_options(options: Sequence[Any]) -> str:
    """``"1. Approve\\n2. Reject"``: the options as numbered lines."""
    return "\n".join(f"{number}. {option}" for number, option in enumerate(options, start=1))


def required_actions_url(context: Mapping[str, Any]) -> str:
    """The task's Required Actions page, from Airflow's own helper; ``""`` when it cannot tell.

    Airflow needs ``[api] base_url`` for it; without one (or for any other reason the helper
    refuses) the message goes out without a link rather than not at all.
    """
    task = context.get("task")
    try:
        return str(task.generate_link_to_ui_from_context(context=context) or "")  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - a link is a nicety; never fail a request for it
        return ""


def hitl_variables(context: Mapping[str, Any]) -> dict[str, Any]:
    """Names a HITL request adds to the template context.

    ``subject`` and ``body`` (rendered by the operator, ``body`` ``""`` when none),
    ``options`` (the list), ``options_text`` (numbered lines), ``multiple`` (whether several
    options may be chosen), ``defaults`` (taken on timeout, ``[]`` when none) and
    ``required_actions_url``.
    """
    task = context.get("task")
    options = [str(option) for option in getattr(task, "options", None) or []]
    return {
        "subject": str(getattr(task, "subject", "") or ""),
        "body": str(getattr(task, "body", "") or ""),
        "options": options,
        "options_text": numbered_options(options),
        "multiple": bool(getattr(task, "multiple", False)),
        "defaults": [str(option) for option in getattr(task, "defaults", None) or []],
        "required_actions_url": required_actions_url(context),
    }
