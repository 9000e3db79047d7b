"""Time utilities: the wall clock, ISO-8601 rendering and parsing.

All emulator timestamps are POSIX seconds (floats). The API renders them as ISO-8601 strings with an
explicit UTC offset and millisecond precision, e.g. ``2026-01-28T12:00:00.250+00:00``; TWIN itself
shows ``2018-10-31T11:56:07+00:00`` and clients parse both forms.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

UTC = timezone.utc


def wall_clock() -> float:
    """Current POSIX time in seconds."""
    return time.time()


def iso(ts: float) -> str:
    """Render POSIX seconds as ISO-8601 with a ``+00:00`` offset."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def iso_or_none(ts: float | None) -> str | None:
    """Like :func:`iso` but passes None through."""
    return None if ts is None else iso(ts)


def from_iso(text: str) -> datetime:
    """``datetime.fromisoformat`` that also reads a ``Z`` suffix on Python 3.10 (3.11+ does)."""
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)


def parse_aware_datetime(value: str) -> float | None:
    """Parse an ISO-8601 date-time that carries a UTC offset (or ``Z``).

    Returns POSIX seconds, or None when the text is not a date-time or has no offset. A naive value is
    refused because its meaning depends on a time zone the API does not define (twin-api.md §7.3).
    """
    try:
        parsed = from_iso(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed.timestamp()


def parse_filter_bound(value: str, *, upper: bool) -> float | None:
    """Parse a ``from``/``to`` list filter value.

    Accepts an ISO date (``2026-01-28``) or date-time; naive date-times are read as UTC. A bare date as
    an upper bound covers the whole day, so ``to=2026-01-28`` includes messages created that day.
    Returns None when the value cannot be parsed.
    """
    text = value.strip()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if upper:
            return (start + timedelta(days=1)).timestamp() - 1e-6
        return start.timestamp()
    try:
        parsed = from_iso(text.replace(" ", "+") if "T" in text else text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
