"""Human-in-the-loop operators whose question also goes to approvers in TWIN chat.

Airflow's ``ApprovalOperator``, ``HITLBranchOperator`` and ``HITLOperator`` write the request to
Airflow, where it is answered on the Required Actions page. These do the same, then ask each
approver in a TWIN chat session of their own and wait, on Airflow 3.2 and 3.3 alike, in
:class:`~airflow_provider_twin.triggers.chat_approval.TwinChatApprovalTrigger` for the first
answer: in Airflow, or an approver's reply in chat. Then every approver is told the outcome;
what the answer does (skip, fail on reject, branch) is the Airflow operator's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLBranchOperator, HITLOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred

from airflow_provider_twin.client import TwinInputError, error_summary, positive_seconds
from airflow_provider_twin.client.chat import (
    approver_from_json,
    approvers_known_after_rendering,
    check_chat_id,
    check_language,
    outcome_texts,
    parse_approvers,
    question_text,
    request_tag,
    session_lifetime_warning,
    session_name,
)
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.chat_approval_messages import send_to_approvers
from airflow_provider_twin.triggers.chat_approval import DEFAULT_POLL_INTERVAL, TwinChatApprovalTrigger
from airflow_provider_twin.triggers.hitl_params import check_chat_params

try:  # Airflow 3.3+: HITLOperator parks the task awaiting input instead of deferring
    from airflow.sdk.exceptions import TaskAwaitingInput

    _PARKED: tuple[type[BaseException], ...] = (TaskDeferred, TaskAwaitingInput)
except ImportError:  # Airflow 3.2
    _PARKED = (TaskDeferred,)

if TYPE_CHECKING:
    from airflow.sdk import Context


class TwinChatApprovalMixin:
    """Asks the approvers in TWIN chat and defers to the chat approval trigger (see the module).
    Each operator defines ``__init__`` itself, for Airflow's operator metaclass to wrap it.

    :param approvers: who is asked (templated): phones (``"+7 999 123-45-67"``) or objects with
        one of ``phone``, ``messengerUserId``, ``clientId``, ``externalId`` and a ``name``.
    :param chat_id: the TWIN chat (widget) the sessions open in (templated).
    :param twin_conn_id: the ``twin`` connection.
    :param messenger_type: the messenger to reach the approvers in, e.g. ``WHATSAPP``.
    :param bot_id: the bot that speaks in the sessions, if not the chat's.
    :param language: of the texts the approvers get: ``en`` or ``ru``.
    :param poll_interval: seconds between two reads of the answers while nothing wakes the wait.
    :raises ValueError: where the DAG is parsed, naming a bad argument, or a param without a valid
        default (an answer in chat records the params' defaults).
    """

    template_fields: Collection[str] = ("subject", "body", "chat_id", "approvers")

    def __init__(
        self,
        *,
        approvers: Any,
        chat_id: str,
        twin_conn_id: str = TwinHook.default_conn_name,
        messenger_type: str | None = None,
        bot_id: str | None = None,
        language: str = "en",
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        **kwargs: Any,
    ) -> None:
        if not approvers_known_after_rendering(approvers):
            parse_approvers(approvers)
        chat_id = check_chat_id(chat_id)
        language = check_language(language)
        poll_interval = positive_seconds("poll_interval", poll_interval)
        super().__init__(**kwargs)
        check_chat_params(getattr(self, "params", {}))
        self.approvers = approvers
        self.chat_id = chat_id
        self.language = language
        self.twin_conn_id, self.messenger_type, self.bot_id = twin_conn_id, messenger_type, bot_id
        self.poll_interval = poll_interval

    def execute(self, context: Context) -> None:
        """Write the request and run the notifiers (Airflow's part), ask the approvers, defer."""
        operator: Any = self
        try:
            approvers = parse_approvers(self.approvers)
            chat_id = check_chat_id(self.chat_id)
        except TwinInputError as exc:
            raise AirflowFailException(f"{operator.task_id}: {exc}") from None
        with contextlib.suppress(*_PARKED):  # Airflow's wait is replaced by ours, which hears chat too
            super().execute(context)  # type: ignore[misc]
        timeout = operator.response_timeout.total_seconds() if operator.response_timeout else None
        if (lifetime := session_lifetime_warning(timeout)) is not None:
            operator.log.warning("Chat approval: %s", lifetime)
        ti = context["task_instance"]
        request_key = f"{ti.id}#{ti.try_number}"  # one request per task instance try
        mapped = f"[{ti.map_index}]" if ti.map_index is not None and ti.map_index >= 0 else ""
        label = f"{ti.dag_id}.{ti.task_id}{mapped}"
        everyone = {
            "request_key": request_key,
            "chat_id": chat_id,
            "approvers": [approver.to_json() for approver in approvers],
            "session_names": {a.key: session_name(request_key, a, label) for a in approvers},
        }
        asked_at = time.time()
        conversation = self._ask(context, everyone)
        operator.defer(
            trigger=TwinChatApprovalTrigger(
                ti_id=str(ti.id),
                **conversation,
                subject=operator.subject,
                options=operator.options,
                multiple=operator.multiple,
                defaults=operator.defaults,
                params=operator.serialized_params,
                timeout_datetime=operator.hitl_summary_extra.get("timeout_datetime"),
                asked_at=asked_at,
                language=self.language,
                messenger_type=self.messenger_type,
                bot_id=self.bot_id,
                poll_interval=self.poll_interval,
                twin_conn_id=self.twin_conn_id,
            ),
            method_name="execute_complete",
            kwargs={"twin_chat": conversation},
        )

    def _ask(self, context: Context, conversation: dict[str, Any]) -> dict[str, Any]:
        """Send the question to every approver; the conversation with those asked (none: fail)."""
        operator: Any = self
        try:
            link: str | None = HITLOperator.generate_link_to_ui_from_context(context=context)
        except ValueError:  # no [api] base_url: no link to the Required Actions page
            link = None
        parts = (operator.subject, operator.body, operator.options, operator.multiple, link)
        tag = request_tag(conversation["request_key"])
        failed = self._send(conversation, "question", question_text(*parts, self.language, tag=tag), False)
        approvers = [approver_from_json(item) for item in conversation["approvers"]]
        asked = [approver for approver in approvers if approver.key not in failed]
        not_asked = "; ".join(f"{a.name} ({failed[a.key]})" for a in approvers if a.key in failed)
        if not asked:
            raise AirflowException(f"{operator.task_id}: nobody was asked in TWIN chat: {not_asked}")
        if failed:
            operator.log.warning("Not asked in TWIN chat: %s", not_asked)
        operator.log.info("Asked in TWIN chat: %s", ", ".join(a.name for a in asked))
        return {
            **conversation,
            "approvers": [approver.to_json() for approver in asked],
            "session_names": {a.key: conversation["session_names"][a.key] for a in asked},
        }

    def _send(self, conversation: dict[str, Any], purpose: str, text: Any, continued: bool) -> dict[str, str]:
        """:func:`~.chat_approval_messages.send_to_approvers` with this operator's TWIN settings."""
        return send_to_approvers(
            conversation,
            purpose,
            text,
            continued=continued,
            twin_conn_id=self.twin_conn_id,
            messenger_type=self.messenger_type,
            bot_id=self.bot_id,
        )

    def execute_complete(self, context: Context, event: dict[str, Any], twin_chat: Any = None) -> Any:
        """Tell the approvers the outcome (never failing for it), then Airflow's part. ``event`` is
        the trigger's, or (Airflow 3.3, no ``answered_in``) an answer given in Airflow's UI or API."""
        operator: Any = self
        answered_in = event.get("answered_in") or ("timeout" if event.get("timedout") else "airflow")
        who = (event.get("responded_by_user") or {}).get("name")
        chosen = list(event.get("chosen_options") or [])
        if "error" in event:
            answered_in, chosen = ("timeout", []) if event.get("error_type") == "timeout" else ("", [])
        operator.log.info(
            "Answered in %s%s: %s", answered_in or "no way", f" by {who}" if who else "", ", ".join(chosen)
        )
        operator.hitl_summary_extra["answered_in"] = answered_in or None
        if event.get("twin"):
            operator.hitl_summary_extra["twin"] = event["twin"]
        if isinstance(twin_chat, dict) and answered_in:
            try:
                texts = outcome_texts(
                    answered_in,
                    chosen,
                    who,
                    decided_by=(event.get("twin") or {}).get("approver"),
                    approvers={approver["key"]: approver["name"] for approver in twin_chat["approvers"]},
                    language=self.language,
                    subject=operator.subject,
                    tag=request_tag(twin_chat["request_key"]),
                )
                failed = self._send(twin_chat, "outcome", texts, True)
            except Exception as exc:  # noqa: BLE001 - the decision stands whatever TWIN says
                failed = {"everyone": error_summary(exc)}
            if failed:
                shown = "; ".join(f"{key} ({error})" for key, error in failed.items())
                operator.log.warning("Not told the outcome in TWIN chat: %s", shown)
        return super().execute_complete(context, event)  # type: ignore[misc]


class TwinChatApprovalOperator(TwinChatApprovalMixin, ApprovalOperator):
    """``ApprovalOperator`` (Approve / Reject) whose approvers are also asked in TWIN chat."""

    def __init__(self, **kwargs: Any) -> None:
        """The arguments of :class:`TwinChatApprovalMixin` and of ``ApprovalOperator``."""
        super().__init__(**kwargs)


class TwinChatBranchOperator(TwinChatApprovalMixin, HITLBranchOperator):
    """``HITLBranchOperator`` whose approvers choose the branch in TWIN chat too."""

    def __init__(self, **kwargs: Any) -> None:
        """The arguments of :class:`TwinChatApprovalMixin` and of ``HITLBranchOperator``."""
        super().__init__(**kwargs)


class TwinChatHITLOperator(TwinChatApprovalMixin, HITLOperator):
    """``HITLOperator`` whose approvers are also asked in TWIN chat."""

    def __init__(self, **kwargs: Any) -> None:
        """The arguments of :class:`TwinChatApprovalMixin` and of ``HITLOperator``."""
        super().__init__(**kwargs)


__all__ = [
    "TwinChatApprovalMixin",
    "TwinChatApprovalOperator",
    "TwinChatBranchOperator",
    "TwinChatHITLOperator",
]
