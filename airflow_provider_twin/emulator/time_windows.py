"""``allowedTimeRanges``: daily send windows and the next moment a message may be sent.

A window ``["09:00:00", "21:00:00"]`` allows sending from 09:00:00 up to and including 21:00:59.999 of
every day. A window whose start is later than its end (``["22:00:00", "06:00:00"]``) wraps midnight.
ASSUMPTION (twin-api.md §7.4): windows are read in UTC, shifted by the setting
``time_ranges_utc_offset_minutes``.
"""

from __future__ import annotations

import re

Window = tuple[int, int]

_DAY = 86400
_TIME_RE = re.compile(r"^(\d{1,2}):([0-5]\d):([0-5]\d)$")


def parse_time_of_day(text: object) -> int | None:
    """Parse ``H:MM:SS`` or ``HH:MM:SS`` into seconds since midnight, or None when invalid."""
    if not isinstance(text, str):
        return None
    match = _TIME_RE.match(text)
    if match is None:
        return None
    hours, minutes, seconds = (int(part) for part in match.groups())
    if hours > 23:
        return None
    return hours * 3600 + minutes * 60 + seconds


def next_allowed_start(ts: float, windows: list[Window] | None, offset_seconds: int = 0) -> float:
    """Return the earliest moment >= ``ts`` that lies inside one of ``windows``.

    The end second of a window is inclusive. With no windows any moment is allowed.
    """
    if not windows:
        return ts
    local = ts + offset_seconds
    day_start = local - (local % _DAY)
    second = local - day_start
    best: float | None = None
    for start, end in windows:
        if start <= end:
            if start <= second < end + 1:
                return ts
            candidate = day_start + start if second < start else day_start + _DAY + start
        else:
            if second >= start or second < end + 1:
                return ts
            candidate = day_start + start
        if best is None or candidate < best:
            best = candidate
    assert best is not None
    return best - offset_seconds
