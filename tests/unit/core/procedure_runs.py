"""Running a client procedure (a generator of API calls) against canned answers, without HTTP.

The client's procedures yield :class:`ApiCall` requests and :class:`Sleep` pauses and receive each
call's answer; a test drives one by hand to see exactly which requests it sends and what it makes
of given answers. Pauses are skipped (answered with None).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.core.flows import Sleep


def run_procedure(
    procedure: Generator[Any, Any, Any], answer: Callable[[ApiCall[Any]], Any]
) -> tuple[Any, list[ApiCall[Any]]]:
    """Run ``procedure``, answering each request with ``answer(call)``; its result and the calls sent."""
    calls: list[ApiCall[Any]] = []
    reply: Any = None
    try:
        while True:
            step = procedure.send(reply)
            if isinstance(step, Sleep):
                reply = None
                continue
            assert isinstance(step, ApiCall)
            calls.append(step)
            reply = answer(step)
    except StopIteration as done:
        return done.value, calls
