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
from typing import Any, TypeVar

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
