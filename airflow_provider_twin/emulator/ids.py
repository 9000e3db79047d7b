"""UUID-shaped identifiers that are cheap to create and to look up.

The real TWIN API hands out UUIDs for message, flow, bulk and group ids. The emulator creates tens of
thousands of them per second, so instead of calling :func:`uuid.uuid4` for each one it combines a
random, per-generator prefix (version 4, RFC 4122 variant) with a counter in the last 48 bits. The
result is a valid, unique UUID string, and the counter can be recovered from it to find a record in a
plain list without a string-keyed index.
"""

from __future__ import annotations

import re
import secrets
import uuid

_MASK = (1 << 48) - 1
# An odd multiplier is invertible modulo 2**48, so the mixing below is a bijection.
_MULTIPLIER = 0x9E3779B97F4B & _MASK | 1
_INVERSE = pow(_MULTIPLIER, -1, 1 << 48)
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(value: object) -> bool:
    """Return True when ``value`` is a string in canonical 8-4-4-4-12 UUID form."""
    return isinstance(value, str) and _UUID_RE.match(value) is not None


def random_uuid() -> str:
    """Return a fresh random UUID string (for ids created rarely, e.g. chat sessions)."""
    return str(uuid.uuid4())


class IdGenerator:
    """Create UUID-shaped ids ``<random prefix>-<12 hex digits>`` and parse them back.

    The last 12 hex digits are the counter mixed with a per-generator key (a bijection), so ids look
    random to clients, which must not rely on their order, while staying cheap to decode.
    """

    __slots__ = ("_counter", "_key", "prefix")

    def __init__(self) -> None:
        # The first 24 characters of a random UUID4 keep its version and variant nibbles.
        self.prefix = str(uuid.uuid4())[:24]
        self._key = secrets.randbits(48)
        self._counter = 0

    @property
    def last(self) -> int:
        """The counter value of the most recently created id (0 before the first one)."""
        return self._counter

    def next_number(self) -> int:
        """Advance the counter and return its new value."""
        self._counter += 1
        return self._counter

    def format(self, number: int) -> str:
        """Render the id string for counter value ``number``."""
        return f"{self.prefix}{((number * _MULTIPLIER) & _MASK) ^ self._key:012x}"

    def new(self) -> str:
        """Return a new id string."""
        return self.format(self.next_number())

    def parse(self, value: str) -> int | None:
        """Return the counter value encoded in ``value`` or None when it was not made by this generator."""
        if len(value) != 36 or not value.startswith(self.prefix):
            return None
        try:
            mixed = int(value[24:], 16)
        except ValueError:
            return None
        return ((mixed ^ self._key) * _INVERSE) & _MASK
