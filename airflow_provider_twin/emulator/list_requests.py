"""The query string of a list endpoint, read once: its paging and the 422 that refuses a bad value.

The chat API lists sessions and their messages; the admin API dumps messages and sessions and shows
the request log and the publications. Each reads its filters and paging the same way and answers an
invalid parameter with the same 422 body (ASSUMPTION twin-api.md §7.10), so the reading lives here
and one list endpoint cannot drift from the others in how it pages or how it refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response

from .clock import parse_filter_bound
from .query_params import DEFAULT_LIMIT, MAX_LIMIT, Query
from .responses import validation_error

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """The query of a list call and the window of items it asks for (``limit`` items from ``offset``)."""

    query: Query
    limit: int
    offset: int

    def window(self, items: Sequence[T]) -> Sequence[T]:
        """The items of ``items`` this page shows."""
        return items[self.offset : self.offset + self.limit]


def time_bounds(query: Query) -> tuple[float | None, float | None] | Response:
    """The ``from``/``to`` filters (ISO date or date-time, inclusive; sessions: on ``startedAt``,
    messages and send jobs: on ``createdAt``), or the 422 naming each one that is not a date."""
    bounds: list[float | None] = []
    details: dict[str, list[str]] = {}
    for key, upper in (("from", False), ("to", True)):
        text = query.text(key)
        bound = parse_filter_bound(text, upper=upper) if text else None
        if text and bound is None:
            details[key] = ["Must be an ISO-8601 date or date-time."]
        bounds.append(bound)
    if details:
        return validation_error(details)
    return bounds[0], bounds[1]


def query_refusal(query: Query) -> Response | None:
    """The 422 naming every invalid parameter ``query`` has read so far, or None when all were valid."""
    return validation_error(query.errors) if query.errors else None


def read_page(
    request: Request, *, default_limit: int = DEFAULT_LIMIT, max_limit: int = MAX_LIMIT
) -> Page | Response:
    """The query of ``request`` with its paging (see :meth:`Query.paging`), or the 422 refusing it."""
    query = Query(request.query_params)
    limit, offset = query.paging(default_limit, max_limit)
    refused = query_refusal(query)
    return refused if refused is not None else Page(query, limit, offset)
