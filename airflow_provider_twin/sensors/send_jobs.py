"""``TwinSendJobSensor``: wait until a TWIN send job is ``COMPLETED``; fail when it is in ``ERROR``.

A check is the client's :func:`~airflow_provider_twin.client.messages.read_send_job` (the job's
status and its counts: two requests), which the deferrable trigger runs too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import Context, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_twin.client import TwinError, error_summary, is_transient
from airflow_provider_twin.client.messages import SendJobProgress, read_send_job
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.sensors.twin_sensor import TwinSensor
from airflow_provider_twin.triggers.send_jobs import TwinSendJobTrigger


def job_reference(job: Any, name: str | None) -> tuple[str, str | None]:
    """``(job_id, name)`` from a job id, or from the send job operator's summary."""
    if isinstance(job, Mapping):
        job_id, name = job.get("job_id"), name or job.get("name")
    else:
        job_id = job
    if not isinstance(job_id, str) or not job_id.strip():
        raise AirflowFailException(
            f"job_id: expected a TWIN send job id or the send job summary, got {job!r}"
        )
    return job_id.strip(), name if isinstance(name, str) and name else None


class TwinSendJobSensor(TwinSensor):
    """Wait until a TWIN send job is ``COMPLETED``; return its status and counts.

    The job fails the task at once (no retries) when it is in ``ERROR``. A job ``PAUSED`` in
    TWIN is waited for like a running one (until ``timeout``).

    :param job_id: the job's id, or the whole summary of ``TwinSendJobOperator``
        (``send_job.output``), templated.
    :param name: the job's name: with it a check lists only that job (cheaper); taken from the
        summary when one is given.
    :param twin_conn_id: the ``twin`` connection.
    :param deferrable: check once, then wait in the triggerer with
        :class:`~airflow_provider_twin.triggers.send_jobs.TwinSendJobTrigger` until ``timeout``.
        Default from ``[operators] default_deferrable``.
    :return: (XCom) ``{"job_id", "name", "status", "total", "processed", "in_progress",
        "completed", "progress"}``.
    """

    template_fields: Sequence[str] = ("job_id", "name")
    ui_color = "#d6ecf3"

    def __init__(
        self,
        *,
        job_id: Any,
        name: str | None = None,
        twin_conn_id: str = TwinHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.name = name
        self.twin_conn_id = twin_conn_id
        self.deferrable = deferrable

    def _check(self) -> dict[str, Any] | None:
        """One check: the result once COMPLETED, None while not, AirflowFailException on ERROR."""
        job_id, name = job_reference(self.job_id, self.name)
        try:
            progress: SendJobProgress = self._client().run(read_send_job(job_id, name))
        except TwinError as exc:
            if not is_transient(exc):
                raise AirflowFailException(f"{self.task_id}: {exc}") from exc
            self.log.warning("TWIN send job check failed, trying again later: %s", error_summary(exc))
            return None
        self._log_progress(progress.message)
        if progress.status == "ERROR":
            raise AirflowFailException(f"{self.task_id}: {progress.message}")
        return progress.to_result() if progress.done else None

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One check (poke and reschedule modes); done -> the counts as XCom."""
        result = self._check()
        return False if result is None else PokeReturnValue(is_done=True, xcom_value=result)

    def _execute_deferrable(self, context: Context) -> Any:
        result = self._check()
        if result is not None:
            return result
        job_id, name = job_reference(self.job_id, self.name)
        self._close_client()
        self.defer(
            trigger=TwinSendJobTrigger(
                job_id=job_id,
                name=name,
                deadline=time.time() + self.timeout,
                poll_interval=self.poke_interval,
                twin_conn_id=self.twin_conn_id,
                reported=self._last_progress(),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout + self.poke_interval + 60),
        )

    def _resume(self, context: Context, event: Mapping[str, Any] | None) -> Any:
        if not isinstance(event, Mapping):
            raise AirflowException(f"{self.task_id}: the TWIN send job trigger sent no event")
        status, message = event.get("status"), str(event.get("message") or "")
        if status == "success":
            self.log.info("%s", message)
            return event.get("result")
        if status == "failure":
            raise AirflowFailException(f"{self.task_id}: {message}")
        if status == "timeout":
            raise AirflowSensorTimeout(f"{self.task_id}: {message}")
        raise AirflowException(f"{self.task_id}: waiting for the TWIN send job failed: {message}")


__all__ = ["TwinSendJobSensor"]
