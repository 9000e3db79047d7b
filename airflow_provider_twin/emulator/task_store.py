"""Send jobs ("tasks", twin-api.md §3.6): their lifecycle, and the messages a running job sends.

A job is created with a name and send windows (``allowedTimeRanges``), gets its messages from an
uploaded file (:mod:`.task_files`), and is started, paused, resumed and deleted through the calls of
§3.6. Statuses (ASSUMPTION twin-api.md §7.22): ``CREATED`` -> ``RUNNING`` (start) -> ``PAUSED`` /
``RUNNING`` -> ``COMPLETED``; ``ERROR`` when a fault stops it.

ASSUMPTION (not documented by TWIN): a running job turns its rows into messages of the message
store at ``task_messages_per_second`` (an emulator setting; 0 = all at once), only while the
emulator clock is inside one of the job's windows (read as :mod:`.time_windows` reads a message's
windows). Like message statuses, nothing runs in the background: whenever the emulator serves a
product request it first hands every running job's due rows over (:meth:`TaskStore.advance`), as
one ``POST /messages`` batch per job carrying the job's id as ``taskId``, so ``GET /messages``
(``taskId=`` filter), status webhooks and chat sessions see them like any other message. A job is
``COMPLETED`` once every row became a message and none of its messages waits for a final status.

Counts of ``GET /tasks``: ``totalMessageCount`` rows uploaded; ``totalProcessedMessageCount`` rows
handed to sending; ``inProgressMessageCount`` the job's messages without a final status yet
(fallback attempts included, at most the processed rows); ``completedMessageCount`` processed
minus in progress; ``progress`` the processed share in whole percent.

Fault injection (twin-api.md §7; :mod:`.faults`): before handing rows over, a running job draws the
fault rules as a request ``PROCESS /notify/api/v1/tasks/<id>/processing``; a ``status`` rule that
matches puts the job into ``ERROR`` (its rows stop). The API paths of §3.6 take faults as any path.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .clock import iso
from .ids import random_uuid
from .message_query import MessageQuery
from .statuses import ALL_STATUSES, FINAL_STATUSES
from .time_windows import Window, next_allowed_start
from .validation import validate_batch

if TYPE_CHECKING:
    from .state import EmulatorState

CREATED, RUNNING, PAUSED, COMPLETED, ERROR = "CREATED", "RUNNING", "PAUSED", "COMPLETED", "ERROR"
TASK_STATUSES = (CREATED, RUNNING, PAUSED, COMPLETED, ERROR)
PROCESSING_METHOD = "PROCESS"
_DAY = 86400
#: Message statuses that still change.
_MOVING = frozenset(ALL_STATUSES) - FINAL_STATUSES


def processing_path(task_id: str) -> str:
    """The path fault rules match to break a running job (see the module docstring)."""
    return f"/notify/api/v1/tasks/{task_id}/processing"


@dataclass
class Task:
    """One send job; ``rows`` are ``(settings key, message without destinations, destination)``."""

    id: str
    name: str
    time_ranges: list[list[str]] | None
    windows: list[Window] | None
    created_at: float
    updated_at: float
    status: str = CREATED
    rows: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    released: int = 0
    #: Emulator time up to which releasing has been accounted, and the fraction of a row owed.
    accounted_to: float | None = None
    owed: float = 0.0
    error: str | None = None

    def item(self, in_progress: int) -> dict[str, Any]:
        """The ``GET /tasks`` item (twin-api.md §3.6)."""
        total = len(self.rows)
        in_progress = min(in_progress, self.released)
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "allowedTimeRanges": self.time_ranges,
            "totalMessageCount": total,
            "totalProcessedMessageCount": self.released,
            "inProgressMessageCount": in_progress,
            "completedMessageCount": self.released - in_progress,
            "progress": (100 * self.released) // total if total else 0,
        }


def allowed_seconds(start: float, end: float, windows: list[Window] | None, offset: int = 0) -> float:
    """Seconds of ``[start, end)`` inside the daily ``windows`` (all of it without windows)."""
    if end <= start:
        return 0.0
    if not windows:
        return end - start
    spans: list[tuple[int, int]] = []
    for first, last in windows:
        if first <= last:
            spans.append((first, last + 1))
        else:
            spans.extend([(first, _DAY), (0, last + 1)])
    local_start, local_end = start + offset, end + offset
    day = math.floor(local_start / _DAY) * _DAY
    total = 0.0
    while day < local_end:
        for first, last in spans:
            total += max(0.0, min(local_end, day + last) - max(local_start, day + first))
        day += _DAY
    return total


def _batches(rows: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Rows as messages: consecutive rows with the same settings share one message."""
    messages: list[dict[str, Any]] = []
    last_key: str | None = None
    for key, settings, destination in rows:
        if key != last_key:
            messages.append({**settings, "destinations": []})
            last_key = key
        messages[-1]["destinations"].append(destination)
    return messages


class TaskStore:
    """Every send job, in creation order. Not thread-safe; callers hold the state lock."""

    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}

    def reset(self) -> None:
        """Forget every job."""
        self.tasks.clear()

    def create(
        self, name: str, time_ranges: list[list[str]] | None, windows: list[Window] | None, now: float
    ) -> Task:
        """A new job in ``CREATED``."""
        task = Task(random_uuid(), name, time_ranges, windows, now, now)
        self.tasks[task.id] = task
        return task

    @staticmethod
    def add_messages(task: Task, messages: list[dict[str, Any]], now: float) -> None:
        """Append validated messages (one destination each) to ``task``'s rows."""
        for message in messages:
            settings = {key: value for key, value in message.items() if key != "destinations"}
            key = json.dumps(settings, sort_keys=True, separators=(",", ":"))
            task.rows.extend((key, settings, destination) for destination in message["destinations"])
        task.updated_at = now

    @staticmethod
    def move(task: Task, status: str, now: float) -> None:
        """Put ``task`` into ``status`` (starting the release clock when it runs)."""
        task.status = status
        task.updated_at = now
        task.accounted_to = now if status == RUNNING else None
        if status != RUNNING:
            task.owed = 0.0

    @staticmethod
    def next_window_at(task: Task, now: float, offset: int) -> float | None:
        """When a running job with rows left, outside its windows now, may send again (else None)."""
        if task.status != RUNNING or task.released >= len(task.rows):
            return None
        opens = next_allowed_start(now, task.windows, offset)
        return opens if opens > now else None

    def in_progress(self, state: EmulatorState, task: Task) -> int:
        """The job's messages without a final status yet (the state lock held)."""
        if not task.released:
            return 0
        query = MessageQuery(task_ids=[task.id], statuses=_MOVING, without_items=True)
        count, _ = state.messages.query(query, state.now())
        return count or 0

    def advance(self, state: EmulatorState) -> None:
        """Hand every running job's due rows to the message store (the state lock held)."""
        running = [task for task in self.tasks.values() if task.status == RUNNING]
        if not running:
            return
        now = state.now()
        settings = state.settings
        offset = settings.time_ranges_utc_offset_minutes * 60
        for task in running:
            fault = state.faults.draw(PROCESSING_METHOD, processing_path(task.id))
            if fault is not None and fault.kind == "status":
                task.error = f"processing failed (fault {fault.id}, status {fault.status})"
                self.move(task, ERROR, now)
                continue
            since = task.accounted_to if task.accounted_to is not None else now
            rate = settings.task_messages_per_second
            remaining = len(task.rows) - task.released
            if rate <= 0:
                due = remaining if allowed_seconds(since, now + 1e-9, task.windows, offset) > 0 else 0
            else:
                task.owed += allowed_seconds(since, now, task.windows, offset) * rate
                due = min(remaining, int(task.owed))
                task.owed -= due
            task.accounted_to = now
            if due:
                self._release(state, task, due, now)
            if task.released >= len(task.rows) and not self.in_progress(state, task):
                self.move(task, COMPLETED, now)

    @staticmethod
    def _release(state: EmulatorState, task: Task, count: int, now: float) -> None:
        rows = task.rows[task.released : task.released + count]
        body = {"messages": _batches(rows), "taskId": task.id}
        plan, details = validate_batch(body)
        task.released += count
        task.updated_at = now
        if plan is None:  # checked at upload: only a changed setting could get here
            task.error = f"rows refused when sent: {details}"
            TaskStore.move(task, ERROR, now)
            return
        settings = state.settings
        result = state.messages.create(
            plan, now, settings.delivery_seconds, state.picker, settings.time_ranges_utc_offset_minutes * 60
        )
        state.note_stored(result.records)
        state.chat_channel.settle()
