"""Fast-forward the emulator's clock past waits for send windows, so DAG runs need not wait hours.

Used by ``make demo`` and ``make airflow``, and useful in tests of DAGs that send inside send
windows (``sendAt``, ``allowedTimeRanges``) or run send jobs with them.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from .server import TwinEmulator


class FastForward:
    """Advance the emulator's clock whenever messages wait for their send time (``DELAYED``) or a
    running send job waits for its next send window.

    A campaign holds reminders until each recipient's local send window opens, and a send job
    outside its ``allowedTimeRanges`` sends nothing until the next one opens; either may be hours
    away. While this runs (a context manager, polling in a thread) the emulator's clock jumps there
    instead, so a DAG run or a test does not wait for it.

    ``after_seconds``: only messages and jobs that have waited at least this long (as seen by this
    object) are fast-forwarded, so that a DAG that schedules a message and then cancels it gets
    the time to. ``on_jump`` is called with (messages, seconds) after each jump, where messages
    counts the held messages and the rows the waiting jobs have yet to send.
    """

    def __init__(
        self,
        emulator: TwinEmulator,
        poll_seconds: float = 0.2,
        *,
        after_seconds: float = 0.0,
        on_jump: Callable[[int, float], None] | None = None,
    ) -> None:
        self.emulator = emulator
        self.poll_seconds = poll_seconds
        self.after_seconds = after_seconds
        self.on_jump = on_jump
        self.offset = 0.0
        #: (messages that were waiting, seconds skipped) per jump.
        self.jumps: list[tuple[int, float]] = []
        self._first_seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="twin-fast-forward", daemon=True)

    def __enter__(self) -> FastForward:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.step()
            except Exception:  # noqa: BLE001 - the emulator is stopping; the DAG run decides the outcome
                return

    def step(self) -> None:
        """One look: jump to the latest moment a waiting message or job may send, if any."""
        admin = self.emulator.admin
        # (id, moment it may send, messages waiting for it)
        waiting = [
            (f"message {item['id']}", item["scheduledAt"], 1)
            for item in admin.messages(status="DELAYED", limit=100_000)["items"]
        ] + [
            (
                f"job {job['id']}",
                job["nextWindowAt"],
                job["totalMessageCount"] - job["totalProcessedMessageCount"],
            )
            for job in admin.tasks(limit=100_000)["items"]
            if job["nextWindowAt"] is not None
        ]
        if self.after_seconds > 0:
            now = time.monotonic()
            seen = {key: self._first_seen.get(key, now) for key, _, _ in waiting}
            self._first_seen = seen  # forget the ones that were sent or cancelled
            waiting = [entry for entry in waiting if now - seen[entry[0]] >= self.after_seconds]
        if not waiting:
            return
        latest = max(datetime.fromisoformat(moment).timestamp() for _, moment, _ in waiting)
        ahead = latest - (time.time() + self.offset) + 0.5
        if ahead > 0:
            count = sum(messages for _, _, messages in waiting)
            self.offset = admin.advance_clock(ahead)
            self.jumps.append((count, ahead))
            if self.on_jump is not None:
                self.on_jump(count, ahead)
