"""A Human-in-the-loop request's response, read and recorded from a trigger.

The TWIN chat approval trigger asks Airflow, as Airflow's own ``HITLTrigger`` does, with the Task
SDK's messages ``GetHITLDetailResponse`` and ``UpdateHITLDetail``; but sent from the event loop
through :mod:`.supervisor_requests`, so a request runs to its reply even when the trigger is
cancelled (on Airflow 3.3 an answer given in Airflow resumes the task and cancels the trigger,
possibly in the middle of a request).

Recording is atomic on Airflow's side: the execution API refuses a second response with 409, so
the first answer wins, whether it came from TWIN chat, from Airflow's UI or from a timeout.
:class:`ResponseEvents` turns a response into the trigger event ``HITLOperator.execute_complete``
reads, as ``HITLTrigger`` builds it, and says where the answer was given.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

from airflow_provider_twin.triggers.hitl_params import params_of
from airflow_provider_twin.triggers.supervisor_requests import (
    error_response_of,
    status_code_of,
    supervisor_request,
)

if TYPE_CHECKING:
    from airflow.sdk.api.datamodels._generated import HITLDetailResponse


class HITLResponseError(RuntimeError):
    """Airflow answered a Human-in-the-loop request with an error (the caller retries)."""


def _uuid(ti_id: str | UUID) -> UUID:
    return ti_id if isinstance(ti_id, UUID) else UUID(str(ti_id))


def _response(reply: Any, what: str) -> HITLDetailResponse:
    from airflow.sdk.api.datamodels._generated import HITLDetailResponse  # noqa: PLC0415

    if isinstance(reply, HITLDetailResponse):
        return reply
    raise HITLResponseError(f"{what}: unexpected answer {reply!r}")


async def hitl_response(ti_id: str | UUID) -> HITLDetailResponse:
    """The task instance's Human-in-the-loop response as Airflow holds it now.

    ``response_received`` tells whether anyone answered (in Airflow, in chat or by timeout).

    :raises Exception: any failure or error answer (the caller retries).
    """
    from airflow.sdk.execution_time.comms import GetHITLDetailResponse  # noqa: PLC0415

    reply = await supervisor_request(GetHITLDetailResponse(ti_id=_uuid(ti_id)))
    return _response(reply, f"reading the response of task instance {ti_id}")


def _conflict(error: Any) -> bool:
    return status_code_of(error) == 409


async def record_hitl_response(
    ti_id: str | UUID, chosen_options: Sequence[str], params_input: Mapping[str, Any]
) -> HITLDetailResponse | None:
    """Record a response; None when one already existed (the first answer wins).

    :raises Exception: any other failure or error answer (the caller retries or reads the
        response).
    """
    from airflow.sdk.execution_time.comms import ErrorResponse, UpdateHITLDetail  # noqa: PLC0415

    message = UpdateHITLDetail(
        ti_id=_uuid(ti_id), chosen_options=list(chosen_options), params_input=dict(params_input)
    )
    try:
        reply = await supervisor_request(message)
    except Exception as exc:
        if _conflict(error_response_of(exc)):
            return None
        raise
    if isinstance(reply, ErrorResponse) and _conflict(reply):
        return None
    return _response(reply, f"recording the response of task instance {ti_id}")


def _responder(response: HITLDetailResponse) -> dict[str, str] | None:
    user = response.responded_by_user
    return None if user is None else {"id": user.id, "name": user.name}


class ResponseEvents:
    """A request's response as the trigger reports it: the payloads ``HITLTrigger`` fires, plus
    ``answered_in`` ("airflow", "twin_chat" or "timeout").

    A response recorded through the execution API carries no responder: it was recorded by this
    wait, in an earlier run (the triggerer restarted after recording it), as a chat answer or, at
    or after the timeout, as the defaults.

    :param ti_id: the task instance.
    :param params: the request's params (serialized).
    :param defaults: the options taken at the timeout, or None.
    :param timeout_at: the timeout, or None.
    :param log: where to say what happened.
    """

    def __init__(
        self,
        ti_id: str,
        *,
        params: Mapping[str, Any],
        defaults: Sequence[str] | None,
        timeout_at: datetime | None,
        log: logging.Logger | Any,
    ) -> None:
        self.ti_id = ti_id
        self.params = params_of(params)
        self.defaults = None if defaults is None else list(defaults)
        self.timeout_at = timeout_at
        self.log = log

    def params_input(self) -> dict[str, Any]:
        """The params' defaults, the input of an answer given in chat or by the timeout."""
        dumped: dict[str, Any] = self.params.dump()
        return dumped

    async def answered(self) -> dict[str, Any] | None:
        """The event of the response Airflow holds, or None while there is none."""
        response = await hitl_response(self.ti_id)
        if not (response.response_received and response.chosen_options):
            return None
        return self.from_airflow(response)

    async def answered_in_chat(
        self, chosen: Sequence[str], responder: Mapping[str, str], twin: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Record a chat answer; the event of the response Airflow kept (None: none yet, retry)."""
        recorded = await record_hitl_response(self.ti_id, chosen, self.params_input())
        if recorded is None:
            self.log.info(
                "Task instance %s was answered before the chat answer %s", self.ti_id, ", ".join(chosen)
            )
            return await self.answered()
        self.log.info("%s chose %s in TWIN chat", responder["name"], ", ".join(chosen))
        return {
            **self._success(recorded, list(chosen), self.params_input(), dict(responder), "twin_chat"),
            "twin": dict(twin),
        }

    async def timed_out(self) -> dict[str, Any]:
        """At the timeout: a response that came just before, else the defaults, else a failure."""
        if (event := await self.answered()) is not None:
            return event
        if self.defaults is None:
            return {
                "error": "The timeout has passed, and the response has not yet been received.",
                "error_type": "timeout",
            }
        recorded = await record_hitl_response(self.ti_id, self.defaults, self.params_input())
        if recorded is None:  # answered meanwhile
            event = await self.answered()
            if event is None:
                raise HITLResponseError(f"task instance {self.ti_id}: a response exists but cannot be read")
            return event
        self.log.info("No response in time: the defaults %s are taken", ", ".join(self.defaults))
        return self._success(recorded, self.defaults, self.params_input(), None, "timeout")

    def from_airflow(self, response: HITLDetailResponse) -> dict[str, Any]:
        """The event of a response Airflow holds (its params input checked as ``HITLTrigger`` does)."""
        from airflow.sdk.exceptions import ParamValidationError  # noqa: PLC0415

        params_input = dict(response.params_input or {})
        try:
            for key, value in params_input.items():
                self.params[key] = value
        except ParamValidationError as err:
            return {"error": str(err), "error_type": "validation"}
        chosen = list(response.chosen_options or [])
        responder = _responder(response)
        if responder is not None:
            shown = ", ".join(chosen)
            self.log.info("%s (id %s) chose %s in Airflow", responder["name"], responder["id"], shown)
            return self._success(response, chosen, params_input, responder, "airflow")
        at = response.responded_at
        timed_out = self.timeout_at is not None and at is not None and at >= self.timeout_at
        self.log.info("Resuming with %s, recorded by an earlier run of this wait", ", ".join(chosen))
        return self._success(response, chosen, params_input, None, "timeout" if timed_out else "twin_chat")

    @staticmethod
    def _success(
        response: HITLDetailResponse,
        chosen: list[str],
        params_input: dict[str, Any],
        responder: dict[str, str] | None,
        answered_in: str,
    ) -> dict[str, Any]:
        at = response.responded_at or datetime.now(timezone.utc)
        return {
            "chosen_options": chosen,
            "params_input": params_input,
            "responded_at": at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc),
            "responded_by_user": responder,
            "timedout": answered_in == "timeout",
            "answered_in": answered_in,
        }


__all__ = [
    "HITLResponseError",
    "ResponseEvents",
    "hitl_response",
    "record_hitl_response",
]
