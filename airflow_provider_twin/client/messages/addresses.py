"""How a recipient is addressed: phone numbers, e-mail addresses and platform ids, normalised.

Said once here, relied upon everywhere (the send operator, the notifier, raw messages):

* ``phone``: ``+``, spaces, dashes and parentheses are removed; what is left must be 10-15
  digits (international format with country code, as TWIN expects, e.g. ``79991234567``):
  :func:`~..core.phones.normalize_phone`, which the chat domain uses too.
* ``email``: trimmed; must look like ``local@domain.tld`` (no spaces, one ``@``, a dot in the
  domain, at most 254 characters) and hold no invisible character (zero-width spaces and
  joiners, soft hyphens, byte-order marks, control characters, blank fillers: what
  :func:`has_invisible` finds), which a copy from a document often brings along and a mail
  server would refuse or misroute. Deliverability is not checked.
* ids (``clientId``, ``externalId``, ``messengerUserId``, ``pushRegistrationId``,
  ``platform``): trimmed strings (a number is read as its digits).
"""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_twin.client.core.phones import (
    MAX_PHONE_DIGITS,
    MIN_PHONE_DIGITS,
    PHONE_DELETED,
    normalize_phone,
)
from airflow_provider_twin.client.core.problems import Problems, shown

MAX_EMAIL_LENGTH = 254
#: TWIN's limit of an external id (twin-api.md §3.2.6).
MAX_EXTERNAL_ID_BYTES = 10240

_EMAIL_MATCH = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+").fullmatch


#: Blank characters that Unicode counts as printable letters or symbols (Hangul fillers, the
#: blank Braille pattern): invisible all the same.
INVISIBLE_LETTERS = "\u115f\u1160\u3164\uffa0\u2800"


def has_invisible(text: str) -> bool:
    """Whether ``text`` holds a character a reader cannot see: a format or control character
    (zero-width space U+200B, word joiner, soft hyphen, BOM...), a separator other than the
    ASCII space, or one of :data:`INVISIBLE_LETTERS`."""
    return not text.isprintable() or any(char in text for char in INVISIBLE_LETTERS)


def normalize_email(value: Any) -> str | None:
    """The trimmed address, or None when it does not look like an e-mail address."""
    if type(value) is not str:
        return None
    address = value.strip()
    if len(address) > MAX_EMAIL_LENGTH or _EMAIL_MATCH(address) is None or address.index("@") > 64:
        return None
    return None if has_invisible(address) else address


def read_address(key: str, value: Any, where: str, problems: Problems) -> str | None:
    """One normalised destination field of a recipient, or None after recording a problem."""
    if key == "phone":
        phone = normalize_phone(value)
        if phone is None:
            problems.add(
                f"{where}.phone: {shown(value)} is not a phone number "
                f"({MIN_PHONE_DIGITS}-{MAX_PHONE_DIGITS} digits with country code)"
            )
        return phone
    if key == "email":
        email = normalize_email(value)
        if email is None and isinstance(value, str) and has_invisible(value.strip()):
            hidden = next(
                char for char in value.strip() if not char.isprintable() or char in INVISIBLE_LETTERS
            )
            problems.add(
                f"{where}.email: {shown(value)} holds an invisible character (U+{ord(hidden):04X}); "
                "retype the address"
            )
        elif email is None:
            problems.add(f"{where}.email: {shown(value)} is not an e-mail address")
        return email
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        problems.add(f"{where}.{key}: must be a string, got {type(value).__name__}")
        return None
    text = str(value).strip()
    if key == "externalId" and len(text.encode()) > MAX_EXTERNAL_ID_BYTES:
        problems.add(f"{where}.externalId: longer than {MAX_EXTERNAL_ID_BYTES} bytes")
        return None
    return text or None


__all__ = [
    "INVISIBLE_LETTERS",
    "MAX_EMAIL_LENGTH",
    "MAX_EXTERNAL_ID_BYTES",
    "MAX_PHONE_DIGITS",
    "MIN_PHONE_DIGITS",
    "PHONE_DELETED",
    "has_invisible",
    "normalize_email",
    "normalize_phone",
    "read_address",
]
