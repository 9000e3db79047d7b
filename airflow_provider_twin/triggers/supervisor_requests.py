"""Requests from a trigger to the triggerer's supervisor, each run to its reply.

A trigger asks Airflow for things (Variables, Human-in-the-loop responses) with the Task SDK's
own messages over ``SUPERVISOR_COMMS.asend``, from the trigger's event loop, on Airflow 3.2 and
3.3 alike. On Airflow 3.2 the triggerer's comms send a request and then wait for its reply under
one lock; a request abandoned half-way (the trigger cancelled while it waits) leaves its reply
unread, and the next request of any trigger, or of the triggerer itself, fails with "Response
read out of order!", which stops the triggerer. So every request here runs in a task of its own,
shielded from the caller's cancellation: the caller stops waiting, the reply is still read.
"""

from __future__ import annotations

import asyncio
from typing import Any


class NoSupervisorLinkError(RuntimeError):
    """No link to a triggerer's supervisor: the code does not run in Airflow's triggerer."""


def supervisor_comms() -> Any:
    """The triggerer's ``SUPERVISOR_COMMS``, with its asynchronous ``asend``.

    :raises NoSupervisorLinkError: outside a triggerer (none, or ``dag.test()``'s comms without
        ``asend``).
    """
    from airflow.sdk.execution_time import task_runner  # noqa: PLC0415 - the triggerer's Task SDK

    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    if comms is None or not callable(getattr(comms, "asend", None)):
        raise NoSupervisorLinkError("no link to a triggerer's supervisor")
    return comms


async def supervisor_request(msg: Any) -> Any:
    """Send ``msg`` to the supervisor and return its reply, finishing the exchange even if cancelled.

    An error frame is raised by the Task SDK as ``AirflowRuntimeError``; an ``ErrorResponse``
    reply is returned as is (see :func:`error_response_of` to read either).

    :raises NoSupervisorLinkError: outside a triggerer.
    """
    task = asyncio.ensure_future(supervisor_comms().asend(msg))
    task.add_done_callback(_drop_result)
    return await asyncio.shield(task)


def _drop_result(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned exchange's error, so that asyncio does not report it as unhandled."""
    if not task.cancelled():
        task.exception()


def error_response_of(exc: BaseException) -> Any:
    """The ``ErrorResponse`` an ``AirflowRuntimeError`` carries (None for any other exception)."""
    from airflow.sdk.exceptions import AirflowRuntimeError  # noqa: PLC0415

    return exc.error if isinstance(exc, AirflowRuntimeError) else None


def status_code_of(error: Any) -> int | None:
    """The HTTP status of the execution API's answer an ``ErrorResponse`` reports, if any."""
    detail = getattr(error, "detail", None)
    code = detail.get("status_code") if isinstance(detail, dict) else None
    return code if isinstance(code, int) else None


__all__ = [
    "NoSupervisorLinkError",
    "error_response_of",
    "status_code_of",
    "supervisor_comms",
    "supervisor_request",
]
