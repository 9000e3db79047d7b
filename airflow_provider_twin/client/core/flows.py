"""The vocabulary of TWIN procedures, written once for the sync and the async client.

A procedure that takes several requests (send a batch at most once, check a campaign's
status, rescan failed messages) is a generator that *describes* its steps instead of doing
them: it yields an :class:`~.calls.ApiCall` (send it with auth and retries; the parsed answer
comes back, or the :class:`~.errors.TwinError` is thrown in), a :class:`Gather` (several calls
whose answers come back together, concurrently where the client can) or a :class:`Sleep`.
``TwinClient.run`` and ``AsyncTwinClient.run`` perform the steps, so each procedure exists
once and behaves the same in a worker, a sensor poke and a triggerer.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from airflow_provider_twin.client.core.calls import ApiCall

T = TypeVar("T")


@dataclass(frozen=True)
class Sleep:
    """Step: wait this many seconds."""

    seconds: float


@dataclass(frozen=True)
class Gather:
    """Step: send every call; their answers come back as a list in the same order.

    The async client sends them concurrently, the sync one in turn; the first error is thrown
    into the procedure.
    """

    calls: Sequence[ApiCall[Any]]


Step = ApiCall[Any] | Gather | Sleep
#: A procedure: yields steps, receives their answers, returns its result.
Procedure = Generator[Step, Any, T]


@dataclass(frozen=True)
class Finished(Generic[T]):
    """What :func:`resume` gives once a flow has returned: its result."""

    value: T


def resume(flow: Generator[Any, Any, T], reply: Any, error: BaseException | None) -> Any:
    """Hand ``flow`` the answer to its last step (or throw that step's error into it).

    The flow's next step, or :class:`Finished` with its result once it returned: the one way
    the drivers (and any wrapper of a procedure) step through a flow.
    """
    try:
        return flow.throw(error) if error is not None else flow.send(reply)
    except StopIteration as stop:
        return Finished(stop.value)
