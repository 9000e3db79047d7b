"""Absolute moments, such as a wait's deadline, as UTC epoch seconds.

A deadline is fixed once (when a sensor first checks) and serialized with its trigger, so it
must read the same after a triggerer restart whichever form it was given in.
"""

from __future__ import annotations

from datetime import datetime, timezone


def epoch_seconds(value: float | int | str | datetime) -> float:
    """An absolute moment as UTC epoch seconds, from epoch seconds, an ISO string or a datetime.

    A string or datetime without a time zone is read as UTC.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        return float(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
