"""Notify send jobs ("tasks"): the calls of twin-api.md §3.6 over :mod:`.task_store`.

Answers (ASSUMPTION twin-api.md §7.23): ``POST /tasks`` 201 ``{"id"}``; ``PUT``, uploads and the
control calls 200 with ``{"id", "status"}``; ``DELETE /tasks/{id}`` 204; an unknown id 404
``{"error": "Entity not found"}``.

Strict mode holds clients to what the SDK and seed 000 make explicit: ``name`` is required; a job
is started only once it has messages (the UI creates a job with its file); starting a running,
completed or failed job, pausing one that does not run and resuming one that is not paused are
refused with 422. Lenient mode answers those with the job unchanged (a job started without
messages completes at once; starting a paused job resumes it). Messages are added while the job is
``CREATED`` or ``PAUSED`` in both modes (422 otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from .list_requests import Page, time_bounds
from .responses import json_response, not_found, validation_error
from .route_requests import answer_authorised, answer_page, authorised_body, authorised_state
from .routes_notify import NOTIFY_PREFIX
from .state import EmulatorState
from .task_files import TaskFileError, read_messages
from .task_store import COMPLETED, CREATED, ERROR, PAUSED, RUNNING, TASK_STATUSES, Task
from .time_windows import Window, parse_time_of_day
from .validation import validate_batch

router = APIRouter(prefix=NOTIFY_PREFIX)


def _windows(value: Any, details: dict[str, list[str]]) -> tuple[list[list[str]] | None, list[Window] | None]:
    if value is None:
        return None, None
    if not isinstance(value, list):
        details["allowedTimeRanges"] = ["Must be a list of [from, to] pairs."]
        return None, None
    windows: list[Window] = []
    for index, pair in enumerate(value):
        bounds = (
            [parse_time_of_day(item) for item in pair] if isinstance(pair, list) and len(pair) == 2 else []
        )
        if len(bounds) != 2 or bounds[0] is None or bounds[1] is None:
            details.setdefault("allowedTimeRanges", []).append(
                f'Item {index}: must be ["HH:MM:SS", "HH:MM:SS"].'
            )
            continue
        windows.append((bounds[0], bounds[1]))
    return ([list(pair) for pair in value], windows or None) if not details else (None, None)


def _task(state: EmulatorState, task_id: str) -> Task | None:
    return state.tasks.tasks.get(task_id)


def _answer_task(
    request: Request, task_id: str, answer: Callable[[EmulatorState, Task], Response]
) -> Response:
    """Under the lock and with a valid token, ``answer(state, task)`` for a known job, else 404."""

    def found(state: EmulatorState) -> Response:
        task = _task(state, task_id)
        return not_found() if task is None else answer(state, task)

    return answer_authorised(request, found)


def _answer(task: Task) -> Response:
    return json_response({"id": task.id, "status": task.status})


def _refuse(task: Task, action: str) -> Response:
    return validation_error({"status": [f"Cannot {action} a task in status {task.status}."]})


@router.post("/tasks")
async def create_task(request: Request) -> Response:
    """Create a job in ``CREATED``: 201 ``{"id"}``."""
    checked = await authorised_body(request)
    if isinstance(checked, Response):
        return checked
    state, body = checked
    details: dict[str, list[str]] = {}
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        details["name"] = ["Must be a string."]
    with state.lock:
        if state.settings.strict and not (isinstance(name, str) and name.strip()):
            details.setdefault("name", []).append("This value is required.")
        ranges, windows = _windows(body.get("allowedTimeRanges"), details)
        if details:
            return validation_error(details)
        task = state.tasks.create(name or "", ranges, windows, state.now())
    return json_response({"id": task.id}, 201)


@router.put("/tasks/{task_id}")
async def update_task(task_id: str, request: Request) -> Response:
    """Change the name and/or windows of a job."""
    checked = await authorised_body(request)
    if isinstance(checked, Response):
        return checked
    state, body = checked
    details: dict[str, list[str]] = {}
    name = body.get("name")
    if name is not None and not (isinstance(name, str) and name.strip()):
        details["name"] = ["Must be a non-empty string."]
    ranges, windows = _windows(body.get("allowedTimeRanges"), details)
    if details:
        return validation_error(details)
    with state.lock:
        task = _task(state, task_id)
        if task is None:
            return not_found()
        if name is not None:
            task.name = name
        if "allowedTimeRanges" in body:
            task.time_ranges, task.windows = ranges, windows
        task.updated_at = state.now()
        return _answer(task)


@router.delete("/tasks/{task_id}")
async def delete_task(task_id: str, request: Request) -> Response:
    """Delete a job; messages it already sent stay."""
    return answer_authorised(
        request,
        lambda state: (
            not_found() if state.tasks.tasks.pop(task_id, None) is None else Response(status_code=204)
        ),
    )


@router.post("/tasks/{task_id}")
async def add_messages(task_id: str, request: Request) -> Response:
    """Add the messages of the multipart file part ``messages`` (:mod:`.task_files`)."""
    state = authorised_state(request)
    if isinstance(state, Response):
        return state
    with state.lock:
        strict = state.settings.strict
        if _task(state, task_id) is None:
            return not_found()
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - any unreadable form is the client's
        return validation_error({"messages": ["Send the file as multipart/form-data part 'messages'."]})
    part = form.get("messages")
    if not isinstance(part, UploadFile):
        return validation_error({"messages": ["A file part named 'messages' is required."]})
    content = await part.read()
    try:
        messages = read_messages(content, part.filename)
    except TaskFileError as exc:
        return validation_error(exc.details)
    _, details = validate_batch({"messages": messages}, strict=strict)
    if details:
        return validation_error(_row_details(details))
    with state.lock:
        task = _task(state, task_id)
        if task is None:
            return not_found()
        if task.status not in (CREATED, PAUSED):
            return _refuse(task, "add messages to")
        state.tasks.add_messages(task, messages, state.now())
        return json_response({"id": task.id, "status": task.status, "totalMessageCount": len(task.rows)})


def _row_details(details: dict[str, list[str]]) -> dict[str, list[str]]:
    """``messages[4].channels.sms`` -> ``messages row 6.channels.sms`` (the header is row 1)."""
    renamed: dict[str, list[str]] = {}
    for path, problems in details.items():
        where = path
        if path.startswith("messages[") and "]" in path:
            index, rest = path[len("messages[") :].split("]", 1)
            if index.isdigit():
                where = f"messages row {int(index) + 2}{rest}"
        renamed.setdefault(where, []).extend(problems)
    return renamed


@router.post("/startedTasks/{task_id}")
async def start_task(task_id: str, request: Request) -> Response:
    """Start a created job (lenient: also resume a paused one)."""
    return _answer_task(request, task_id, _start)


def _start(state: EmulatorState, task: Task) -> Response:
    strict, now = state.settings.strict, state.now()
    if task.status == CREATED:
        if strict and not task.rows:
            return validation_error({"messages": ["Add the task's messages before starting it."]})
        state.tasks.move(task, RUNNING, now)
        state.tasks.advance(state)
    elif task.status == PAUSED and not strict:
        state.tasks.move(task, RUNNING, now)
    elif strict:
        return _refuse(task, "start")
    return _answer(task)


@router.post("/pausedTasks/{task_id}")
async def pause_task(task_id: str, request: Request) -> Response:
    """Pause a running job."""
    return await _control(request, task_id, RUNNING, PAUSED, "pause")


@router.delete("/pausedTasks/{task_id}")
async def resume_task(task_id: str, request: Request) -> Response:
    """Resume a paused job."""
    return await _control(request, task_id, PAUSED, RUNNING, "resume")


async def _control(request: Request, task_id: str, source: str, target: str, action: str) -> Response:
    def move(state: EmulatorState, task: Task) -> Response:
        if task.status == source:
            state.tasks.move(task, target, state.now())
        elif state.settings.strict and task.status != target:
            return _refuse(task, action)
        return _answer(task)

    return _answer_task(request, task_id, move)


@router.get("/tasks/{task_id}/statuses")
async def task_status(task_id: str, request: Request) -> Response:
    """``{"status"}`` of a job."""
    return _answer_task(request, task_id, lambda _state, task: json_response({"status": task.status}))


@router.get("/tasks")
async def list_tasks(request: Request) -> Response:
    """Jobs with filters ``name`` (case-insensitive substring, ASSUMPTION), ``status`` (comma
    list), ``from``/``to`` (``createdAt``) and the common paging: ``{"count", "items"}``."""

    def listed(state: EmulatorState, page: Page) -> Response:
        query = page.query
        name = (query.text("name") or "").strip().lower()
        statuses = query.upper_set("status")
        bounds = time_bounds(query)
        if isinstance(bounds, Response):
            return bounds
        if statuses and not statuses <= set(TASK_STATUSES):
            return validation_error({"status": [f"Must be among {', '.join(TASK_STATUSES)}."]})
        matched = [
            task
            for task in state.tasks.tasks.values()
            if (not name or name in task.name.lower())
            and (not statuses or task.status in statuses)
            and (bounds[0] is None or task.created_at >= bounds[0])
            and (bounds[1] is None or task.created_at <= bounds[1])
        ]
        items = [task.item(state.tasks.in_progress(state, task)) for task in page.window(matched)]
        return json_response({"count": len(matched), "items": items})

    return answer_page(request, listed)


__all__ = ["COMPLETED", "ERROR", "router"]
