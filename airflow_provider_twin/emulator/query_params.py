"""Parsing of list-endpoint query strings: comma lists, PHP-style arrays, booleans, paging."""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.datastructures import QueryParams

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
_ARRAY_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[[^\]]*\]$")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class QueryError(ValueError):
    """A query parameter has an invalid value."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__(str(details))
        self.details = details


class Query:
    """Query parameters with every ``key=a,b``, repeated ``key=`` and ``key[0]=`` form merged to lists.

    TWIN's PHP SDK sends arrays as ``key[0]=a&key[1]=b`` and documents comma-separated lists
    (twin-api.md §1.2); both arrive here as ``["a", "b"]``.
    """

    def __init__(self, params: QueryParams) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in params.multi_items():
            match = _ARRAY_KEY.match(key)
            name = match.group(1) if match else key
            self._values.setdefault(name, []).append(value)
        self.errors: dict[str, list[str]] = {}

    def raise_errors(self) -> None:
        if self.errors:
            raise QueryError(self.errors)

    def _error(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def text(self, key: str) -> str | None:
        values = self._values.get(key)
        if not values:
            return None
        return values[-1]

    def csv(self, key: str) -> list[str] | None:
        """A comma-separated list (None when absent or empty)."""
        values = self._values.get(key)
        if not values:
            return None
        items = [part.strip() for value in values for part in value.split(",")]
        items = [item for item in items if item]
        return items or None

    def upper_set(self, key: str) -> frozenset[str] | None:
        items = self.csv(key)
        return None if items is None else frozenset(item.upper() for item in items)

    def flag(self, key: str) -> bool:
        value = self.text(key)
        if value is None:
            return False
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered not in _FALSE:
            self._error(key, "Must be one of 1, 0, true, false.")
        return False

    def integer(self, key: str, default: int, minimum: int, maximum: int | None = None) -> int:
        """An integer clamped to ``maximum`` (ASSUMPTION twin-api.md §7.11: a larger limit is capped)."""
        value = self.text(key)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            self._error(key, "Must be an integer.")
            return default
        if number < minimum:
            self._error(key, f"Must be >= {minimum}.")
            return default
        if maximum is not None and number > maximum:
            return maximum
        return number

    def paging(self, default_limit: int = DEFAULT_LIMIT, max_limit: int = MAX_LIMIT) -> tuple[int, int]:
        """``(limit, offset)``; ``page`` (1-based) is honoured when ``offset`` is absent."""
        limit = self.integer("limit", default_limit, 1, max_limit)
        offset = self.integer("offset", 0, 0)
        if self.text("offset") in (None, ""):
            page = self.integer("page", 1, 1)
            offset = (page - 1) * limit
        return limit, offset


def lowered(items: Iterable[str] | None) -> list[str] | None:
    return None if items is None else [item.lower() for item in items]
