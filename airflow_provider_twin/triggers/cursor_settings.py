"""A watcher cursor's settings, checked: the Variable it lives in and its commit delay.

See :mod:`.event_cursor` for what the cursor keeps and when it stores it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_twin.client import TwinInputError

#: The prefix of every cursor Variable: ``twin_events.<cursor_name or digest>``.
VARIABLE_PREFIX = "twin_events."
#: Default seconds between yielding an event and storing its id (see :mod:`.event_cursor`).
DEFAULT_COMMIT_DELAY = 5.0
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")


def cursor_variable(cursor_name: str | None, twin_conn_id: str, source: str, flt: Mapping[str, Any]) -> str:
    """The Variable holding a watcher's cursor: ``twin_events.<cursor_name>``, or a digest.

    The digest (16 hex digits of SHA-256) covers the connection id, the source (``messages``,
    ``chat``) and the filter's JSON, so the same watcher finds its cursor after a restart or a
    DAG edit that leaves its filter alone, and a changed filter starts afresh.

    :raises TwinInputError: a ``cursor_name`` that is empty, too long or not made of letters,
        digits, ``_``, ``.`` and ``-``.
    """
    if cursor_name is not None:
        if not isinstance(cursor_name, str) or not _NAME.match(cursor_name):
            raise TwinInputError(
                f"cursor_name: expected 1-200 letters, digits, '_', '.' or '-', got {cursor_name!r}"
            )
        return VARIABLE_PREFIX + cursor_name
    identity = json.dumps([twin_conn_id, source, flt], sort_keys=True, separators=(",", ":"))
    return VARIABLE_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:16]


def check_commit_delay(commit_delay: Any) -> float:
    """``commit_delay`` as seconds, refusing a negative or non-numeric value (naming the field)."""
    if isinstance(commit_delay, bool) or not isinstance(commit_delay, (int, float)) or not commit_delay >= 0:
        raise TwinInputError(f"commit_delay: expected seconds >= 0, got {commit_delay!r}")
    return float(commit_delay)


__all__ = ["DEFAULT_COMMIT_DELAY", "VARIABLE_PREFIX", "check_commit_delay", "cursor_variable"]
