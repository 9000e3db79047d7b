"""When a message may go out: a delayed send time and daily send windows.

Both are checked before anything is sent: a naive time is refused ("10:00" means something
different on every worker), and a window must end after it starts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from airflow_provider_twin.client.core.problems import shown

_TIME_OF_DAY = re.compile(r"^(\d{1,2}):([0-5]\d):([0-5]\d)$")


def format_send_at(value: Any) -> tuple[str | None, str | None]:
    """``(iso string, None)`` for a timezone-aware time, or ``(None, problem)``.

    Accepts ``datetime`` (pendulum's included) and ISO-8601 strings with an offset or ``Z``.
    A naive time is refused: "10:00" means something different on every worker.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            return None, f"{shown(value)} is not an ISO-8601 date-time (e.g. 2026-02-01T10:00:00+03:00)"
        value = parsed
    if not isinstance(value, datetime):
        return None, f"expected a timezone-aware datetime or ISO-8601 string, got {type(value).__name__}"
    if value.tzinfo is None or value.utcoffset() is None:
        return None, f"{value.isoformat()} has no timezone; give an aware time (e.g. with +03:00 or UTC)"
    return value.isoformat(timespec="seconds"), None


def _time_of_day(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    match = _TIME_OF_DAY.match(value.strip())
    if not match or int(match.group(1)) > 23:
        return None
    return f"{int(match.group(1)):02d}:{match.group(2)}:{match.group(3)}"


def normalize_time_ranges(value: Any) -> tuple[list[list[str]] | None, list[str]]:
    """``allowedTimeRanges`` as ``[["HH:MM:SS", "HH:MM:SS"], ...]`` and the problems found.

    One pair may be given without the outer list (``["09:00:00", "21:00:00"]``). A window must
    end after it starts; split windows that cross midnight into two.
    """
    if value is None:
        return None, []
    if isinstance(value, Sequence) and len(value) == 2 and all(isinstance(item, str) for item in value):
        value = [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        return None, [f"allowed_time_ranges: expected a list of [from, to] pairs, got {shown(value)}"]
    ranges: list[list[str]] = []
    problems: list[str] = []
    for index, pair in enumerate(value):
        where = f"allowed_time_ranges[{index}]"
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            problems.append(f"{where}: expected a [from, to] pair of HH:MM:SS times, got {shown(pair)}")
            continue
        start, end = _time_of_day(pair[0]), _time_of_day(pair[1])
        if start is None or end is None:
            problems.append(f"{where}: times must be HH:MM:SS (00:00:00-23:59:59), got {shown(list(pair))}")
        elif start >= end:
            problems.append(
                f"{where}: {start} is not before {end}; split a window that crosses midnight into two"
            )
        else:
            ranges.append([start, end])
    return ranges, problems


def past_send_at(value: Any) -> str | None:
    """The ISO time ``value`` names when it lies in the past (TWIN then sends at once), else None."""
    if value is None or value == "":
        return None
    iso, _ = format_send_at(value)
    if iso and datetime.fromisoformat(iso) < datetime.now().astimezone():
        return iso
    return None
