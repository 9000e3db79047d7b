"""Which messages a delivery check watches, read from operator arguments or a send summary.

Ids travel in the query string of ``GET /messages``, so they go :data:`IDS_PER_REQUEST` per
request: a request line stays under 4 KB, below the 8 KB many proxies allow.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_twin.client.core.calls import comma_list
from airflow_provider_twin.client.core.errors import TwinInputError

#: The ways to name the messages to watch, and the ``GET /messages`` filter each one uses.
TARGET_KINDS: dict[str, str] = {
    "bulk_ids": "bulk_ids",
    "group_ids": "group_ids",
    "message_ids": "ids",
    "flow_ids": "flow_ids",
}

#: Ids of one kind sent in one request: keeps the query string well under common URL limits.
IDS_PER_REQUEST = 100


def _rendered(text: str) -> Any:
    """What a template rendered as text: JSON, or the Python literal ``str()`` gives of a value."""
    try:
        return json.loads(text)
    except ValueError:
        return ast.literal_eval(text)


def read_ids(name: str, value: Any) -> list[str]:
    """The ids in ``value``, in order: a list, one id, a comma-separated string or a rendered list.

    A rendered list (``"['a', 'b']"`` or JSON) is what a Jinja template makes of a list unless
    the DAG renders native objects, so it is read as the list rather than as one odd id.
    Items of a list may themselves be comma-separated; None gives no ids.

    :param name: the argument the ids came from, named in the error.
    :raises TwinInputError: when ``value`` holds something other than ids.
    """
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") or text.endswith("]"):  # a rendered list, whole or cut short
            try:
                parsed = _rendered(text)
            except (ValueError, SyntaxError):
                raise TwinInputError(f"{name}: cannot read a list of ids from {value!r}") from None
            return read_ids(name, parsed)
        return comma_list(text)
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        ids: list[str] = []
        for item in value:
            if not isinstance(item, (str, int)) or isinstance(item, bool):
                raise TwinInputError(f"{name}: ids must be strings, got {item!r}")
            ids.extend(comma_list(str(item)))
        return ids
    raise TwinInputError(f"{name}: expected a list of ids, got {type(value).__name__}")


def _count(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TwinInputError(f"{name}: expected a number of messages, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise TwinInputError(f"{name}: expected a number of messages, got {value!r}") from None
    if number < 0 or number != float(value):
        raise TwinInputError(f"{name}: expected a whole number >= 0, got {value!r}")
    return number


@dataclass(frozen=True)
class Targets:
    """The messages to watch: exactly one kind of id, and optionally how many destinations.

    :param kind: one of :data:`TARGET_KINDS`.
    :param ids: the ids, in order, without duplicates.
    :param expected_total: how many destinations (flows) the targets hold once TWIN lists them
        all. The status is not "done" before TWIN lists that many, and with it fallback
        attempts are counted per destination (see :mod:`.verdict`).
    """

    kind: str
    ids: tuple[str, ...]
    expected_total: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise TwinInputError(f"unknown target kind {self.kind!r}; use one of {', '.join(TARGET_KINDS)}")
        if not self.ids:
            raise TwinInputError(f"{self.kind}: no ids to watch")
        if self.expected_total is not None and self.expected_total < 0:
            raise TwinInputError("expected_total must not be negative")

    @classmethod
    def of(
        cls,
        *,
        bulk_ids: Any = None,
        group_ids: Any = None,
        message_ids: Any = None,
        flow_ids: Any = None,
        expected_total: Any = None,
    ) -> Targets:
        """Targets from operator-style arguments; exactly one kind of id must be given."""
        given = {
            kind: read_ids(kind, value)
            for kind, value in (
                ("bulk_ids", bulk_ids),
                ("group_ids", group_ids),
                ("message_ids", message_ids),
                ("flow_ids", flow_ids),
            )
        }
        present = {kind: ids for kind, ids in given.items() if ids}
        if len(present) != 1:
            what = ", ".join(present) if present else "none was given (or the lists are empty)"
            raise TwinInputError(
                f"give exactly one of bulk_ids, group_ids, message_ids or flow_ids to watch; got {what}"
            )
        ((kind, ids),) = present.items()
        return cls(kind, tuple(dict.fromkeys(ids)), _count("expected_total", expected_total))

    @classmethod
    def from_summary(cls, summary: Any, *, expected_total: Any = None) -> Targets:
        """Targets from the send operator's XCom summary.

        ``{"bulk_ids": [...], "group_id": ..., "accepted": n, ...}``: the bulk ids are watched
        (else the group id(s), message ids or flow ids found in it). More bulk ids than fit one
        request give way to the group id when the summary says the group is the send's own.
        ``expected_total`` is, in order: the argument, the summary's ``expected_total``, its
        ``accepted`` unless the send skipped chunks an earlier try had sent (``skipped`` > 0:
        ``accepted`` then undercounts the bulks), else unknown.

        ASSUMPTION: ``accepted`` counts destinations TWIN took, i.e. flows (twin-api.md §7.8
        answers one batch item per destination).
        """
        if isinstance(summary, str):
            try:
                summary = _rendered(summary)
            except (ValueError, SyntaxError):
                raise TwinInputError("targets: cannot read a send summary from a string") from None
        if not isinstance(summary, Mapping):
            raise TwinInputError(
                f"targets: expected the send summary (a mapping), got {type(summary).__name__}"
            )
        expected = expected_total
        if expected is None:
            expected = summary.get("expected_total")
        if expected is None and not _count("targets['skipped']", summary.get("skipped")):
            # A retried send skips chunks an earlier try sent; ``accepted`` then leaves out
            # their destinations, so it no longer tells how many the bulks hold.
            expected = summary.get("accepted")
        own_group = summary.get("group_id") if summary.get("own_group") is True else None
        for kind, keys in (
            ("bulk_ids", ("bulk_ids", "bulk_id")),
            ("group_ids", ("group_ids", "group_id")),
            ("message_ids", ("message_ids",)),
            ("flow_ids", ("flow_ids",)),
        ):
            ids = [i for key in keys for i in read_ids(f"targets[{key!r}]", summary.get(key))]
            if kind == "bulk_ids" and len(ids) > IDS_PER_REQUEST and own_group:
                # The group holds exactly the send's messages: one id instead of one per chunk
                # keeps a check at one request per count however many chunks the send had.
                group = read_ids("targets['group_id']", own_group)
                return cls("group_ids", tuple(group), _count("expected_total", expected))
            if ids:
                return cls(kind, tuple(dict.fromkeys(ids)), _count("expected_total", expected))
        raise TwinInputError(
            "targets: the summary names no bulk_ids, group_id, message_ids or flow_ids to watch"
        )

    @classmethod
    def given(cls, summary: Any = None, *, expected_total: Any = None, **ids: Any) -> Targets:
        """Targets from a send summary when one is given, else from the id arguments (:meth:`of`)."""
        if summary is not None:
            return cls.from_summary(summary, expected_total=expected_total)
        return cls.of(expected_total=expected_total, **ids)

    @staticmethod
    def check_arguments(summary: Any = None, **ids: Any) -> None:
        """Refuse, before templates are rendered, arguments that cannot name one set of messages.

        A send summary excludes ids (empty id arguments aside); without one, some id must be given.
        """
        unset = [
            value is None or (isinstance(value, (str, list, tuple)) and not value) for value in ids.values()
        ]
        if summary is not None and not all(unset):
            raise TwinInputError(
                "give either targets (a send summary) or bulk_ids/group_ids/message_ids/flow_ids, not both"
            )
        if summary is None and all(value is None for value in ids.values()):
            raise TwinInputError(
                "give targets (a send summary) or one of bulk_ids, group_ids, message_ids, flow_ids"
            )

    @property
    def destinations(self) -> int | None:
        """How many destinations the targets hold, when it is known."""
        if self.expected_total is not None:
            return self.expected_total
        if self.kind in ("message_ids", "flow_ids"):
            return len(self.ids)
        return None

    def filters(self) -> list[dict[str, Any]]:
        """``GET /messages`` filter sets that together cover the targets (ids split per request)."""
        name = TARGET_KINDS[self.kind]
        return [{name: list(chunk)} for chunk in id_chunks(self.ids)]

    def describe(self) -> str:
        """Short description for logs: ``bulk 7f3e… (+2 more)``."""
        noun = {"bulk_ids": "bulk", "group_ids": "group", "message_ids": "message", "flow_ids": "flow"}
        more = f" (+{len(self.ids) - 1} more)" if len(self.ids) > 1 else ""
        return f"{noun[self.kind]} {self.ids[0]}{more}"

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form (for trigger serialization and the XCom result)."""
        return {self.kind: list(self.ids), "expected_total": self.expected_total}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Targets:
        """Inverse of :meth:`to_json`."""
        kinds = [kind for kind in TARGET_KINDS if data.get(kind)]
        if len(kinds) != 1:
            raise TwinInputError(
                f"serialized targets must name exactly one kind of id, got {', '.join(kinds) or 'none'}"
            )
        return cls(kinds[0], tuple(data[kinds[0]]), _count("expected_total", data.get("expected_total")))


def id_chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    """``ids`` in order, :data:`IDS_PER_REQUEST` per chunk: one request each."""
    return [ids[i : i + IDS_PER_REQUEST] for i in range(0, len(ids), IDS_PER_REQUEST)]
