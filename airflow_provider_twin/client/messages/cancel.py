"""Cancel delayed messages by message, bulk, group or flow ids, and tally what TWIN did.

Cancelling is idempotent: a message already cancelled or already sent is not an error, it is
counted as cancelled or as not cancellable. Kinds of ids are cancelled in separate requests
(TWIN combines the filters of one request with AND), so giving ``bulk_ids`` and ``group_ids``
cancels the union, each message counted once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_twin.client.core.flows import Procedure
from airflow_provider_twin.client.messages import api as notify
from airflow_provider_twin.client.messages.models import CancelItem
from airflow_provider_twin.client.messages.targets import TARGET_KINDS, read_ids

#: Statuses TWIN gives a message it cancelled (twin-api.md §7.1-§7.2; both spellings accepted).
CANCELLED_STATUSES = frozenset({"CANCELLED", "CANCELED"})
#: The kinds of ids, in the order they are cancelled.
CANCEL_KINDS = ("message_ids", "bulk_ids", "group_ids", "flow_ids")
#: Items answered with an error that the result lists.
MAX_LISTED_ERRORS = 100


def read_cancel_targets(**given: Any) -> dict[str, list[str]]:
    """The ids of each kind (:data:`CANCEL_KINDS`), read as :func:`~.targets.read_ids` reads
    them, each id once.

    :raises TwinInputError: when a value holds something other than ids.
    """
    return {kind: list(dict.fromkeys(read_ids(kind, given.get(kind)))) for kind in CANCEL_KINDS}


@dataclass
class CancelTally:
    """Running totals of a cancel.

    :param max_message_ids: cap of the cancelled message ids kept for the result.
    :param once: count each message id once (several kinds may match the same message).
    """

    max_message_ids: int = 1000
    once: bool = False
    requests: int = 0
    matched: int = 0
    cancelled: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, Any]] = field(default_factory=list)
    cancelled_ids: list[str] = field(default_factory=list)
    truncated: bool = False
    _seen: set[str] = field(default_factory=set)

    def add(self, items: Sequence[CancelItem]) -> None:
        """Account for TWIN's answer to one cancel request."""
        self.requests += 1
        for item in items:
            item_id = item.get("id")
            if self.once and item_id:
                if item_id in self._seen:
                    continue
                self._seen.add(item_id)
            self.matched += 1
            status = str(item.get("status") or "UNKNOWN").upper()
            self.statuses[status] += 1
            if item.get("error"):
                if len(self.errors) < MAX_LISTED_ERRORS:
                    self.errors.append({"id": item_id, "status": status, "error": item["error"]})
            elif status in CANCELLED_STATUSES:
                self.cancelled += 1
                if item_id and len(self.cancelled_ids) < self.max_message_ids:
                    self.cancelled_ids.append(item_id)
                elif item_id:
                    self.truncated = True

    def result(self, requested: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """The JSON result of the cancel (the cancel operator's XCom)."""
        return {
            "requested": {kind: len(requested.get(kind, ())) for kind in CANCEL_KINDS},
            "requests": self.requests,
            "matched": self.matched,
            "cancelled": self.cancelled,
            "not_cancellable": self.matched - self.cancelled,
            "statuses": dict(sorted(self.statuses.items())),
            "errors": list(self.errors),
            "cancelled_message_ids": list(self.cancelled_ids),
            "cancelled_message_ids_truncated": self.truncated,
        }


def cancel_delayed(
    requested: Mapping[str, Sequence[str]], *, max_ids_per_request: int = 100, max_message_ids: int = 1000
) -> Procedure[dict[str, Any]]:
    """The procedure cancelling every message the ids name (see :func:`read_cancel_targets`);
    perform it with ``client.run(...)``. Returns :meth:`CancelTally.result`."""
    kinds = [kind for kind in CANCEL_KINDS if requested.get(kind)]
    tally = CancelTally(max_message_ids, once=len(kinds) > 1)
    for kind in kinds:
        ids = requested[kind]
        for start in range(0, len(ids), max_ids_per_request):
            batch = ids[start : start + max_ids_per_request]
            items = yield notify.cancel_messages(**{TARGET_KINDS[kind]: batch})
            tally.add(items)
    return tally.result(requested)
