"""``TwinSendJobTrigger``: waits in the triggerer for a TWIN send job to finish.

The deferrable mode of :class:`~airflow_provider_twin.sensors.send_jobs.TwinSendJobSensor`: the
same check (:func:`~airflow_provider_twin.client.messages.read_send_job`) with the async client
the status triggers of a connection share in a triggerer (:mod:`.connections`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_twin.client import AsyncTwinClient, epoch_seconds, error_summary, is_transient
from airflow_provider_twin.client.messages import ProgressNews, SendJobProgress, read_send_job
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.triggers.connections import shared_async_client


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]


class TwinSendJobTrigger(BaseTrigger):
    """Poll a send job until it is ``COMPLETED`` or in ``ERROR``, then fire one event.

    Every argument is plain JSON (never a token): a triggerer restart re-creates the trigger
    with the same job and absolute deadline.

    Events: ``{"status": "success", "result": {...counts}, "message"}`` once ``COMPLETED``;
    ``{"status": "failure", "result", "message"}`` in ``ERROR``; ``{"status": "timeout",
    "result": {...} | None, "message"}`` at the deadline; ``{"status": "error", "message",
    "error_type"}`` for anything a later poll cannot fix (the job deleted, a bad connection).
    Transient TWIN failures are logged and tried again at the next poll.

    :param job_id: the job.
    :param name: its name (a check then lists only that job), or None.
    :param deadline: when to give up: UTC epoch seconds or an ISO-8601 string.
    :param poll_interval: seconds between checks.
    :param twin_conn_id: the ``twin`` connection.
    :param reported: the progress line last logged (not logged again).
    """

    def __init__(
        self,
        *,
        job_id: str,
        name: str | None,
        deadline: float | str,
        poll_interval: float = 60.0,
        twin_conn_id: str = TwinHook.default_conn_name,
        reported: str | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.job_id = job_id
        self.name = name
        self.deadline = epoch_seconds(deadline)
        self.poll_interval = float(poll_interval)
        self.twin_conn_id = twin_conn_id
        self.reported = reported

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and JSON keyword arguments that re-create this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "name": self.name,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
                "twin_conn_id": self.twin_conn_id,
                "reported": self.reported,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Fire exactly one event."""
        try:
            async with shared_async_client(self.twin_conn_id) as client:
                event = await self._poll(client)
        except Exception as exc:  # noqa: BLE001 - turned into an error event
            event = _event(
                {"status": "error", "message": error_summary(exc), "error_type": type(exc).__name__}
            )
        yield event

    async def _poll(self, client: AsyncTwinClient) -> TriggerEvent:
        news = ProgressNews(self.reported)
        last: SendJobProgress | None = None
        while True:
            try:
                last = await client.run(read_send_job(self.job_id, self.name))
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self.log.warning("TWIN send job check failed, trying again later: %s", error_summary(exc))
            else:
                self.log.log(logging.INFO if news.news(last.message) else logging.DEBUG, "%s", last.message)
                if last.status == "COMPLETED":
                    return _event({"status": "success", "result": last.to_result(), "message": last.message})
                if last.status == "ERROR":
                    return _event({"status": "failure", "result": last.to_result(), "message": last.message})
            if time.time() >= self.deadline:
                moment = datetime.fromtimestamp(self.deadline, timezone.utc).isoformat(timespec="seconds")
                progress = last.message if last is not None else "no successful check"
                return _event(
                    {
                        "status": "timeout",
                        "result": None if last is None else last.to_result(),
                        "message": f"timed out at {moment} waiting for the send job; {progress}",
                    }
                )
            await asyncio.sleep(max(0.0, min(self.poll_interval, self.deadline - time.time())))
