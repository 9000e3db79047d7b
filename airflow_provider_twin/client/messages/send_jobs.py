"""TWIN send jobs: a campaign TWIN runs itself, created, filled and started exactly once.

A send job ("task", twin-api.md §3.6) has a name, send windows (``allowedTimeRanges``) and a
messages file; once started, TWIN paces the sending itself and the job can be paused, resumed
or deleted. :func:`plan_send_job` validates everything first: the recipients go through the
checks of a send (:func:`.send_plan.plan_send`: every problem names the recipient, or the file
line, and the field) and become the job's ``.xlsx`` file (:mod:`.send_job_files`).

:func:`start_send_job` then creates, uploads and starts **exactly once across retries**:

* the job's name ends with a suffix derived from what identifies the work (the Airflow task
  instance without its try number), so a retried task finds the job an earlier try created:
  the name is looked up (``GET /tasks?name=``) before anything is created;
* the file is uploaded only while the job holds no messages (``totalMessageCount`` 0);
* the job is started only while it is ``CREATED``; a ``PAUSED`` job is left paused (someone
  paused it: starting would resume it behind their back), a running or completed one is not
  started again;
* an upload or start TWIN answered is never repeated: the job is read again (up to
  ``SETTLE_READS`` times, ``settle_seconds`` apart) until its count or status shows it, else
  the procedure fails naming the job and what it did not see;
* after a failure TWIN may have acted on (no answer, a 5xx), the procedure waits a moment and
  reads the job again before repeating the step: the step is repeated only when it did not
  happen.

ASSUMPTION (twin-api.md §3.6): an upload is atomic (after a lost answer the job holds all of the
file's rows or none), the upload's rows appear in the job's ``totalMessageCount`` (the upload's
answer is untyped; its ``totalMessageCount`` is used when it gives one), and
``GET /tasks?name=`` finds a job by its name (exact or contained; the exact match is picked
here). The steps live in :mod:`.send_job_steps`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from airflow_provider_twin.client.core.calls import next_page
from airflow_provider_twin.client.core.errors import (
    TwinInputError,
    TwinNotFoundError,
    TwinValidationError,
)
from airflow_provider_twin.client.core.flows import Procedure
from airflow_provider_twin.client.core.problems import Problems
from airflow_provider_twin.client.messages import send_jobs_api as jobs
from airflow_provider_twin.client.messages.recipient_files import RecipientSource
from airflow_provider_twin.client.messages.send_job_files import job_rows, write_xlsx
from airflow_provider_twin.client.messages.send_job_steps import (
    STEP_ATTEMPTS,
    created_job,
    find_send_job,
    started_job,
    uploaded_job,
)

__all__ = [  # find_send_job is re-exported from the steps module for callers of this one
    "DEFAULT_SETTLE_SECONDS",
    "FINAL_JOB_STATUSES",
    "JOB_NAME_NAMESPACE",
    "JOB_REFUSED_SETTINGS",
    "STEP_ATTEMPTS",
    "SendJobPlan",
    "SendJobProgress",
    "SendJobSummary",
    "control_send_job",
    "find_send_job",
    "found_job_warning",
    "job_name",
    "plan_send_job",
    "read_send_job",
    "start_send_job",
    "time_ranges_problems",
]
from airflow_provider_twin.client.messages.send_plan import SendIdentity, SendPlan, plan_send
from airflow_provider_twin.client.messages.send_windows import normalize_time_ranges

#: Namespace of the job name suffixes. Never change it: a retried task would create a new job.
JOB_NAME_NAMESPACE = uuid.UUID("0f6b8a52-3c1e-5d7a-9b44-2e7c1a6d9f30")
DEFAULT_SETTLE_SECONDS = 1.0
#: Statuses after which a job no longer changes.
FINAL_JOB_STATUSES = frozenset({"COMPLETED", "ERROR"})
#: Message settings a send job cannot take: the job itself says when it sends.
JOB_REFUSED_SETTINGS = ("send_at",)


class SendJobSummary(TypedDict):
    """What :func:`start_send_job` did (the operator's XCom)."""

    job_id: str
    name: str
    status: str
    total: int
    created: bool
    uploaded: bool
    started: bool


def job_name(name: str, identity: SendIdentity) -> str:
    """``name`` with the suffix of ``identity`` (``dag, run, task, map index``): the same on
    every try, different for every run and mapped instance."""
    suffix = uuid.uuid5(JOB_NAME_NAMESPACE, "|".join(map(str, identity))).hex[:12]
    return f"{name.strip()} [{suffix}]"


@dataclass(frozen=True)
class SendJobPlan:
    """A validated send job: its name (with the suffix), windows and messages."""

    name: str
    allowed_time_ranges: list[list[str]] | None
    plan: SendPlan

    @property
    def total(self) -> int:
        """Rows of the job's file."""
        return self.plan.total

    def content(self) -> bytes:
        """The job's ``.xlsx`` messages file."""
        template: Any = dict(self.plan.source.campaign.template)  # type: ignore[attr-defined]
        destinations = (dest for chunk in self.plan.chunks(1000) for dest in chunk.destinations)
        return write_xlsx(job_rows(template, destinations))


def plan_send_job(
    identity: SendIdentity,
    name: str,
    settings: Mapping[str, Any],
    *,
    recipients: Any = None,
    recipients_file: RecipientSource | None = None,
    file_format: str | None = None,
    deduplicate: bool = True,
    find_template: Callable[[str], Mapping[str, Any] | None] | None = None,
) -> SendJobPlan:
    """Validate a send job before the first request (the checks of :func:`.send_plan.plan_send`).

    :param settings: the send's message settings (``channels``, ``text``, ``template_id``,
        ``variables``, ``allowed_time_ranges``...); ``allowed_time_ranges`` become the job's.
    :param find_template: reads the stored template ``template_id`` names, for the send's
        template checks (when the send plan takes it).
    :raises TwinInputError: listing every problem (field, recipient or file line); nothing sent.
    """
    problems = Problems()
    if not isinstance(name, str) or not name.strip():
        problems.add("name: a send job needs a name")
    for refused in JOB_REFUSED_SETTINGS:
        if settings.get(refused) not in (None, ""):
            problems.add(f"{refused}: a send job sends when it is started; use allowed_time_ranges")
    ranges, found = normalize_time_ranges(settings.get("allowed_time_ranges"))
    problems.extend(found)
    if (recipients is None) == (recipients_file is None):
        problems.add("recipients: give exactly one of recipients or recipients_file")
    if problems:
        raise problems.error("the send job")
    own = {key: value for key, value in settings.items() if key != "allowed_time_ranges"}
    options: dict[str, Any] = {} if find_template is None else {"find_template": find_template}
    plan = plan_send(
        identity,
        own,
        recipients=recipients,
        recipients_file=recipients_file,
        file_format=file_format,
        deduplicate=deduplicate,
        **options,
    )
    return SendJobPlan(job_name(name, identity), ranges, plan)


def start_send_job(
    job: SendJobPlan | Mapping[str, Any],
    *,
    start: bool = True,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
) -> Procedure[SendJobSummary]:
    """Create, upload and start the job once across retries (see the module docstring).

    :param job: a :class:`SendJobPlan`, or ``{"name", "content", "allowed_time_ranges"}``.
    :param start: start the job once it holds its messages (False: leave it ``CREATED``).
    :raises TwinError: a step TWIN refused, or failed ``STEP_ATTEMPTS`` times.
    """
    if isinstance(job, SendJobPlan):
        name, ranges, content = job.name, job.allowed_time_ranges, job.content
    else:
        name, ranges, data = job["name"], job.get("allowed_time_ranges"), job["content"]

        def content() -> bytes:
            return bytes(data)

    built: list[bytes] = []

    def file() -> bytes:
        if not built:
            built.append(content())
        return built[0]

    item, created = yield from created_job(name, ranges, settle_seconds)
    item, uploaded = yield from uploaded_job(item, file, settle_seconds)
    job_id = str(item["id"])
    status = str(item.get("status") or "").upper()
    started = False
    if start:
        status, started = yield from started_job(job_id, status, settle_seconds)
    if status == "ERROR":
        # Another try would find the same job in the same state: fail for good, say what helps.
        raise TwinInputError(
            f"TWIN send job {job_id} ({name!r}) is in ERROR; a retry cannot change that: cancel "
            "(delete) the job or give the send job another name"
        )
    return SendJobSummary(
        job_id=job_id,
        name=name,
        status=status,
        total=int(item.get("totalMessageCount") or 0),
        created=created,
        uploaded=uploaded,
        started=started,
    )


def found_job_warning(summary: SendJobSummary) -> str | None:
    """What a run should warn about a job it found rather than created, or None.

    A cleared or re-run task instance finds the job by its name: a ``COMPLETED`` job sends
    nothing again (cancel, i.e. delete, it and clear the task to send anew; changed recipients
    do not change an existing job), a ``PAUSED`` one is left paused.
    """
    job = f"TWIN send job {summary['job_id']} ({summary['name']!r})"
    if summary["status"] == "COMPLETED" and not summary["started"]:
        return (
            f"{job} was found already COMPLETED: nothing is sent again. This task instance always "
            "finds the same job; to send again, cancel (delete) the job and clear the task (then "
            "everyone gets the messages again). Changed recipients do not change an existing job."
        )
    if summary["status"] == "PAUSED":
        return f"{job} is PAUSED: left paused, resume it to go on"
    return None


@dataclass(frozen=True)
class SendJobProgress:
    """A job's status and counts, read by :func:`read_send_job`."""

    job_id: str
    name: str | None
    status: str
    total: int = 0
    processed: int = 0
    in_progress: int = 0
    completed: int = 0
    progress: int = 0

    @property
    def done(self) -> bool:
        """The job will not change any more (``COMPLETED`` or ``ERROR``)."""
        return self.status in FINAL_JOB_STATUSES

    @property
    def message(self) -> str:
        """The progress line a wait logs."""
        return (
            f"TWIN send job {self.job_id}: {self.status}, {self.processed} of {self.total} message(s) "
            f"handed to sending ({self.progress} %), {self.completed} final, {self.in_progress} in progress"
        )

    def to_result(self) -> dict[str, Any]:
        """The sensor's XCom: status and counts."""
        return {
            "job_id": self.job_id,
            "name": self.name,
            "status": self.status,
            "total": self.total,
            "processed": self.processed,
            "in_progress": self.in_progress,
            "completed": self.completed,
            "progress": self.progress,
        }


def read_send_job(job_id: str, name: str | None = None) -> Procedure[SendJobProgress]:
    """A job's status (``GET /tasks/{id}/statuses``) and counts (``GET /tasks``, by ``name``
    when known, else every page until the job shows up)."""
    status = yield jobs.send_job_status(job_id)
    call: Any = jobs.list_send_jobs(name=name, limit=jobs.MAX_PAGE_SIZE)
    while call is not None:
        page = yield call
        for item in page["items"]:
            if item.get("id") == job_id:
                return SendJobProgress(
                    job_id=job_id,
                    name=item.get("name"),
                    status=status,
                    total=int(item.get("totalMessageCount") or 0),
                    processed=int(item.get("totalProcessedMessageCount") or 0),
                    in_progress=int(item.get("inProgressMessageCount") or 0),
                    completed=int(item.get("completedMessageCount") or 0),
                    progress=int(item.get("progress") or 0),
                )
        call = next_page(call, page)
    return SendJobProgress(job_id=job_id, name=name, status=status)


def control_send_job(job_id: str, action: str) -> Procedure[str]:
    """Pause, resume or cancel (delete) a job; the job's status after it (``DELETED`` once
    cancelled). Pausing a job that does not run, or resuming one that is not paused, changes
    nothing and is no error; nor is a pause or resume TWIN refuses (422) when the job, read
    again, already shows the wanted state or has finished (it changed meanwhile)."""
    if action not in ("pause", "resume", "cancel"):
        raise TwinInputError(f"action: {action!r} is not one of pause, resume, cancel")
    if action == "cancel":
        with contextlib.suppress(TwinNotFoundError):  # deleted already: an earlier answer was lost
            yield jobs.delete_send_job(job_id)
        return "DELETED"
    status = yield jobs.send_job_status(job_id)
    try:
        if action == "pause" and status == "RUNNING":
            yield jobs.pause_send_job(job_id)
        elif action == "resume" and status == "PAUSED":
            yield jobs.resume_send_job(job_id)
        else:
            return str(status)
    except TwinValidationError:
        now: str = yield jobs.send_job_status(job_id)
        if now == ("PAUSED" if action == "pause" else "RUNNING") or now in FINAL_JOB_STATUSES:
            return now  # the job changed meanwhile: this request changed nothing
        raise
    after: str = yield jobs.send_job_status(job_id)
    return after


def time_ranges_problems(value: Sequence[Sequence[str]] | None) -> list[str]:
    """The problems of ``allowed_time_ranges`` (to check an operator's argument at parse time)."""
    return normalize_time_ranges(value)[1]
