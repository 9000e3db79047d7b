"""Recipients checked column by column: the fast way through a large, clean list.

Instead of reading one recipient after the other, each field is checked for all recipients at
once (one pattern match over every phone number joined together, one set of the types of every
variable...), so the per-recipient cost stays in C. The destinations are built later, a block
at a time (:meth:`RecipientColumns.blocks`), while earlier chunks are on the wire.

It accepts only what :func:`~.recipients.read_recipient` accepts, normalised the same way, and
never reports a problem: on anything unusual (a bad or odd value, an unknown field, a recipient
no channel can reach...) :func:`read_columns` answers None and the caller checks recipient by
recipient, which names every problem.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_twin.client.messages.addresses import (
    MAX_EMAIL_LENGTH,
    MAX_EXTERNAL_ID_BYTES,
    MAX_PHONE_DIGITS,
    MIN_PHONE_DIGITS,
    PHONE_DELETED,
    has_invisible,
)
from airflow_provider_twin.client.messages.models import DESTINATION_FIELDS, Destination
from airflow_provider_twin.client.messages.recipients import RECIPIENT_KEYS, SCALAR_TYPES, Scalar, all_finite

_COLUMN_FIELDS = (*DESTINATION_FIELDS, "platform")
_ADDRESS = frozenset(DESTINATION_FIELDS)
_NONE_TYPE = type(None)
_STR_OR_NONE = frozenset({str, _NONE_TYPE})
_DICT_OR_NONE = frozenset({dict, _NONE_TYPE})
_PHONES_MATCH = re.compile(
    rf"(?:[0-9]{{{MIN_PHONE_DIGITS},{MAX_PHONE_DIGITS}}},)*"
    rf"[0-9]{{{MIN_PHONE_DIGITS},{MAX_PHONE_DIGITS}}}"
).fullmatch
_EMAIL_PATTERN = r"[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+"
_EMAILS_MATCH = re.compile(rf"(?:{_EMAIL_PATTERN}\n)*{_EMAIL_PATTERN}").fullmatch


def _bulk_phones(values: list[str]) -> list[str] | None:
    """Every phone normalised, as :func:`normalize_phone` does, or None (check one by one)."""
    joined = ",".join(values)
    if joined.count(",") != len(values) - 1:
        return None  # a value holds the separator itself
    for char in PHONE_DELETED:
        if char in joined:
            joined = joined.replace(char, "")
    if _PHONES_MATCH(joined) is None:
        return None
    return joined.split(",")


def _bulk_emails(values: list[str]) -> list[str] | None:
    """The addresses when every one passes :func:`normalize_email` unchanged, else None."""
    joined = "\n".join(values)
    # No address may hold the separator, be too long, or need trimming (the pattern refuses
    # white space anywhere; ``\s`` is exactly what ``str.strip`` removes).
    if joined.count("\n") != len(values) - 1 or max(map(len, values)) > MAX_EMAIL_LENGTH:
        return None
    if has_invisible("".join(values)):
        return None  # a zero-width space...: the full checks name it
    return values if _EMAILS_MATCH(joined) is not None else None


def _bulk_plain(values: list[str]) -> list[str] | None:
    """Identifiers as they are, when none needs trimming."""
    return values if list(map(str.strip, values)) == values else None


def _bulk_external_ids(values: list[str]) -> list[str] | None:
    # At most 4 bytes per character in UTF-8: short enough ids need no encoding to be checked.
    if max(map(len, values)) * 4 > MAX_EXTERNAL_ID_BYTES:
        return None
    return _bulk_plain(values)


_BULK_NORMALISERS = {
    "phone": _bulk_phones,
    "email": _bulk_emails,
    "externalId": _bulk_external_ids,
    "clientId": _bulk_plain,
    "messengerUserId": _bulk_plain,
    "pushRegistrationId": _bulk_plain,
    "platform": _bulk_plain,
}


def _address_column(key: str, values: list[Any]) -> list[str | None] | None:
    """One destination field of every recipient, normalised; None marks an absent value."""
    if not set(map(type, values)) <= _STR_OR_NONE:
        return None  # numbers, lists...: the full checks convert or name them
    dense = all(values)  # no None, no ""
    present = values if dense else list(filter(None, values))
    if not present:
        return [None] * len(values)
    normalised = _BULK_NORMALISERS[key](present)
    if normalised is None:
        return None
    if dense:
        return normalised  # type: ignore[return-value]
    found = iter(normalised)
    return [next(found) if value else None for value in values]


def _variables_column(values: list[Any]) -> list[dict[str, Scalar] | None] | None:
    """Every recipient's ``variables`` object, when each is a dict of scalars (or absent)."""
    if not set(map(type, values)) <= _DICT_OR_NONE:
        return None  # JSON strings and other shapes: the full checks read or name them
    present = list(filter(None, values))
    names = set().union(*present)
    if "" in names or not set(map(type, names)) <= {str}:
        return None
    kinds = set(map(type, itertools.chain.from_iterable(map(dict.values, present))))
    if not kinds <= SCALAR_TYPES:
        return None
    if float in kinds and not all_finite(itertools.chain.from_iterable(map(dict.values, present))):
        return None  # NaN or infinity: the full checks name it
    return values


def _column(recipients: Sequence[dict[Any, Any]], key: str) -> list[Any]:
    """``recipient.get(key)`` of every recipient."""
    return list(map(dict.get, recipients, itertools.repeat(key)))


def _has_every(values: list[Any], needed: frozenset[str]) -> bool:
    """Whether every recipient's ``variables`` object has a value for every ``needed`` name."""
    return all(
        mine is not None and all(mine.get(name) is not None and mine.get(name) != "" for name in needed)
        for mine in values
    )


def read_columns(
    recipients: Sequence[Any],
    reachable: frozenset[str],
    shared: Mapping[str, Scalar],
    needed: frozenset[str] = frozenset(),
) -> RecipientColumns | None:
    """``recipients`` checked column by column; None when any of them needs the full checks.

    :param reachable: the destination fields at least one channel of the campaign can use.
    :param shared: the campaign's variables, merged under each recipient's own.
    :param needed: variables the text uses that ``shared`` does not fill: every recipient must
        have a value for them, else the full checks name (or fill) what is missing.
    """
    count = len(recipients)
    if not count or set(map(type, recipients)) != {dict}:
        return None
    keys = set().union(*recipients)
    prefixed: list[str] = []
    for key in keys:
        if type(key) is not str:
            return None
        if key.startswith("var_") and len(key) > 4:
            prefixed.append(key)
        elif key not in RECIPIENT_KEYS:
            return None  # an unknown field: the full checks name it
    if prefixed and "variables" in keys:
        return None  # both forms: the full checks merge them in their documented order
    fields: list[str] = []
    columns: list[list[str | None]] = []
    for key in _COLUMN_FIELDS:
        if key not in keys:
            continue
        column = _address_column(key, _column(recipients, key))
        if column is None:
            return None
        if any(column):
            fields.append(key)
            columns.append(column)
    usable = [column for key, column in zip(fields, columns, strict=True) if key in reachable]
    if not usable:
        return None  # nobody can be reached: the full checks name every recipient
    if all(None in column for column in usable) and not all(map(any, zip(*usable, strict=True))):
        return None  # somebody no channel can reach: the full checks name them
    if "variables" in keys:
        variables = _variables_column(_column(recipients, "variables"))
        if variables is None or (needed and not _has_every(variables, needed)):
            return None
        return RecipientColumns(tuple(fields), columns, shared, variables=variables)
    if not needed.issubset(key[4:] for key in prefixed):
        return None  # somebody lacks a variable the text uses: the full checks name them
    if not prefixed:
        return RecipientColumns(tuple(fields), columns, shared)
    prefixed.sort()
    named: list[list[Scalar]] = []
    for key in prefixed:
        values: list[Scalar] = _column(recipients, key)
        kinds = set(map(type, values))
        if not kinds <= SCALAR_TYPES or (float in kinds and not all_finite(values)):
            return None
        if key[4:] in needed and (_NONE_TYPE in kinds or (str in kinds and "" in values)):
            return None
        named.append(values)
    return RecipientColumns(tuple(fields), columns, shared, named=(tuple(key[4:] for key in prefixed), named))


def _dense_rows(fields: tuple[str, ...], columns: list[list[Any]]) -> list[dict[str, Any]]:
    """One dict per row of ``columns`` (every value present); literal dicts for the usual widths."""
    if len(fields) == 1:
        (first,) = fields
        return [{first: a} for a in columns[0]]
    if len(fields) == 2:  # e.g. phone and variables
        first, second = fields
        return [{first: a, second: b} for a, b in zip(*columns, strict=True)]
    if len(fields) == 3:
        first, second, third = fields
        return [{first: a, second: b, third: c} for a, b, c in zip(*columns, strict=True)]
    return list(map(dict, map(zip, itertools.repeat(fields), zip(*columns, strict=True))))


def _sparse_rows(fields: tuple[str, ...], columns: list[list[Any]]) -> list[dict[str, Any]]:
    """One dict per row of ``columns``, without the absent (None) values."""
    return [
        {key: value for key, value in zip(fields, row, strict=True) if value}
        for row in zip(*columns, strict=True)
    ]


def _present(value: Any) -> bool:
    return value is not None and value != ""


class RecipientColumns:
    """Recipients checked column-wise (:func:`read_columns`); destinations built on demand.

    :param fields: destination fields present, in build order.
    :param columns: one list per field: each recipient's normalised value, None when absent.
    :param shared: the campaign's variables, merged under each recipient's own.
    :param variables: each recipient's ``variables`` object (None or empty when it has none).
    :param named: variables given as ``var_<name>`` fields: the names and one list of values
        per name (None or ``""`` when a recipient has no such value).
    """

    def __init__(
        self,
        fields: tuple[str, ...],
        columns: list[list[str | None]],
        shared: Mapping[str, Scalar],
        *,
        variables: list[dict[str, Scalar] | None] | None = None,
        named: tuple[tuple[str, ...], list[list[Scalar]]] | None = None,
    ) -> None:
        self.total = len(columns[0])
        self.shared = shared
        self.named = named
        self.variables = variables
        if variables is not None and not shared:
            # Own variables go into the destination as they are: one more column.
            fields, columns = (*fields, "variables"), [*columns, variables]  # type: ignore[list-item]
            self.variables = None
        self.fields = fields
        self.columns = columns
        self._dense = all(map(all, columns))

    def _address_columns(self) -> tuple[tuple[str, ...], list[list[Any]]]:
        pairs = [
            (key, column) for key, column in zip(self.fields, self.columns, strict=True) if key in _ADDRESS
        ]
        return tuple(key for key, _ in pairs), [column for _, column in pairs]

    def same_address(self) -> tuple[tuple[str, ...], list[Any]] | None:
        """The address fields and every recipient's address (see :func:`address`) when all
        recipients have the same address fields, else None."""
        names, columns = self._address_columns()
        if not all(map(all, columns)):
            return None
        return names, columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))

    def addresses(self) -> list[tuple[tuple[str, ...], Any]]:
        """Every recipient's address (see :func:`address`)."""
        names, columns = self._address_columns()
        return [address(dict(zip(names, row, strict=True))) for row in zip(*columns, strict=True)]

    def keep(self, mask: list[bool]) -> None:
        """Keep only the recipients whose ``mask`` entry is true."""
        self.columns = [list(itertools.compress(column, mask)) for column in self.columns]
        if self.variables is not None:
            self.variables = list(itertools.compress(self.variables, mask))
        if self.named is not None:
            names, columns = self.named
            self.named = (names, [list(itertools.compress(column, mask)) for column in columns])
        self.total = len(self.columns[0])
        self._dense = all(map(all, self.columns))

    def _own_variables(self, start: int, stop: int) -> list[dict[str, Scalar] | None] | None:
        if self.variables is not None:
            return self.variables[start:stop]
        if self.named is None:
            return None
        names, columns = self.named
        rows = zip(*(column[start:stop] for column in columns), strict=True)
        if all(None not in column and "" not in column for column in columns):
            return list(map(dict, map(zip, itertools.repeat(names), rows)))  # every value present
        return [
            {name: value for name, value in zip(names, row, strict=True) if _present(value)} or None
            for row in rows
        ]

    def blocks(self, size: int) -> Iterator[list[Destination]]:
        """The destinations, ``size`` at a time, each block built when it is asked for."""
        for start in range(0, self.total, size):
            yield self.destinations(start, min(start + size, self.total))

    def destinations(self, start: int, stop: int) -> list[Destination]:
        """Destinations of recipients ``start`` to ``stop - 1``, as the full checks build them."""
        fields = self.fields
        columns = [column[start:stop] for column in self.columns]
        built = _dense_rows(fields, columns) if self._dense else _sparse_rows(fields, columns)
        own = self._own_variables(start, stop)
        shared = self.shared
        if own is not None:
            for destination, mine in zip(built, own, strict=True):
                if mine:
                    destination["variables"] = {**shared, **mine} if shared else mine
                elif shared:
                    destination["variables"] = dict(shared)
        elif shared:
            for destination in built:
                destination["variables"] = dict(shared)
        return built  # type: ignore[return-value]


#: Addresses seen so far, by the destination fields they consist of (``("phone",)`` ->
#: phones; ``("phone", "email")`` -> pairs).
Seen = dict[tuple[str, ...], set[Any]]


def address(destination: Mapping[str, Any]) -> tuple[tuple[str, ...], Any]:
    """A destination's address: the fields it has and their value (a tuple for several)."""
    names = tuple(key for key in DESTINATION_FIELDS if destination.get(key))
    values = tuple(destination[key] for key in names)
    return names, values[0] if len(values) == 1 else values


def unique(
    checked: RecipientColumns | list[Destination], seen: Seen
) -> tuple[RecipientColumns | list[Destination], int]:
    """``checked`` without the recipients whose address an earlier one had (in ``seen``, which
    this updates), and how many were dropped.

    The address is every destination field together (``phone``, ``email``, ``clientId``...),
    normalised: ``+7 999 000-00-01`` and ``79990000001`` are the same recipient, who keeps the
    variables of their first appearance.
    """
    same = checked.same_address() if isinstance(checked, RecipientColumns) else None
    if same is not None:
        names, keys = same
        bucket = seen.setdefault(names, set())
        fresh = set(keys)
        if len(fresh) == len(keys) and bucket.isdisjoint(fresh):
            bucket |= fresh  # the usual case: nobody twice, checked at C speed
            return checked, 0
        rows = [(bucket, key) for key in keys]
    else:
        addresses = (
            checked.addresses() if isinstance(checked, RecipientColumns) else list(map(address, checked))
        )
        rows = [(seen.setdefault(names, set()), key) for names, key in addresses]
    keep = []
    for bucket, key in rows:
        keep.append(key not in bucket)
        bucket.add(key)
    if isinstance(checked, RecipientColumns):
        checked.keep(keep)
        return checked, len(keep) - checked.total
    return list(itertools.compress(checked, keep)), len(keep) - sum(keep)


def built(checked: RecipientColumns | list[Destination]) -> list[Destination]:
    """The destinations of a checked block, built now if they were checked column-wise."""
    return checked.destinations(0, checked.total) if isinstance(checked, RecipientColumns) else checked
