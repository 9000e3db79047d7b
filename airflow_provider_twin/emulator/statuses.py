"""Message status names, numeric codes and descriptions.

Only ``PENDING`` = 2 and ``DELIVERED`` = 6 are confirmed by a TWIN webhook sample (twin-api.md §3.9).
ASSUMPTION (twin-api.md §7.1): the other codes are arbitrary but stable.
"""

from __future__ import annotations

DELAYED = "DELAYED"
PENDING = "PENDING"
DELIVERED = "DELIVERED"
UNDELIVERED = "UNDELIVERED"
ERROR = "ERROR"
EXPIRED = "EXPIRED"
CANCELLED = "CANCELLED"
PAUSED = "PAUSED"

STATUS_CODES: dict[str, int] = {
    DELAYED: 1,
    PENDING: 2,
    DELIVERED: 6,
    UNDELIVERED: 7,
    ERROR: 8,
    EXPIRED: 9,
    CANCELLED: 10,
    PAUSED: 11,
}

STATUS_DESCRIPTIONS: dict[str, str] = {
    DELAYED: "Waiting for the scheduled send time",
    PENDING: "Accepted, waiting for the delivery report",
    DELIVERED: "Delivered",
    UNDELIVERED: "Not delivered to the recipient",
    ERROR: "Delivery failed with an error",
    EXPIRED: "Validity period expired before delivery",
    CANCELLED: "Cancelled before sending",
    PAUSED: "Paused",
}

#: Outcomes a channel attempt can end with (configurable through settings).
FINAL_OUTCOMES: tuple[str, ...] = (DELIVERED, UNDELIVERED, ERROR, EXPIRED)

#: Every status that never changes again.
FINAL_STATUSES: frozenset[str] = frozenset((*FINAL_OUTCOMES, CANCELLED))

ALL_STATUSES: tuple[str, ...] = tuple(STATUS_CODES)
