"""Absolute moments (a wait's deadline) as UTC epoch seconds, and durations checked once.

A deadline is fixed once (when a sensor first checks) and serialized with its trigger, so it
must read the same after a triggerer restart whichever form it was given in.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from airflow_provider_twin.client.core.errors import TwinInputError


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


def positive_seconds(name: str, value: Any) -> float:
    """``value`` as a positive, finite number of seconds; else :class:`TwinInputError` naming ``name``.

    The one check of every duration a user gives (poll intervals, windows), so that a bad one
    fails where it is written (a DAG file's parse) rather than in a running watcher.
    """
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise TwinInputError(f"{name}: expected a positive number of seconds, got {value!r}")
    return float(value)
