"""Message statuses as a stream of events: "every UNDELIVERED message of group X".

A :class:`MessageEventFilter` names the messages (bulk, group or flow ids, channels, created
within a window) and the statuses to report. :func:`message_events` lists them (``GET
/messages``, twin-api.md §3.3) and turns each listed message into one :class:`~..core.twin_events.TwinEvent`
(:func:`message_status_event`) whose id, ``message:<messageId>:<STATUS>``, is the one a
``callbackUrl`` webhook reporting the same status gives: a source that hears the same fact
twice, or two sources that hear it, emit one event once the cursor (:class:`~..core.twin_events.SeenEvents`)
has seen it.

Cost
----
TWIN's ``status`` and ``channel`` filters take one value each (twin-api.md §3.3; see
:mod:`.status`), so a poll makes one listing per status and channel, ids going
:data:`~.targets.IDS_PER_REQUEST` per request. A listing pages :data:`~.api.MAX_PAGE_SIZE`
messages per request: a poll costs about one request per 1,000 matching messages (at least one
per listing), whether they were reported before or not, since TWIN offers no "changed since"
filter. ``created_within_seconds`` bounds that cost; without ids it is required.

A message whose status changes while a listing pages through it may shift a later page and be
missed by that poll; a final status (``DELIVERED``, ``UNDELIVERED``...) stays, so the next poll
reports it. A passing status (``PENDING``, ``SENT``...) is reported only if a poll lists the
message while it holds it: one shorter than the poll interval, or shifted out of a poll's pages,
may never be. TWIN pages by offset and documents no stable order (``sort`` and
``offsetField``/``offsetValue`` have no documented semantics, twin-api.md §1.2), so the listing
cannot be made immune; status webhooks report every change.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any

from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.calls import ApiCall, comma_list, next_page
from airflow_provider_twin.client.core.deadlines import positive_seconds
from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.core.flows import Gather, Procedure
from airflow_provider_twin.client.core.twin_events import MESSAGE_STATUS, TwinEvent
from airflow_provider_twin.client.messages import api as notify
from airflow_provider_twin.client.messages.models import MessagePage
from airflow_provider_twin.client.messages.targets import id_chunks

#: The time of a status: TWIN's field that says when the message reached it (else ``sentAt``,
#: else ``createdAt``).
STATUS_TIME_FIELDS: dict[str, str] = {"DELIVERED": "deliveredAt", "EXPIRED": "expiredAt"}

#: The id filters of a :class:`MessageEventFilter` and the ``GET /messages`` filter each one sets.
ID_FILTERS: dict[str, str] = {"bulk_ids": "bulk_ids", "group_ids": "group_ids", "flow_ids": "flow_ids"}

#: The fields of a listed message a status event carries (ids and status; never addresses or texts).
PAYLOAD_FIELDS: tuple[str, ...] = ("id", "bulkId", "groupId", "flowId", "channel", "status", "statusCode")


def _texts(name: str, value: Any, *, upper: bool = False) -> tuple[str, ...]:
    """``value`` as a tuple of non-empty strings without duplicates (a string may be comma-separated).

    :raises TwinInputError: naming ``name`` (and the index) for a value that is not a non-empty
        string.
    """
    if value is None:
        return ()
    items = comma_list(value) if isinstance(value, str) else value
    if isinstance(items, Mapping) or not isinstance(items, Iterable):
        raise TwinInputError(f"{name}: expected a list of strings, got {type(value).__name__}")
    result: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise TwinInputError(f"{name}[{index}]: expected a non-empty string, got {item!r}")
        result.append(item.strip().upper() if upper else item.strip())
    return tuple(dict.fromkeys(result))


#: Strings as a caller gives them: one (maybe comma-separated) or any iterable.
Texts = str | Iterable[str] | None


@dataclass(frozen=True, init=False)
class MessageEventFilter:
    """Which message statuses a stream reports; checked when built (:meth:`validate`).

    :param statuses: the statuses to report (``UNDELIVERED``...), upper-cased; required. A
        status TWIN adds later is reported like any other.
    :param bulk_ids: only messages of these bulks (likewise ``group_ids``, ``flow_ids``); kinds
        given together must all match.
    :param channels: only messages sent over these channels (``sms``, ``viber``...).
    :param created_within_seconds: only messages created this many seconds before a poll;
        required when no ids are given, so that a listing is bounded.
    """

    statuses: tuple[str, ...]
    bulk_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    flow_ids: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    created_within_seconds: float | None = None

    def __init__(
        self,
        statuses: Texts,
        *,
        bulk_ids: Texts = None,
        group_ids: Texts = None,
        flow_ids: Texts = None,
        channels: Texts = None,
        created_within_seconds: float | None = None,
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "statuses", _texts("statuses", statuses, upper=True))
        for name, value in (
            ("bulk_ids", bulk_ids),
            ("group_ids", group_ids),
            ("flow_ids", flow_ids),
            ("channels", channels),
        ):
            set_field(self, name, _texts(name, value))
        set_field(self, "created_within_seconds", created_within_seconds)
        self.validate()

    def validate(self) -> None:
        """Refuse a filter that names no status, or lists messages without bound.

        :raises TwinInputError: naming the field.
        """
        if not self.statuses:
            raise TwinInputError("statuses: name at least one message status to report (e.g. 'UNDELIVERED')")
        window = self.created_within_seconds
        if window is not None:
            positive_seconds("created_within_seconds", window)
        if window is None and not self.has_ids:
            raise TwinInputError(
                "created_within_seconds: required when no bulk_ids, group_ids or flow_ids are given "
                "(it bounds what each poll lists)"
            )

    @property
    def has_ids(self) -> bool:
        return any(getattr(self, name) for name in ID_FILTERS)

    def to_json(self) -> dict[str, Any]:
        """JSON values (lists), the same for equal filters: a trigger's kwargs, a cursor's key."""
        return {
            field.name: (list(value) if isinstance(value, tuple) else value)
            for field in fields(self)
            for value in [getattr(self, field.name)]
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> MessageEventFilter:
        """Inverse of :meth:`to_json` (a JSON string of it is read too)."""
        values = json.loads(data) if isinstance(data, str) else data
        if not isinstance(values, Mapping):
            raise TwinInputError(f"message event filter: expected an object, got {type(values).__name__}")
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TwinInputError(f"message event filter: unknown field(s) {', '.join(unknown)}")
        if "statuses" not in values:
            raise TwinInputError("statuses: name at least one message status to report (e.g. 'UNDELIVERED')")
        return cls(**values)

    def listings(self, now: float) -> list[ApiCall[MessagePage]]:
        """The first page of each listing a poll at ``now`` makes (see Cost in the module doc)."""
        created_from = None
        if self.created_within_seconds is not None:
            since = datetime.fromtimestamp(now - self.created_within_seconds, timezone.utc)
            created_from = since.isoformat(timespec="seconds")
        chunked = [
            [{target: list(chunk)} for chunk in id_chunks(getattr(self, name))]
            for name, target in ID_FILTERS.items()
            if getattr(self, name)
        ]
        id_sets: list[dict[str, Any]] = [
            {key: value for part in combination for key, value in part.items()}
            for combination in itertools.product(*chunked)
        ]
        channels: Sequence[str | None] = self.channels or (None,)
        return [
            notify.list_messages(
                status=status,
                channel=channel,
                created_from=created_from,
                limit=notify.MAX_PAGE_SIZE,
                **ids,
            )
            for status in self.statuses
            for channel in channels
            for ids in id_sets
        ]


def status_time(item: Mapping[str, Any], status: str) -> str:
    """TWIN's time of ``item`` reaching ``status`` (see :data:`STATUS_TIME_FIELDS`); ``""`` if none."""
    for key in (STATUS_TIME_FIELDS.get(status), "sentAt", "createdAt"):
        value = item.get(key) if key else None
        if isinstance(value, str) and value:
            return value
    return ""


def message_status_event(item: Mapping[str, Any], status: str | None = None) -> TwinEvent:
    """The event "message ``id`` reached ``status``" from a ``GET /messages`` item.

    ``status`` is the item's own (else the one asked for). The payload holds ids, channel and
    status only (:data:`PAYLOAD_FIELDS`): no destination, no text.

    :raises TwinInputError: when the item has no message id or no status.
    """
    message_id = item.get("id")
    reached = str(item.get("status") or status or "").strip().upper()
    if not isinstance(message_id, str) or not message_id or not reached:
        raise TwinInputError("a message status event needs the message's id and status")
    payload = {key: item.get(key) for key in PAYLOAD_FIELDS}
    payload["status"] = reached
    when = status_time(item, reached) or datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return TwinEvent(f"message:{message_id}:{reached}", MESSAGE_STATUS, when, payload)


def message_events(flt: MessageEventFilter, now: float) -> Procedure[list[TwinEvent]]:
    """Every listed message of ``flt`` at ``now`` as a status event, each id once, in listing order.

    The listings page together: their first pages at once, then each listing's next page.
    """
    events: dict[str, TwinEvent] = {}
    pending = flt.listings(now)
    while pending:
        pages: list[MessagePage] = yield Gather(pending)
        following: list[ApiCall[MessagePage]] = []
        for call, page in zip(pending, pages, strict=True):
            asked = call.params.get("status")
            for item in page["items"]:
                event = message_status_event(item, asked)
                events.setdefault(event.event_id, event)
            after = next_page(call, page)
            if after is not None:
                following.append(after)
        pending = following
    return list(events.values())


async def poll_message_events(
    client: AsyncTwinClient, flt: MessageEventFilter, now: float | None = None
) -> list[TwinEvent]:
    """:func:`message_events` of ``flt`` now (or at ``now``, seconds since the epoch)."""
    moment = datetime.now(timezone.utc).timestamp() if now is None else now
    return await client.run(message_events(flt, moment))


__all__ = [
    "ID_FILTERS",
    "PAYLOAD_FIELDS",
    "STATUS_TIME_FIELDS",
    "MessageEventFilter",
    "message_events",
    "message_status_event",
    "poll_message_events",
    "status_time",
]
