"""The notifier's Jinja side: what is a template, its syntax checked at parse time, and the
context templates are rendered with.

A notifier's fields may be Airflow templates (``{{ var.value.on_call }}``); what they hold is
only known once rendered for a callback, so the checks made when the DAG is parsed skip them
and look at their Jinja syntax instead.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from airflow_provider_twin.client.messages import limit_problems, settings_problems
from airflow_provider_twin.notifications.event import CallbackEvent, callback_event
from airflow_provider_twin.notifications.hitl_request import HITL_DEFAULT_TEXT, HITL_REQUEST, hitl_variables

if TYPE_CHECKING:
    from airflow.sdk import BaseNotifier, Context

    from airflow_provider_twin.notifications.twin import TwinNotifier

N = TypeVar("N", bound="BaseNotifier")

#: The text sent when neither ``text`` nor ``template_id`` is given. The error goes last, so
#: that a long one is what the length limit cuts, not the link to the log.
DEFAULT_TEXT = (
    "Airflow: {{ summary }}{% if log_url %} {{ log_url }}{% endif %}{% if error %} {{ error }}{% endif %}"
)

#: Context entries templates do not get: connection fields must never reach a message.
HIDDEN_CONTEXT_KEYS = frozenset({"conn"})

_JINJA_MARKERS = ("{{", "{%", "{#")


class NotificationError(Exception):
    """A notification could not be prepared (e.g. a recipients template did not render)."""


def has_jinja(value: Any) -> bool:
    """Whether ``value`` (or any string inside it) is a Jinja template."""
    if isinstance(value, str):
        return any(marker in value for marker in _JINJA_MARKERS)
    if isinstance(value, Mapping):
        return any(has_jinja(key) or has_jinja(item) for key, item in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(has_jinja(item) for item in value)
    return False


def jinja_problems(field: str, value: Any) -> list[str]:
    """Jinja syntax errors in the strings of ``value``, named by field."""
    from jinja2 import TemplateSyntaxError  # noqa: PLC0415 - Airflow always ships Jinja
    from jinja2.sandbox import SandboxedEnvironment  # noqa: PLC0415

    env = SandboxedEnvironment()
    problems: list[str] = []

    def walk(item: Any, where: str) -> None:
        if isinstance(item, str):
            if any(marker in item for marker in _JINJA_MARKERS):
                try:
                    env.parse(item)
                except TemplateSyntaxError as exc:
                    problems.append(f"{where}: Jinja syntax error on line {exc.lineno}: {exc.message}")
        elif isinstance(item, Mapping):
            for key, sub in item.items():
                walk(sub, f"{where}.{key}")
        elif isinstance(item, (list, tuple)):
            for index, sub in enumerate(item):
                walk(sub, f"{where}[{index}]")

    walk(value, field)
    return problems


def render_context(context: Mapping[str, Any], event: CallbackEvent) -> dict[str, Any]:
    """The context templates are rendered with: Airflow's, minus ``conn``, plus the event's names.

    The event's names (``dag_id``, ``task_id``, ``run_id``, ``try_number``, ``log_url``,
    ``error``, ``summary``, ``event``...) fill in only where the context has no value, so
    Airflow's own entries (``ti``, ``dag_run``, ``exception``...) keep their meaning. A HITL
    request adds its question (:func:`.hitl_request.hitl_variables`) the same way.
    """
    rendered = {key: value for key, value in context.items() if key not in HIDDEN_CONTEXT_KEYS}
    names = event.template_variables()
    if event.kind == HITL_REQUEST:
        names.update(hitl_variables(context))
    for key, value in names.items():
        if rendered.get(key) is None:
            rendered[key] = value
    return rendered


def default_text(event: CallbackEvent) -> str:
    """The text sent when the notifier has no text of its own: a HITL request's asks to decide."""
    return HITL_DEFAULT_TEXT if event.kind == HITL_REQUEST else DEFAULT_TEXT


def render_copy(notifier: N, context: Mapping[str, Any]) -> N:
    """A copy of ``notifier`` with its template fields rendered for a callback's ``context``.

    A ``text`` that fails to render is replaced by the default text (an alert still goes
    out, and the error is logged); any other field failing to render raises
    :class:`NotificationError`. The default text of a HITL request is
    :data:`.hitl_request.HITL_DEFAULT_TEXT`.
    """
    event = callback_event(context)
    values = cast("Context", render_context(context, event))
    dag = context.get("dag")
    # ``dag.test()`` hands DAG callbacks a serialized DAG, which has no template environment.
    env = notifier.get_template_env(dag=dag if callable(getattr(dag, "get_template_env", None)) else None)
    clone = copy.copy(notifier)
    for name in notifier.template_fields:
        template = getattr(notifier, name)
        if name == "text" and template == DEFAULT_TEXT:
            template = default_text(event)
        try:
            rendered = notifier.render_template(template, values, env)
        except Exception as exc:
            if name != "text":
                raise NotificationError(f"{name} could not be rendered: {type(exc).__name__}: {exc}") from exc
            notifier.log.error(
                "TWIN notification: the text template failed to render (%s: %s); "
                "sending the default text instead",
                type(exc).__name__,
                exc,
            )
            try:
                rendered = str(
                    notifier.render_template(default_text(event), cast("Context", dict(values)), env)
                )
            except Exception:  # noqa: BLE001 - the plain summary always works
                rendered = f"Airflow: {event.summary}"
        setattr(clone, name, rendered)
    return clone


def setting_problems(notifier: TwinNotifier) -> list[str]:
    """Every problem of ``notifier``'s settings that can be seen when the DAG is parsed: its
    limits, the Jinja syntax of its templates, and the values that are not templates."""
    problems = limit_problems(
        max_sms_parts=notifier.max_sms_parts,
        max_length=notifier.max_length,
        max_attempts=notifier.max_attempts,
        timeouts={"connect_timeout": notifier.connect_timeout, "read_timeout": notifier.read_timeout},
        twin_conn_id=notifier.twin_conn_id,
    )
    for name in notifier.template_fields:
        problems.extend(jinja_problems(name, getattr(notifier, name)))
    if problems:
        return problems
    return settings_problems(**notifier.message_settings(), templated=has_jinja)
