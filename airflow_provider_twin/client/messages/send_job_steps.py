"""The steps of starting a TWIN send job exactly once: find or create, upload, start.

Each step reads the job before acting and never repeats a request TWIN answered: after an
accepted upload or start the job is read again (up to :data:`SETTLE_READS` times,
``settle_seconds`` apart) until its ``totalMessageCount`` or status shows the effect, else the
step fails naming the job and what it did not see. A request is repeated only after a failure
TWIN may have acted on (no answer, a 5xx) when the re-read shows it did not happen, at most
:data:`STEP_ATTEMPTS` times.

ASSUMPTION (twin-api.md §3.6): an accepted upload's rows appear in the job's
``totalMessageCount`` (the upload's answer is untyped: its ``totalMessageCount`` is used when it
gives one), and an accepted start moves the job out of ``CREATED``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_twin.client.core.calls import next_page
from airflow_provider_twin.client.core.errors import (
    TwinError,
    TwinInputError,
    TwinServerError,
    TwinTransportError,
)
from airflow_provider_twin.client.core.flows import Procedure, Sleep
from airflow_provider_twin.client.messages import send_jobs_api as jobs

#: Attempts per step after failures TWIN may have acted on.
STEP_ATTEMPTS = 3


def _maybe_acted(error: TwinError) -> bool:
    """Whether TWIN may have acted on the request despite ``error``."""
    if isinstance(error, TwinTransportError):
        return error.ambiguous
    return isinstance(error, TwinServerError)


def find_send_job(name: str) -> Procedure[jobs.SendJobItem | None]:
    """The job named exactly ``name`` (the oldest when several are), or None."""
    call: Any = jobs.list_send_jobs(name=name, limit=jobs.MAX_PAGE_SIZE)
    found: list[jobs.SendJobItem] = []
    while call is not None:
        page = yield call
        found.extend(item for item in page["items"] if item.get("name") == name)
        call = next_page(call, page)
    found.sort(key=lambda item: str(item.get("createdAt") or ""))
    return found[0] if found else None


def _job_by_id(job_id: str, name: str) -> Procedure[jobs.SendJobItem]:
    found = yield from find_send_job(name)
    if found is None or found.get("id") != job_id:
        raise TwinError(f"TWIN send job {job_id} ({name!r}) is not listed; was it deleted?")
    return found


def created_job(name: str, ranges: Any, settle_seconds: float) -> Procedure[tuple[jobs.SendJobItem, bool]]:
    """The job named ``name``, created unless it exists; whether this procedure created it."""
    item = yield from find_send_job(name)
    attempt = 0
    while item is None:
        attempt += 1
        try:
            job_id = yield jobs.create_send_job(name, ranges)
        except TwinError as exc:
            if not _maybe_acted(exc) or attempt >= STEP_ATTEMPTS:
                raise
            yield Sleep(settle_seconds)
            item = yield from find_send_job(name)
            if item is not None:
                return item, True  # the lost answer's request created it
            continue
        item = yield from _job_by_id(job_id, name)
        return item, True
    return item, False


#: Reads of a job after a successful upload or start before the effect counts as not seen.
SETTLE_READS = 10


def _answered_count(answer: Any) -> int:
    """The job's message count an upload answer gives (0 when it gives none)."""
    if isinstance(answer, Mapping):
        with contextlib.suppress(TypeError, ValueError):
            return int(answer.get("totalMessageCount") or 0)
    return 0


def _settled_item(job_id: str, name: str, settle_seconds: float) -> Procedure[jobs.SendJobItem]:
    """The job once its ``totalMessageCount`` shows an upload TWIN accepted (bounded reads)."""
    for _ in range(SETTLE_READS):
        yield Sleep(settle_seconds)
        item = yield from _job_by_id(job_id, name)
        if item.get("totalMessageCount"):
            return item
    raise TwinError(
        f"TWIN send job {job_id} ({name!r}) accepted the messages file but still shows no messages "
        f"(totalMessageCount 0) after {SETTLE_READS} reads; the file is not uploaded again (that could "
        "add its rows twice): check the job in TWIN, then cancel it or clear the task"
    )


def uploaded_job(
    item: jobs.SendJobItem, content: Callable[[], bytes], settle_seconds: float
) -> Procedure[tuple[jobs.SendJobItem, bool]]:
    """The job once it holds messages, uploading them unless it does; whether this uploaded.

    A request TWIN answered is never repeated: the job is read again until its count shows the
    rows. Only a failed request whose effect the re-read does not show is repeated.
    """
    job_id, name = str(item["id"]), str(item.get("name"))
    attempt = 0
    while not item.get("totalMessageCount"):
        if item.get("status") not in ("CREATED", "PAUSED"):
            raise TwinInputError(f"TWIN send job {job_id} is {item.get('status')} and holds no messages")
        attempt += 1
        try:
            answer = yield jobs.add_send_job_messages(job_id, content())
        except TwinError as exc:
            if not _maybe_acted(exc) or attempt >= STEP_ATTEMPTS:
                raise
            yield Sleep(settle_seconds)
            item = yield from _job_by_id(job_id, name)
            if item.get("totalMessageCount"):
                return item, True  # the lost answer's request uploaded the rows
            continue
        count = _answered_count(answer)
        if count:
            return {**item, "totalMessageCount": count}, True
        return (yield from _settled_item(job_id, name, settle_seconds)), True
    return item, False


def _settled_status(job_id: str, settle_seconds: float) -> Procedure[str]:
    """The job's status once it is no longer ``CREATED`` after an accepted start (bounded reads)."""
    for _ in range(SETTLE_READS):
        yield Sleep(settle_seconds)
        status: str = yield jobs.send_job_status(job_id)
        if status != "CREATED":
            return status
    raise TwinError(
        f"TWIN send job {job_id} accepted the start request but is still CREATED after "
        f"{SETTLE_READS} reads; it is not started again: check the job in TWIN"
    )


def started_job(job_id: str, status: str, settle_seconds: float) -> Procedure[tuple[str, bool]]:
    """The job's status once started (only from ``CREATED``); whether this procedure started it.

    An answered start is never repeated (see :func:`uploaded_job`)."""
    attempt = 0
    while status == "CREATED":
        attempt += 1
        try:
            yield jobs.start_send_job(job_id)
        except TwinError as exc:
            if not _maybe_acted(exc) or attempt >= STEP_ATTEMPTS:
                raise
            yield Sleep(settle_seconds)
            status = yield jobs.send_job_status(job_id)
            if status != "CREATED":
                return status, True  # the lost answer's request started it
            continue
        return (yield from _settled_status(job_id, settle_seconds)), True
    return status, False
