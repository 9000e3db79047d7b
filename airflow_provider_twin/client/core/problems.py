"""Problems found by local validation, collected for one error that lists them all.

Every domain checks its input before any request and reports every problem at once, so a
bad request is fixed in one round trip. Inputs can be huge (a million-recipient file), so the
collection keeps only the first problems and counts the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_twin.client.core.errors import TwinInputError

#: How many problems an error message lists before it says "... and N more".
MAX_LISTED_PROBLEMS = 20
#: How many characters of a bad value a problem line quotes.
SHOWN_LENGTH = 60


def shown(value: Any) -> str:
    """A short, log-safe rendering of a bad value, for a problem line."""
    text = repr(value)
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 3] + "..."


class Problems:
    """Collects problems without growing without bound: keeps the first few, counts the rest.

    Validation of a million-recipient file must not keep a million messages in memory.
    """

    def __init__(self, keep: int = MAX_LISTED_PROBLEMS) -> None:
        self.keep = keep
        self.first: list[str] = []
        self.count = 0

    def add(self, problem: str) -> None:
        """Record one problem."""
        self.count += 1
        if len(self.first) < self.keep:
            self.first.append(problem)

    def extend(self, problems: Iterable[str]) -> None:
        """Record several problems."""
        for problem in problems:
            self.add(problem)

    def __bool__(self) -> bool:
        return self.count > 0

    def lines(self) -> list[str]:
        """The kept problems, then ``... and N more`` when some were only counted."""
        more = self.count - len(self.first)
        return [*self.first, f"... and {more} more"] if more > 0 else list(self.first)

    def error(self, what: str, *, outcome: str = "nothing was sent", source: str = "") -> TwinInputError:
        """A :class:`TwinInputError` listing the problems, e.g. ``what="recipients"``.

        :param outcome: what the caller did about them, said after the count ("" for nothing).
        :param source: who found them, said first (e.g. ``TwinNotifier``).
        """
        noun = "problem" if self.count == 1 else "problems"
        head = f"{source}: " if source else ""
        tail = f"; {outcome}" if outcome else ""
        lines = self.lines()
        return TwinInputError(
            f"{head}{self.count} {noun} in {what}{tail}:\n" + "\n".join(f"- {line}" for line in lines),
            problems=lines,
        )

    def inline_error(self, what: str) -> TwinInputError:
        """A :class:`TwinInputError` listing the problems on one line: ``what: a; b; ...``."""
        lines = self.lines()
        return TwinInputError(f"{what}: " + "; ".join(lines), problems=lines)


__all__ = ["MAX_LISTED_PROBLEMS", "Problems", "shown"]
