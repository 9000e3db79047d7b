"""Messages TWIN holds until their send time, and when the next of them goes out.

TWIN keeps a message ``DELAYED`` until its ``sendAt`` or until one of its send windows
(``allowedTimeRanges``) opens (twin-api.md §3.2.2, §3.9, §7.1); a listed message carries its
``sendAt`` (twin-api.md §3.3), or none when only a send window holds it. A wait on such
messages would otherwise only say "n pending" for hours: this module says how many are held,
how many are in flight, and when the next held one is due: as TWIN gives it, with its own UTC
offset (the time the sender set, typically the recipient's local time), and in UTC.

Cost
----
One request per id chunk (:data:`~.targets.IDS_PER_REQUEST` ids), made only by a check that is
not over and still counts pending records (nothing can be held otherwise):
``GET /messages?status=DELAYED`` counts every held record and lists the first
:data:`HELD_PAGE_SIZE` with their ``sendAt``. TWIN's ``sort`` parameter has no documented
semantics (twin-api.md §1.2), so none is sent: the next send time is the earliest ``sendAt`` of
the records listed, and the line says so when more are held than were listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.messages import api as notify
from airflow_provider_twin.client.messages.models import MessagePage
from airflow_provider_twin.client.messages.targets import Targets

#: TWIN's status of a message waiting for its ``sendAt`` or a send window (twin-api.md §3.9).
HELD_STATUS = "DELAYED"

#: Held records listed per id chunk to find the next ``sendAt`` (TWIN's page size cap).
HELD_PAGE_SIZE = notify.MAX_PAGE_SIZE

_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{1,2}):?(\d{2})$")


@dataclass(frozen=True)
class HeldMessages:
    """The held (``DELAYED``) records of a wait's targets.

    :param count: held records, all of them.
    :param listed: held records listed, whose ``sendAt`` was read.
    :param next_send_at: the earliest ``sendAt`` of those listed, if any had one: aware, with the
        UTC offset TWIN gave it (UTC when it gave none).
    """

    count: int = 0
    listed: int = 0
    next_send_at: datetime | None = None

    @property
    def next_send_at_iso(self) -> str | None:
        """:attr:`next_send_at` as ISO-8601 with its own offset (``2026-12-02T09:00:00+08:00``)."""
        return None if self.next_send_at is None else self.next_send_at.isoformat(timespec="seconds")


def held_requests(targets: Targets) -> list[ApiCall[MessagePage]]:
    """The held records of ``targets``, counted and their first page listed (per id chunk)."""
    return [
        notify.list_messages(status=HELD_STATUS, limit=HELD_PAGE_SIZE, **filters)
        for filters in targets.filters()
    ]


def held_from(pages: Iterable[MessagePage]) -> HeldMessages:
    """:class:`HeldMessages` from the answers to :func:`held_requests`."""
    count = listed = 0
    earliest: datetime | None = None
    for page in pages:
        count += int(page["count"])
        items = page["items"]
        listed += len(items)
        for item in items:
            moment = _aware(item.get("sendAt"))
            if moment is not None and (earliest is None or moment < earliest):
                earliest = moment
    return HeldMessages(count=count, listed=min(listed, count), next_send_at=earliest)


def _aware(value: Any) -> datetime | None:
    """A ``sendAt`` value as an aware datetime keeping TWIN's offset; None when absent or unreadable.

    twin-api.md §3.3 types it as a date-time; §7.3 (ASSUMPTION): ISO-8601 with an offset. A value
    without one is read as UTC.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def local_zone(name: str | None) -> tzinfo | None:
    """The time zone called ``name`` (an IANA name such as ``Europe/Berlin``, or ``+03:00``).

    None for no name, UTC, or a name this machine does not know: the times are then shown in
    UTC only.
    """
    if not name or name.strip().upper() in ("UTC", "Z", "ETC/UTC", "GMT"):
        return None
    match = _OFFSET.match(name.strip())
    if match:
        sign = -1 if match.group(1) == "-" else 1
        offset = timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        return None if not offset else timezone(sign * offset)
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _offset_label(offset: timedelta) -> str:
    """``+08:00``, ``-03:30``, ``+05:45``: an offset east (``+``) or west (``-``) of UTC."""
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def moment_text(moment: datetime, zone: tzinfo | None = None) -> str:
    """A moment as given, then in UTC, then in ``zone`` when that says something new.

    ``2026-12-02 09:00 +08:00 (01:00 UTC)`` for ``2026-12-02T09:00:00+08:00``: the clock time
    with its own offset (for a ``sendAt``, the time the sender set, typically the recipient's
    local time), then UTC. ``zone`` (e.g. the DAG's) is added only when its offset at that
    moment differs from both: ``... (01:00 UTC, 02:00 CET)``. A moment in UTC reads
    ``2026-12-02 01:00 UTC``. A date is repeated only where it differs from the first; seconds
    are shown only when they are not zero.
    """
    given = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    pattern = "%H:%M:%S" if given.second else "%H:%M"
    offset = given.utcoffset() or timedelta(0)

    def clock(local: datetime, label: str) -> str:
        day = "" if local.date() == given.date() else f"{local.strftime('%Y-%m-%d')} "
        return f"{day}{local.strftime(pattern)} {label}"

    first = f"{given.strftime('%Y-%m-%d ' + pattern)} {_offset_label(offset) if offset else 'UTC'}"
    others = [] if not offset else [clock(given.astimezone(timezone.utc), "UTC")]
    in_zone = None if zone is None else given.astimezone(zone)
    zone_offset = None if in_zone is None else in_zone.utcoffset()
    if in_zone is not None and zone_offset not in (None, timedelta(0), offset):
        others.append(clock(in_zone, in_zone.tzname() or _offset_label(zone_offset or timedelta(0))))
    return first if not others else f"{first} ({', '.join(others)})"


def held_text(held: HeldMessages, pending_records: int, zone: tzinfo | None = None) -> str:
    """What a progress line says of held messages; empty when none is held.

    ``3 held until their send time, 2 in flight; next send at 2026-12-02 09:00 +08:00 (01:00 UTC)``
    (see :func:`moment_text`; ``zone`` is the wait's, shown only when it adds something). Nothing
    in it changes by itself as time passes, so an equal line means nothing changed.
    """
    if held.count <= 0:
        return ""
    in_flight = max(0, pending_records - held.count)
    text = f"{held.count} held until their send time, {in_flight} in flight"
    if held.next_send_at is None:
        return f"{text}; TWIN gives no send time (held for a send window)"
    when = moment_text(held.next_send_at, zone)
    if held.listed < held.count:
        return f"{text}; next send at {when} (earliest of the {held.listed} held listed)"
    return f"{text}; next send at {when}"
