"""A Human-in-the-loop request's response, read and recorded from a trigger.

The TWIN chat approval trigger asks Airflow, as Airflow's own ``HITLTrigger`` does, with the Task
SDK's messages ``GetHITLDetailResponse`` and ``UpdateHITLDetail``; but sent from the event loop
through :mod:`.supervisor_requests`, so a request runs to its reply even when the trigger is
cancelled (on Airflow 3.3 an answer given in Airflow resumes the task and cancels the trigger,
possibly in the middle of a request).

Recording is atomic on Airflow's side: the execution API refuses a second response with 409, so
the first answer wins, whether it came from TWIN chat, from Airflow's UI or from a timeout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

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


__all__ = ["HITLResponseError", "hitl_response", "record_hitl_response"]
