"""``TwinChatApprovalTrigger``: a Human-in-the-loop request answered in Airflow or in TWIN chat.

The TWIN chat approval operators (:mod:`airflow_provider_twin.operators.chat_approval`) defer to
this trigger on Airflow 3.2 and 3.3 alike. It waits, as Airflow's own ``HITLTrigger`` does, for
the response Airflow holds (given in Airflow's UI or API), and at the same time for an
approver's reply in TWIN chat (:mod:`.chat_approval_wait`). The first answer wins, atomically on
Airflow's side: a chat answer is recorded with the execution API, which refuses a second
response (409), and the trigger then reports the one Airflow kept. At the timeout a chat
answer given in time still wins; else the defaults are recorded, or the wait fails, as with
``HITLTrigger``.

A TWIN error while waiting is logged and the round tried again at the next poll; only a
connection that cannot work (bad credentials or settings, none defined) ends the wait with an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_twin.client import error_summary
from airflow_provider_twin.client.chat import approver_from_json
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.triggers.chat_approval_wait import (
    ApprovalConversation,
    ChatDecision,
    ConversationSettings,
    WaitFailed,
)
from airflow_provider_twin.triggers.hitl_params import params_of, serialized_params
from airflow_provider_twin.triggers.hitl_responses import ResponseEvents
from airflow_provider_twin.triggers.supervisor_requests import NoSupervisorLinkError

#: Default seconds between two reads of Airflow's response and of the approvers' replies.
DEFAULT_POLL_INTERVAL = 3.0
_NO_SUPERVISOR = "no link to a triggerer's supervisor: a TWIN chat approval waits in Airflow's triggerer"


def _aware(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


class TwinChatApprovalTrigger(BaseTrigger):
    """Wait for a Human-in-the-loop response given in Airflow or in TWIN chat; fire one event.

    Keyword arguments are plain JSON, never a credential. Success event (what
    ``HITLOperator.execute_complete`` reads, plus where the answer was given)::

        {"chosen_options": [...], "params_input": {...}, "responded_at": datetime,
         "responded_by_user": {"id": "twin:phone:7900...", "name": "Anna (TWIN chat)"} | {...} | None,
         "timedout": False, "answered_in": "twin_chat" | "airflow" | "timeout",
         "twin": {"approver": "...", "session_id": "...", "message_id": "..."}}   # chat only

    Failure event: ``{"error": "...", "error_type": "timeout" | "unknown" | "validation"}``.

    :param ti_id: the task instance (its Human-in-the-loop detail).
    :param request_key: the request (task instance and try): seeds the bulk ids of chat messages
        and the reference tag our messages carry.
    :param subject: the question's subject, which the help text names.
    :param chat_id: the TWIN chat the approvers were asked in.
    :param approvers: the approvers (their JSON form).
    :param session_names: each approver's chat session name, by approver key.
    :param options: the options; ``multiple``: whether several may be chosen.
    :param defaults: the options taken at the timeout (None: the wait fails then).
    :param params: the request's params, serialized as the operator gives them to ``HITLTrigger``.
    :param timeout_datetime: when to stop waiting (ISO 8601), or None.
    :param asked_at: when the question was sent (UTC epoch seconds): older replies do not count.
    :param language: of the help text, ``en`` or ``ru``.
    :param messenger_type: the messenger of the approvers' sessions; ``bot_id``: the help's bot.
    :param poll_interval: seconds between two reads when nothing wakes the wait earlier.
    :param twin_conn_id: the ``twin`` connection.
    :param realtime: listen to the approvers' sessions on the chat websocket between reads.
    """

    def __init__(
        self,
        *,
        ti_id: str,
        request_key: str,
        subject: str = "",
        chat_id: str,
        approvers: Sequence[Mapping[str, Any]],
        session_names: Mapping[str, str],
        options: Sequence[str],
        multiple: bool = False,
        defaults: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout_datetime: str | datetime | None = None,
        asked_at: float,
        language: str = "en",
        messenger_type: str | None = None,
        bot_id: str | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        twin_conn_id: str = TwinHook.default_conn_name,
        realtime: bool = True,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.ti_id = str(ti_id)
        self.request_key = str(request_key)
        self.subject = str(subject or "")
        self.chat_id = str(chat_id)
        self.approvers = [approver_from_json(item) for item in approvers]
        self.session_names = {str(key): str(name) for key, name in session_names.items()}
        self.options = list(options)
        self.multiple = bool(multiple)
        self.defaults = None if defaults is None else list(defaults)
        self.params = serialized_params(params_of(params or {}))  # rebuilt as HITLTrigger does
        moment = _aware(timeout_datetime)
        self.timeout_datetime = moment.isoformat() if moment is not None else None
        self.deadline = moment.timestamp() if moment is not None else None  # epoch seconds
        self.asked_at = float(asked_at)
        self.language = language
        self.messenger_type, self.bot_id = messenger_type, bot_id
        self.poll_interval = float(poll_interval)
        if self.poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval!r}")
        self.twin_conn_id = twin_conn_id
        self.realtime = bool(realtime)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and JSON keyword arguments that re-create this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "ti_id": self.ti_id,
                "request_key": self.request_key,
                "subject": self.subject,
                "chat_id": self.chat_id,
                "approvers": [approver.to_json() for approver in self.approvers],
                "session_names": dict(self.session_names),
                "options": list(self.options),
                "multiple": self.multiple,
                "defaults": None if self.defaults is None else list(self.defaults),
                "params": serialized_params(params_of(self.params)),
                "timeout_datetime": self.timeout_datetime,
                "asked_at": self.asked_at,
                "language": self.language,
                "messenger_type": self.messenger_type,
                "bot_id": self.bot_id,
                "poll_interval": self.poll_interval,
                "twin_conn_id": self.twin_conn_id,
                "realtime": self.realtime,
            },
        )

    def describe(self) -> str:
        """The wait in log lines."""
        return f"approval of task instance {self.ti_id} in TWIN chat {self.chat_id}"

    def settings(self) -> ConversationSettings:
        """What the wait reads and writes in TWIN."""
        return ConversationSettings(
            request_key=self.request_key,
            subject=self.subject,
            chat_id=self.chat_id,
            approvers=tuple(self.approvers),
            session_names=dict(self.session_names),
            options=tuple(self.options),
            multiple=self.multiple,
            language=self.language,
            messenger_type=self.messenger_type,
            bot_id=self.bot_id,
            asked_at=self.asked_at,
        )

    def seconds_left(self) -> float | None:
        """Seconds until the timeout (negative once passed); None without one."""
        return None if self.deadline is None else self.deadline - time.time()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Fire exactly one event: the response, or a failure."""
        events = ResponseEvents(
            self.ti_id,
            params=self.params,
            defaults=self.defaults,
            timeout_at=_aware(self.timeout_datetime),
            log=self.log,
        )
        try:
            payload = await self._wait(events)
        except WaitFailed as exc:
            self.log.error("%s: %s", self.describe(), exc)
            payload = {"error": str(exc), "error_type": "unknown"}
        yield TriggerEvent(payload)  # type: ignore[no-untyped-call]

    async def _wait(self, events: ResponseEvents) -> dict[str, Any]:
        """Round by round until the response: Airflow's, then a chat answer, then a pause. At the
        timeout a chat answer read in time is recorded first, then one more read takes the first
        reply TWIN created by the timeout, and only then are the defaults recorded."""
        conversation: ApprovalConversation | None = None
        pending: ChatDecision | None = None  # a chat answer not recorded yet
        last_read = False  # the read at the timeout done
        async with contextlib.AsyncExitStack() as stack:
            while True:
                left = self.seconds_left()
                expired = left is not None and left <= 0
                if expired and pending is None and conversation is not None and not last_read:
                    last_read = True
                    pending = await conversation.next_decision(until=self.deadline)
                payload = await self._airflow_step(events.answered())
                if payload is None and pending is not None:
                    chat = events.answered_in_chat(pending.chosen, pending.responder(), pending.twin_info())
                    payload = await self._airflow_step(chat)
                elif payload is None and expired:
                    payload = await self._airflow_step(events.timed_out())
                if payload is not None:
                    return payload
                if expired:
                    await asyncio.sleep(self.poll_interval)
                    continue
                if conversation is None:
                    conversation = await ApprovalConversation.open(
                        stack,
                        self.twin_conn_id,
                        self.settings(),
                        realtime=self.realtime,
                        label=self.describe(),
                    )
                if conversation is not None and pending is None:
                    pending = await conversation.next_decision()
                    if pending is not None:
                        continue  # record it at once
                pause = self.poll_interval if left is None else min(self.poll_interval, left)
                if conversation is None:
                    await asyncio.sleep(pause)
                elif await conversation.pause(pause):
                    self.log.debug("%s: an approver's session has news", self.describe())

    async def _airflow_step(self, step: Any) -> dict[str, Any] | None:
        """Run one exchange with Airflow; a failure is logged and tried again next round."""
        try:
            payload: dict[str, Any] | None = await step
        except NoSupervisorLinkError:
            raise WaitFailed(_NO_SUPERVISOR) from None
        except Exception as exc:  # noqa: BLE001 - Airflow's API may be back next round
            self.log.warning("%s: asking Airflow failed (%s); retrying", self.describe(), error_summary(exc))
            return None
        return payload


__all__ = ["DEFAULT_POLL_INTERVAL", "TwinChatApprovalTrigger"]
