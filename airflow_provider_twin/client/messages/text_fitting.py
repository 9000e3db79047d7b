"""Fit a notification text into an SMS budget or a messenger's length limit.

An alert must arrive, cheaply and in one piece people can read: a stack trace pasted into a
text message would be split into a dozen SMS parts (each billed) or refused. So texts are
cut, at a word boundary when one is near, with a visible :data:`TRUNCATION_MARKER`.

SMS sizing (GSM 03.38 / 3GPP 23.040):

* A text made only of printable ASCII (except the backtick) is sent in the 7-bit GSM
  alphabet: 160 characters in one SMS, 153 per part once it is split. ``^ { } [ ] ~ | \\``
  take two of those places (an escape plus the character).
* Any other character (Cyrillic, accented letters, emoji, the backtick) switches the whole
  text to UCS-2: 70 UTF-16 units in one SMS, 67 per part; an emoji takes two units.
  Accented letters that GSM-7 does have are counted as UCS-2 on purpose: some routes send
  them that way, and over-estimating only cuts a text a little early.
* One unit is kept spare at every boundary between two parts, because an escape sequence or
  a surrogate pair is never split across parts.

With the default budget of 3 parts, an SMS holds up to 457 ASCII characters or 199
characters of Cyrillic text. Other channels are cut by plain length (default 4000
characters, below Telegram's and WhatsApp's 4096).

Pure: no Airflow, no I/O.
"""

from __future__ import annotations

from typing import Literal

#: Appended to a text that was cut: plain GSM-7 characters (no escapes), so it never forces
#: an SMS into UCS-2 and costs exactly its length.
TRUNCATION_MARKER = " (truncated)"

#: Default SMS budget of a notification, in parts.
DEFAULT_SMS_PARTS = 3
#: Default length limit of a notification on non-SMS channels, in characters.
DEFAULT_MAX_LENGTH = 4000
#: Smallest accepted length limit: room for some text besides the marker.
MIN_MAX_LENGTH = 40
#: Largest accepted SMS budget (longer concatenated SMS are unreliable on many networks).
MAX_SMS_PARTS = 10

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

Encoding = Literal["GSM-7", "UCS-2"]

_GSM7_EXTENSION = frozenset("^{}\\[~]|")
_GSM7_ASCII = (frozenset(chr(code) for code in range(32, 127)) - {"`"}) | {"\n", "\r"}


#: A cut moves back to the last space when one is this close, rather than split a word.
WORD_BOUNDARY_WINDOW = 20


def _cut(text: str, end: int, marker: str) -> str:
    """``text[:end]``, moved back to a word boundary when one is near, plus ``marker``."""
    head = text[:end]
    if end < len(text) and not text[end].isspace():
        space = head.rfind(" ", max(0, end - WORD_BOUNDARY_WINDOW))
        if space > 0:
            head = head[:space]
    return head.rstrip() + marker


def sms_encoding(text: str) -> Encoding:
    """``GSM-7`` when every character is in the GSM-7 ASCII subset, else ``UCS-2``."""
    return "GSM-7" if all(char in _GSM7_ASCII for char in text) else "UCS-2"


def _unit_cost(char: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if char in _GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def sms_units(text: str, encoding: Encoding | None = None) -> int:
    """Length of ``text`` in SMS units: GSM-7 septets or UCS-2 (UTF-16) units."""
    encoding = encoding or sms_encoding(text)
    return sum(_unit_cost(char, encoding) for char in text)


def sms_capacity(parts: int, encoding: Encoding) -> int:
    """How many units fit in ``parts`` SMS parts, keeping one spare unit per boundary."""
    single, per_part = (GSM7_SINGLE, GSM7_PART) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_PART)
    if parts <= 1:
        return single
    return parts * per_part - (parts - 1)


def sms_parts(text: str) -> int:
    """How many SMS parts ``text`` needs (at least 1), by the rules of this module."""
    encoding = sms_encoding(text)
    units = sms_units(text, encoding)
    parts = 1
    while units > sms_capacity(parts, encoding):
        parts += 1
    return parts


def fit_sms(text: str, max_parts: int = DEFAULT_SMS_PARTS, marker: str = TRUNCATION_MARKER) -> str:
    """``text`` unchanged when it fits in ``max_parts`` SMS parts, else cut and marked.

    The cut keeps the encoding of the whole text, so the result never needs more parts than
    allowed, even when the character that forced UCS-2 was cut away.
    """
    encoding = sms_encoding(text)
    capacity = sms_capacity(max_parts, encoding)
    if sms_units(text, encoding) <= capacity:
        return text
    budget = capacity - sms_units(marker, encoding)
    used = 0
    end = 0
    for index, char in enumerate(text):
        cost = _unit_cost(char, encoding)
        if used + cost > budget:
            break
        used += cost
        end = index + 1
    return _cut(text, end, marker)


def truncate(text: str, max_length: int = DEFAULT_MAX_LENGTH, marker: str = TRUNCATION_MARKER) -> str:
    """``text`` unchanged when it has at most ``max_length`` characters, else cut and marked."""
    if len(text) <= max_length:
        return text
    return _cut(text, max(0, max_length - len(marker)), marker)
