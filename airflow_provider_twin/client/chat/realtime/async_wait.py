"""Waiting for one chat session in an event loop (a triggerer), on a shared hub.

:func:`wait_for_session_event` drives the :class:`~.session_wait.SessionWait` rules with what a
:class:`~.async_hub.ChatEventHub` delivers for the session and with REST checks, which many
waits of a loop may share through one :class:`~.batched_checks.SessionChecker`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from airflow_provider_twin.client.chat.realtime.batched_checks import SessionChecker
from airflow_provider_twin.client.chat.realtime.session_wait import SessionWait, WaitRules
from airflow_provider_twin.client.chat.wait_result import WaitResult
from airflow_provider_twin.client.core.async_client import AsyncTwinClient

if TYPE_CHECKING:
    from typing import Unpack

    from airflow_provider_twin.client.chat.realtime.async_hub import ChatEventHub


async def wait_for_session_event(
    rest: AsyncTwinClient | SessionChecker,
    hub: ChatEventHub,
    session_id: str,
    *,
    deadline: float,
    precheck: bool = False,
    clock: Callable[[], float] = time.time,
    **rules: Unpack[WaitRules],
) -> WaitResult:
    """Wait until ``session_id`` closes (or an awaited event arrives), or ``deadline`` passes.

    Never misses a close (see :mod:`.session_wait` for when REST is asked). Transient REST
    trouble is retried; an unknown session or refused credentials end the wait with an error
    result. Never raises for TWIN errors: every outcome is a :class:`WaitResult`.

    :param deadline: absolute UTC epoch seconds.
    :param precheck: ask REST once before subscribing (cheap exit for sessions already closed).
    :param rules: ``events``, ``closed_statuses``, ``recheck_interval``, ``fallback_interval``
        (:class:`~.session_wait.SessionWait`).
    :param rest: the REST client, or a :class:`SessionChecker` shared by many waits (it turns
        their simultaneous checks, e.g. after a reconnect, into a few list calls).
    """
    checker = rest if isinstance(rest, SessionChecker) else SessionChecker(rest, batch_size=1)
    wait = SessionWait(session_id, deadline=deadline, now=clock(), **rules)

    async def rest_check() -> WaitResult | None:
        return wait.checked(await checker.check(session_id, wait.closed_statuses), clock())

    if precheck and (found := await rest_check()) is not None:
        return found
    watch = hub.watch(session_id)
    try:
        while True:
            now = clock()
            if now >= wait.deadline:
                return wait.timed_out()
            step = wait.receive(await watch.next(max(0.0, wait.wake_at - now)), clock())
            if isinstance(step, WaitResult):
                return step
            if step and (found := await rest_check()) is not None:
                return found
    finally:
        hub.unwatch(watch)


__all__ = ["wait_for_session_event"]
