"""``TwinMessageStatusTrigger``: waits in the triggerer for messages to reach final statuses.

The deferrable mode of :class:`~airflow_provider_twin.sensors.messages.TwinMessageStatusSensor`.
The trigger runs the same check procedure as the sensor
(:func:`~airflow_provider_twin.client.messages.check_delivery`) with the async client, so
waiting for a campaign costs no worker slot. The status triggers of one connection share one
client in a triggerer (:mod:`.connections`): one login and one connection pool however many
campaigns wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timezone
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_twin.client import AsyncTwinClient, epoch_seconds, error_summary
from airflow_provider_twin.client.messages import (
    DEFAULT_AUTH_FAILURE_LIMIT,
    CheckFailures,
    Criteria,
    DeliveryProgress,
    ProgressNews,
    Targets,
    check_delivery,
    delivery_breakdown,
    local_zone,
)
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.triggers.connections import shared_async_client


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]


class TwinMessageStatusTrigger(BaseTrigger):
    """Poll TWIN until the targets' messages reach final statuses, then fire one event.

    Every keyword argument is plain JSON, so a triggerer restart re-creates the trigger with
    the same targets, criteria and absolute deadline and carries on. The connection's
    credentials are never serialized: the trigger reads the connection when it starts.

    Events (``TriggerEvent.payload``):

    * ``{"status": "success", "result": {...}, "message": str}``: done (``result`` as the sensor's XCom,
      without failed destinations, which the sensor adds);
    * ``{"status": "failure", "result": {...}, "message": str}``: ``max_failure_ratio`` exceeded;
    * ``{"status": "timeout", "result": {...} | None, "message": str, "unreachable": {...} | None}``:
      deadline passed; ``result`` is the last successful check's progress, ``unreachable``
      (``{"since", "failed_checks", "last_error"}``) says since when the checks have been failing,
      when they were at the deadline, and the message says it too;
    * ``{"status": "error", "message": str, "error_type": str}``: anything unexpected (bad connection,
      TWIN refusing the request), never raised out of the trigger.

    Rate limits, TWIN 5xx answers and dropped connections are retried by the client and, if
    they persist, logged and retried at the next poll until the deadline. A token TWIN refuses
    right after the client renewed it (a renewal racing another expiry) is retried at the next
    poll too, up to ``auth_failure_limit`` polls in a row (see
    :class:`~airflow_provider_twin.client.messages.CheckFailures`).

    :param targets: :meth:`Targets.to_json` of the messages to watch.
    :param criteria: :meth:`Criteria.to_json` of the verdict rules.
    :param deadline: when to give up, absolute: UTC epoch seconds or an ISO-8601 string.
    :param poll_interval: seconds between checks.
    :param twin_conn_id: the ``twin`` connection.
    :param next_check_at: epoch seconds of the first check (the sensor has just checked);
        in the past, or None, means at once.
    :param auth_failure_limit: polls in a row that may fail on a refused renewed token.
    :param timezone: the zone (IANA name or ``+03:00``) held messages' send times are logged in,
        besides UTC; the sensor passes its DAG's.
    :param reported: the progress line last logged (by the sensor): a poll logs its line only
        when it differs from the last one logged, so a wait held until a send window logs it once.
    """

    def __init__(
        self,
        *,
        targets: Mapping[str, Any],
        criteria: Mapping[str, Any],
        deadline: float | str,
        poll_interval: float = 60.0,
        twin_conn_id: str = TwinHook.default_conn_name,
        next_check_at: float | None = None,
        auth_failure_limit: int = DEFAULT_AUTH_FAILURE_LIMIT,
        timezone: str | None = None,
        reported: str | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.targets = dict(targets)
        self.criteria = dict(criteria)
        self.deadline = epoch_seconds(deadline)
        self.poll_interval = float(poll_interval)
        self.twin_conn_id = twin_conn_id
        self.next_check_at = None if next_check_at is None else float(next_check_at)
        self.auth_failure_limit = auth_failure_limit
        self.timezone = timezone
        self.reported = reported

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and JSON keyword arguments that re-create this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "targets": self.targets,
                "criteria": self.criteria,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
                "twin_conn_id": self.twin_conn_id,
                "next_check_at": self.next_check_at,
                "auth_failure_limit": self.auth_failure_limit,
                "timezone": self.timezone,
                "reported": self.reported,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Fire exactly one event: success, failure, timeout or error."""
        yield await self._watch()

    async def _watch(self) -> TriggerEvent:
        try:
            targets = Targets.from_json(self.targets)
            criteria = Criteria.from_json(self.criteria)
            failures = CheckFailures(self.auth_failure_limit)
        except Exception as exc:  # noqa: BLE001 - turned into an error event
            return self._error(exc)
        try:
            async with shared_async_client(self.twin_conn_id) as client:
                return await self._poll(client, targets, criteria, failures)
        except Exception as exc:  # noqa: BLE001 - turned into an error event
            return self._error(exc, failures.ending(exc))

    async def _poll(
        self, client: AsyncTwinClient, targets: Targets, criteria: Criteria, failures: CheckFailures
    ) -> TriggerEvent:
        next_at = self.next_check_at if self.next_check_at is not None else time.time()
        last: DeliveryProgress | None = None
        news, zone = ProgressNews(self.reported), local_zone(self.timezone)
        while True:
            wait = min(next_at, self.deadline) - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                last = await client.run(check_delivery(targets, criteria, zone))
            except Exception as exc:
                if not failures.wait_out(exc):
                    raise
                self.log.warning("TWIN status check failed, trying again later: %s", error_summary(exc))
            else:
                failures.succeeded(last.message)
                self.log.log(logging.INFO if news.news(last.message) else logging.DEBUG, "%s", last.message)
                if last.done:
                    result = await client.run(delivery_breakdown(targets, criteria, last))
                    return _event({"status": last.state, "result": result, "message": last.message})
            if time.time() >= self.deadline:
                return self._timeout(targets, last, failures)
            next_at = time.time() + self.poll_interval

    def _timeout(
        self, targets: Targets, last: DeliveryProgress | None, failures: CheckFailures
    ) -> TriggerEvent:
        moment = datetime.fromtimestamp(self.deadline, timezone.utc).isoformat(timespec="seconds")
        progress = last.message if last is not None else f"{targets.describe()}: no successful check"
        progress = failures.describe() or progress
        return _event(
            {
                "status": "timeout",
                "result": last.to_result() if last is not None else None,
                "message": f"timed out at {moment} waiting for final statuses; {progress}",
                "unreachable": failures.to_json(),
            }
        )

    def _error(self, exc: BaseException, message: str | None = None) -> TriggerEvent:
        text = message or error_summary(exc)
        self.log.error("TWIN status trigger failed: %s", text)
        return _event({"status": "error", "message": text, "error_type": type(exc).__name__})
