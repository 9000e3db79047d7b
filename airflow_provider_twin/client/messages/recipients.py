"""One recipient read into a TWIN destination: its address fields and its template variables.

* ``variables``: an object of scalar values (string, number, boolean, null). Shared
  ``variables`` of a campaign are merged under each recipient's own. Keys ``var_<name>`` of a
  recipient are read as ``variables[<name>]`` (the CSV convention, see
  :mod:`.recipient_files`).
* Empty values (``None``, ``""``) count as absent, so a CSV with blank cells just works.

Addresses are normalised as :mod:`.addresses` says. The full reading names every problem; a
fast reading takes the usual, valid shapes and hands anything else to the full one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_twin.client.core.problems import Problems, shown
from airflow_provider_twin.client.messages.addresses import normalize_email, normalize_phone, read_address
from airflow_provider_twin.client.messages.models import DESTINATION_FIELDS

Scalar = str | int | float | bool | None
SCALARS = (str, int, float, bool, type(None))
SCALAR_TYPES = frozenset(SCALARS)

#: Keys a recipient may carry (plus ``var_<name>``).
RECIPIENT_KEYS: frozenset[str] = frozenset({*DESTINATION_FIELDS, "platform", "variables"})

#: Destination fields taken as they are (trimmed strings).
_PLAIN_FIELDS = frozenset({"clientId", "messengerUserId", "pushRegistrationId", "platform"})

Reading = tuple[dict[str, Any], dict[str, Scalar] | None]


def all_finite(values: Iterable[Any]) -> bool:
    """Whether no float among ``values`` is NaN or infinite (JSON has no such numbers)."""
    return all(map(math.isfinite, [item for item in values if type(item) is float]))


def not_finite(where: str, value: float) -> str:
    """The problem of a NaN or infinite number at ``where``."""
    return f"{where}: {value!r} is not a finite number (NaN and infinity cannot be sent as JSON)"


def check_variables(value: Any, where: str) -> tuple[dict[str, Scalar] | None, list[str]]:
    """Template variables as an object of scalar values (a JSON string is read), and the problems."""
    if value is None:
        return None, []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None, [f"{where}: not a JSON object: {shown(value)}"]
    if not isinstance(value, Mapping):
        return None, [f"{where}: expected an object of scalar values, got {type(value).__name__}"]
    if (
        type(value) is dict
        and all(type(name) is str and name and type(item) in SCALAR_TYPES for name, item in value.items())
        and all_finite(value.values())
    ):
        return value, []  # the common case, checked without copying
    problems = []
    for name, item in value.items():
        if not isinstance(name, str) or not name:
            problems.append(f"{where}: variable names must be non-empty strings, got {shown(name)}")
        elif not isinstance(item, SCALARS):
            problems.append(
                f"{where}.{name}: must be a string, number, boolean or null, got {type(item).__name__}"
            )
        elif isinstance(item, float) and not math.isfinite(item):
            problems.append(not_finite(f"{where}.{name}", item))
    return (None, problems) if problems else (dict(value), [])


def read_recipient(recipient: Mapping[Any, Any], where: str, problems: Problems) -> Reading:
    """The destination fields and the variables of one recipient mapping (full checks)."""
    destination: dict[str, Any] = {}
    variables: dict[str, Scalar] | None = None
    prefixed: dict[str, Any] | None = None
    for key, value in recipient.items():
        if value is None or value == "":
            continue
        if key == "variables":
            variables, found = check_variables(value, f"{where}.variables")
            problems.extend(found)
        elif isinstance(key, str) and key.startswith("var_") and len(key) > 4:
            if prefixed is None:
                prefixed = {}
            prefixed[key[4:]] = value
        elif key in RECIPIENT_KEYS:
            address = read_address(key, value, where, problems)
            if address is not None:
                destination[key] = address
        else:
            problems.add(
                f"{where}.{key}: unknown recipient field; use {', '.join(DESTINATION_FIELDS)}, "
                "platform, variables or var_<name>"
            )
    if prefixed is not None:
        checked, found = check_variables(prefixed, f"{where}.var_*")
        problems.extend(found)
        if checked:
            variables = {**checked, **(variables or {})}
    return destination, variables


def fast_recipient(recipient: dict[Any, Any]) -> Reading | None:
    """The common, valid recipient read quickly; None when anything needs the full checks.

    A million-recipient send validates every recipient before the first request, so the
    usual shapes (well-formed phone/e-mail/ids, scalar variables) take this path.
    """
    destination: dict[str, Any] = {}
    variables: dict[str, Any] | None = None
    for key, value in recipient.items():
        if value is None or value == "":
            continue
        if key == "phone":
            phone = normalize_phone(value)
            if phone is None:
                return None
            destination["phone"] = phone
        elif key == "email":
            email = normalize_email(value)
            if email is None:
                return None
            destination["email"] = email
        elif key in _PLAIN_FIELDS:
            if type(value) is not str or value != value.strip():
                return None
            destination[key] = value
        elif key == "variables":
            if type(value) is not dict or variables is not None:
                return None
            for name, item in value.items():
                if type(name) is not str or not name or type(item) not in SCALAR_TYPES:
                    return None
            if not all_finite(value.values()):
                return None
            variables = value
        elif (
            type(key) is str
            and key.startswith("var_")
            and len(key) > 4
            and type(value) in SCALAR_TYPES
            and (type(value) is not float or math.isfinite(value))
        ):
            if variables is None:
                variables = {}
            elif "variables" in recipient:
                return None  # mixing both forms: let the full path merge them in order
            variables[key[4:]] = value
        else:
            return None
    return destination, variables
