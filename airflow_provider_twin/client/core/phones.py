"""Phone numbers as TWIN expects them: the one normaliser every domain uses.

``+``, spaces, dashes and parentheses are removed; what is left must be 10-15 digits
(international format with country code, e.g. ``79991234567``). The notify domain addresses
recipients with it and the chat domain identifies approvers with it, so both live here.
"""

from __future__ import annotations

import re
from typing import Any

MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 10, 15

#: The characters :func:`normalize_phone` deletes from a phone number without a regular
#: expression (the common case, much faster); any other white space goes through ``_PHONE_JUNK``.
PHONE_DELETED = "+ -()\t\u00a0"
_PHONE_DELETE = str.maketrans("", "", PHONE_DELETED)
_PHONE_JUNK = re.compile(r"[+\s\-()]")


def normalize_phone(value: Any) -> str | None:
    """Digits of a phone number, or None when it is not one (see the module docstring)."""
    kind = type(value)
    if kind is str:
        digits: str = value
        if not (digits.isdigit() and digits.isascii()):
            digits = digits.translate(_PHONE_DELETE)
            if not (digits.isdigit() and digits.isascii()):
                digits = _PHONE_JUNK.sub("", digits)
                if not (digits.isdigit() and digits.isascii()):
                    return None
    elif kind is int and value > 0:
        digits = str(value)
    else:
        return None
    return digits if MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS else None


__all__ = ["MAX_PHONE_DIGITS", "MIN_PHONE_DIGITS", "PHONE_DELETED", "normalize_phone"]
