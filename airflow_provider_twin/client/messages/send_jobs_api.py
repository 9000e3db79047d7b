"""Notify send-job ("task") calls: create, change, delete, add messages, start, pause, resume,
status and list (twin-api.md §3.6).

A send job is a campaign TWIN runs itself: a name, send windows and a messages file, started
once and paced by TWIN. The procedures built on these calls live in
``client.messages.send_jobs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict, cast

from airflow_provider_twin.client.core.calls import (
    ApiCall,
    FilePart,
    Multipart,
    comma_list,
    expect_object,
    query_params,
)
from airflow_provider_twin.client.core.errors import TwinInputError, TwinProtocolError

#: Job statuses (ASSUMPTION twin-api.md §7.22: not documented by TWIN).
JOB_STATUSES = ("CREATED", "RUNNING", "PAUSED", "COMPLETED", "ERROR")
#: TWIN's page size cap assumed by the emulator (twin-api.md §7.11).
MAX_PAGE_SIZE = 1000


class SendJobItem(TypedDict, total=False):
    """A job of ``GET /tasks`` (twin-api.md §3.6)."""

    id: str
    name: str
    status: str
    createdAt: str
    updatedAt: str
    allowedTimeRanges: list[list[str]] | None
    totalMessageCount: int
    totalProcessedMessageCount: int
    inProgressMessageCount: int
    completedMessageCount: int
    progress: int


class SendJobPage(TypedDict):
    """``{count, items}`` of ``GET /tasks``."""

    count: int
    items: list[SendJobItem]


def _job_id(body: Any) -> str:
    job_id = expect_object(body).get("id")
    if not isinstance(job_id, str) or not job_id:
        raise TwinProtocolError("TWIN notify answered a send job's creation without an id")
    return job_id


def _status(body: Any) -> str:
    status = expect_object(body).get("status")
    if not isinstance(status, str) or not status:
        raise TwinProtocolError("TWIN notify answered a send job's status without a status")
    return status.upper()


def _untyped(body: Any) -> Any:
    return body


def _page(body: Any) -> SendJobPage:
    data = expect_object(body)
    count, items = data.get("count"), data.get("items", [])
    if not isinstance(count, int) or not isinstance(items, list):
        raise TwinProtocolError("TWIN notify answered a send job list without count/items")
    return cast("SendJobPage", {"count": count, "items": items})


def _check_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not job_id.strip() or "/" in job_id:
        raise TwinInputError(f"job_id: {job_id!r} is not a TWIN send job id")
    return job_id.strip()


def _settings(name: str | None, allowed_time_ranges: Sequence[Sequence[str]] | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = name
    if allowed_time_ranges is not None:
        body["allowedTimeRanges"] = [list(pair) for pair in allowed_time_ranges]
    return body


def create_send_job(name: str, allowed_time_ranges: Sequence[Sequence[str]] | None = None) -> ApiCall[str]:
    """``POST /tasks``: a new job (``CREATED``); its id.

    Not safe to repeat blindly (a second job would be created):
    :func:`~airflow_provider_twin.client.messages.start_send_job` looks the name up before
    creating, which is what makes it safe.
    """
    if not isinstance(name, str) or not name.strip():
        raise TwinInputError("name: a send job needs a name")
    return ApiCall(
        "POST", "notify", "/tasks", f"create send job {name!r}", _job_id,
        json=_settings(name, allowed_time_ranges),
    )  # fmt: skip


def update_send_job(
    job_id: str, *, name: str | None = None, allowed_time_ranges: Sequence[Sequence[str]] | None = None
) -> ApiCall[Any]:
    """``PUT /tasks/{id}``: change the name and/or the send windows."""
    job = _check_id(job_id)
    return ApiCall(
        "PUT", "notify", f"/tasks/{job}", f"update send job {job}", _untyped,
        json=_settings(name, allowed_time_ranges),
    )  # fmt: skip


def delete_send_job(job_id: str) -> ApiCall[Any]:
    """``DELETE /tasks/{id}``: delete a job (messages it already sent stay)."""
    job = _check_id(job_id)
    return ApiCall("DELETE", "notify", f"/tasks/{job}", f"delete send job {job}", _untyped)


def add_send_job_messages(
    job_id: str, content: bytes, filename: str = "messages.xlsx", content_type: str | None = None
) -> ApiCall[Any]:
    """``POST /tasks/{id}``: upload the job's messages file as the multipart part ``messages``.

    Not safe to repeat blindly (the rows would be added twice): check ``totalMessageCount``
    first, as :func:`~airflow_provider_twin.client.messages.start_send_job` does.
    """
    job = _check_id(job_id)
    kind = content_type or (
        "text/csv"
        if filename.lower().endswith(".csv")
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    form = Multipart(files=(FilePart("messages", filename, kind, content),))
    return ApiCall(
        "POST", "notify", f"/tasks/{job}", f"add messages to send job {job}", _untyped,
        form=form, idempotent=False,
    )  # fmt: skip


def start_send_job(job_id: str) -> ApiCall[Any]:
    """``POST /startedTasks/{id}``: start a created job (not repeated blindly)."""
    job = _check_id(job_id)
    return ApiCall("POST", "notify", f"/startedTasks/{job}", f"start send job {job}", _untyped)


def pause_send_job(job_id: str) -> ApiCall[Any]:
    """``POST /pausedTasks/{id}``: pause a running job (pausing twice pauses once)."""
    job = _check_id(job_id)
    return ApiCall(
        "POST", "notify", f"/pausedTasks/{job}", f"pause send job {job}", _untyped, idempotent=True
    )


def resume_send_job(job_id: str) -> ApiCall[Any]:
    """``DELETE /pausedTasks/{id}``: resume a paused job."""
    job = _check_id(job_id)
    return ApiCall("DELETE", "notify", f"/pausedTasks/{job}", f"resume send job {job}", _untyped)


def send_job_status(job_id: str) -> ApiCall[str]:
    """``GET /tasks/{id}/statuses``: the job's status (upper case)."""
    job = _check_id(job_id)
    return ApiCall("GET", "notify", f"/tasks/{job}/statuses", f"read send job {job}'s status", _status)


def list_send_jobs(
    *,
    name: str | None = None,
    status: str | Sequence[str] | None = None,
    created_from: str | None = None,
    created_to: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> ApiCall[SendJobPage]:
    """``GET /tasks``: one page of jobs with filters (twin-api.md §3.6)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise TwinInputError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    params = query_params(
        name=name,
        status=comma_list(status),
        limit=limit,
        offset=offset,
        **{"from": created_from, "to": created_to},
    )
    return ApiCall("GET", "notify", "/tasks", "list send jobs", _page, params=params)
