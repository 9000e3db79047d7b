"""Operators for TWIN send jobs: a campaign TWIN runs itself (twin-api.md §3.6).

* :class:`TwinSendJobOperator` validates the recipients, then creates the job, uploads its
  messages file and starts it, exactly once across Airflow retries;
* :class:`TwinSendJobControlOperator` pauses, resumes or cancels (deletes) a job.

Wait for a job with :class:`~airflow_provider_twin.sensors.send_jobs.TwinSendJobSensor`. The
procedures live in :mod:`airflow_provider_twin.client.messages`; these operators resolve
Airflow inputs and turn errors into Airflow outcomes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_provider_twin.client.messages import (
    SendJobSummary,
    found_job_warning,
    frozen_heap,
    plan_send_job,
    time_ranges_problems,
)
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.failures import twin_calls_of_task

if TYPE_CHECKING:
    from airflow.sdk import Context

CONTROL_ACTIONS = ("pause", "resume", "cancel")


#: The send operator's message settings a send job takes.
JOB_SETTINGS = (
    "channels",
    "text",
    "template_id",
    "variables",
    "allowed_time_ranges",
    "validity_period",
    "callback_url",
    "callback_data",
    "group_id",
    "variable_default",
)


class TwinSendJobOperator(BaseOperator):
    """Let TWIN run a campaign: create a send job, upload its recipients, start it, once.

    Everything is validated before the first request, with the send operator's checks: a
    problem names the recipient (or the file line) and the field, and the task fails without
    retries. The job's name gets a suffix derived from the task instance (DAG, run, task, map
    index; never the try number), and the job is looked up by that name first, so a retried task
    finds the job an earlier try created: it is created once, its file uploaded only while it
    holds no messages, and it is started only while it is ``CREATED`` (a job someone paused is
    left paused).

    :param name: the job's name in TWIN (the suffix is appended).
    :param recipients: recipients as dicts (``phone``, ``email``, ..., ``variables``,
        ``var_<name>``), as for ``TwinSendMessagesOperator``.
    :param recipients_file: a CSV or JSON Lines file of recipients (local path or a URL read
        through ObjectStoragePath); the job's ``.xlsx`` is built from it.
    :param recipients_file_format: ``csv`` or ``jsonl``; default from the file name.
    :param recipients_file_conn_id: connection for a ``recipients_file`` URL.
    :param channels: channel -> fields in fallback order (or a list of names).
    :param text: message text for every channel without its own.
    :param template_id: a stored TWIN template (UUID) instead of ``text``.
    :param variables: template variables shared by every recipient (theirs win).
    :param allowed_time_ranges: the job's send windows, ``[["09:00:00", "21:00:00"], ...]``.
    :param validity_period: minutes (1-2880) a message may wait for delivery.
    :param callback_url: URL TWIN posts status changes of the job's messages to.
    :param callback_data: echoed in every callback.
    :param group_id: TWIN group id (UUID) of the messages; default from the task instance.
    :param variable_default: value for a variable the text uses that a recipient lacks.
    :param deduplicate: send each normalised address once (default True).
    :param start: start the job once its messages are uploaded (default True); False leaves it
        ``CREATED`` for someone to start in TWIN's UI.
    :param settle_seconds: pause before reading the job again after a lost answer.
    :param twin_conn_id: the ``twin`` connection.
    :return: (XCom) ``{"job_id", "name", "status", "total", "created", "uploaded", "started"}``.
    """

    template_fields: Sequence[str] = (
        "name",
        "recipients",
        "recipients_file",
        "channels",
        "text",
        "template_id",
        "variables",
        "allowed_time_ranges",
        "callback_data",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = dict.fromkeys(("recipients", "channels"), "json")
    ui_color = "#e3f1fb"

    def __init__(
        self,
        *,
        name: str,
        recipients: Any = None,
        recipients_file: str | os.PathLike[str] | None = None,
        recipients_file_format: str | None = None,
        recipients_file_conn_id: str | None = None,
        channels: Mapping[str, Mapping[str, Any] | None] | Sequence[str] | None = None,
        text: str | None = None,
        template_id: str | None = None,
        variables: Mapping[str, Any] | None = None,
        allowed_time_ranges: Sequence[Sequence[str]] | None = None,
        validity_period: int | None = None,
        callback_url: str | None = None,
        callback_data: str | Mapping[str, Any] | None = None,
        group_id: str | None = None,
        variable_default: str | None = None,
        deduplicate: bool = True,
        start: bool = True,
        settle_seconds: float = 1.0,
        twin_conn_id: str = TwinHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (recipients is None) == (recipients_file is None):
            raise ValueError(f"{type(self).__name__} needs exactly one of recipients or recipients_file")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string")
        if not isinstance(allowed_time_ranges, str) and allowed_time_ranges is not None:
            problems = time_ranges_problems(allowed_time_ranges)
            if problems:
                raise ValueError(f"{type(self).__name__}: {'; '.join(problems)}")
        self.name = name
        self.recipients = recipients
        self.recipients_file = recipients_file
        self.recipients_file_format = recipients_file_format
        self.recipients_file_conn_id = recipients_file_conn_id
        self.channels = channels
        self.text = text
        self.template_id = template_id
        self.variables = variables
        self.allowed_time_ranges = allowed_time_ranges
        self.validity_period = validity_period
        self.callback_url = callback_url
        self.callback_data = callback_data
        self.group_id = group_id
        self.variable_default = variable_default
        self.deduplicate = deduplicate
        self.start = start
        self.settle_seconds = settle_seconds
        self.twin_conn_id = twin_conn_id

    def settings(self) -> dict[str, Any]:
        """The message settings every recipient shares, as given."""
        return {key: getattr(self, key) for key in JOB_SETTINGS}

    def file_source(self) -> Any:
        """``recipients_file`` ready to open: a local path, or an ObjectStoragePath for a URL."""
        path = self.recipients_file
        if isinstance(path, str) and "://" in path:
            from airflow.sdk import ObjectStoragePath  # noqa: PLC0415 - only for remote files

            return ObjectStoragePath(path, conn_id=self.recipients_file_conn_id)
        return path

    def execute(self, context: Context) -> SendJobSummary:
        """Validate, then create, upload and start the job once; return the summary."""
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        run_id = str(context["dag_run"].run_id)
        identity = (self.dag_id, run_id, self.task_id, -1 if map_index is None else int(map_index))
        hook = TwinHook(twin_conn_id=self.twin_conn_id)
        with twin_calls_of_task(hook):
            with frozen_heap():
                plan = plan_send_job(
                    identity,
                    self.name,
                    self.settings(),
                    recipients=self.recipients,
                    recipients_file=self.file_source() if self.recipients_file is not None else None,
                    file_format=self.recipients_file_format,
                    deduplicate=self.deduplicate,
                    find_template=getattr(hook, "get_template", None),
                )
            self.log.info("Validated %d recipient(s) of TWIN send job %r", plan.total, plan.name)
            summary = hook.start_send_job(plan, start=self.start, settle_seconds=self.settle_seconds)
        done = [step for step in ("created", "uploaded", "started") if summary[step]]
        self.log.info(
            "TWIN send job %s (%r): %s, %d message(s); this try %s",
            summary["job_id"],
            summary["name"],
            summary["status"],
            summary["total"],
            ", ".join(done) if done else "found it done already (an earlier try did it)",
        )
        if warning := found_job_warning(summary):
            self.log.warning("%s", warning)
        return summary


class TwinSendJobControlOperator(BaseOperator):
    """Pause, resume or cancel (delete) a TWIN send job.

    Safe to retry: pausing a job that does not run, or resuming one that is not paused, changes
    nothing, and cancelling a job already deleted is done.

    :param job_id: the job (templated; e.g. ``send_job.output["job_id"]``).
    :param action: ``pause``, ``resume`` or ``cancel``.
    :param twin_conn_id: the ``twin`` connection.
    :return: (XCom) ``{"job_id", "action", "status"}`` (status ``DELETED`` after ``cancel``).
    """

    template_fields: Sequence[str] = ("job_id", "action")
    ui_color = "#e3f1fb"

    def __init__(
        self, *, job_id: str, action: str, twin_conn_id: str = TwinHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if action not in CONTROL_ACTIONS and "{" not in str(action):
            raise ValueError(f"{type(self).__name__}: action must be one of {', '.join(CONTROL_ACTIONS)}")
        self.job_id = job_id
        self.action = action
        self.twin_conn_id = twin_conn_id

    def execute(self, context: Context) -> dict[str, str]:
        """Apply the action; return the job's status after it."""
        hook = TwinHook(twin_conn_id=self.twin_conn_id)
        with twin_calls_of_task(hook):
            status = hook.control_send_job(str(self.job_id), str(self.action))
        self.log.info("TWIN send job %s: %s -> %s", self.job_id, self.action, status)
        return {"job_id": str(self.job_id), "action": str(self.action), "status": status}


__all__ = ["TwinSendJobControlOperator", "TwinSendJobOperator"]
