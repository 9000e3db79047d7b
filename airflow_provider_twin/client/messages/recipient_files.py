"""Stream recipients from a CSV or JSON Lines file, one row at a time.

A campaign file can hold millions of rows, so it is never loaded whole: rows are read and
yielded one by one, and the caller keeps what it needs (a chunk) and drops the rest.

Formats (chosen from the file name, or forced with ``file_format``; ``.gz`` is decompressed
on the fly):

**CSV** (``.csv``; ``.tsv`` is tab-separated) — UTF-8 (a BOM is fine), a header row, then one
recipient per row. The delimiter is detected from the header: comma, semicolon or tab.

* destination columns, matched case-insensitively: ``phone``, ``email``, ``clientId``,
  ``externalId``, ``messengerUserId``, ``pushRegistrationId``, ``platform``;
* ``var_<name>`` columns: template variable ``<name>`` (``var_first_name`` ->
  ``{"first_name": ...}``), always strings;
* an optional ``variables`` column holding a JSON object of variables;
* empty cells are ignored. Any other column is an error, reported before anything is read.

Example::

    phone,email,var_name,var_order
    +7 (999) 123-45-67,ann@example.com,Ann,A-1001
    79990000002,,Bob,A-1002

**JSON Lines** (``.jsonl``, ``.ndjson``, ``.json``) — one JSON object per line, with the
same keys as a recipient passed in Python (``phone``, ``email``, ..., ``variables``,
``var_<name>``). Blank lines are skipped. A file holding one big JSON array cannot be
streamed and is refused: convert it to JSON Lines.

Files are opened with ``open()``, or with ``source.open("rb")`` when the source is an object
with an ``open`` method (e.g. Airflow's ``ObjectStoragePath`` for s3://, gs://, ...).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, NamedTuple, Protocol

from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.messages.recipients import RECIPIENT_KEYS

#: Canonical recipient keys by their lower-case spelling (CSV headers are case-insensitive).
_COLUMNS = {key.lower(): key for key in RECIPIENT_KEYS}
_CSV_SUFFIXES = (".csv", ".tsv")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
FILE_FORMATS = ("csv", "jsonl")


class Openable(Protocol):
    """A path-like object that opens itself (``ObjectStoragePath``, ``pathlib.Path``...)."""

    def open(self, mode: str = ...) -> IO[Any]: ...


RecipientSource = str | os.PathLike[str] | Openable


class RecipientRow(NamedTuple):
    """One data row of a recipients file.

    :param line: the row's line number in the file (1-based, header included), for messages.
    :param recipient: the row as a recipient mapping, or None when the row is unreadable.
    :param problem: why the row is unreadable.
    """

    line: int
    recipient: dict[str, Any] | None
    problem: str | None = None


def _name(source: RecipientSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(source)


def detect_format(source: RecipientSource, file_format: str | None = None) -> tuple[str, bool]:
    """``(format, gzipped)`` of ``source`` from ``file_format`` or the file name."""
    name = _name(source).lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    if file_format is not None:
        fmt = file_format.lower()
        if fmt in ("ndjson", "json", "jsonlines"):
            fmt = "jsonl"
        if fmt not in FILE_FORMATS:
            raise TwinInputError(f"recipients_file_format: {file_format!r} is not one of csv, jsonl")
        return fmt, gzipped
    if name.endswith(_CSV_SUFFIXES):
        return "csv", gzipped
    if name.endswith(_JSONL_SUFFIXES):
        return "jsonl", gzipped
    raise TwinInputError(
        f"recipients_file: cannot tell the format of {_name(source)!r} from its name; "
        "use .csv, .tsv, .jsonl or .ndjson (optionally .gz), or set the file format"
    )


#: Opening errors a retry of the task cannot fix: the file is not there, is a directory, or
#: may not be read. Other ``OSError`` (a network store timing out) stay retryable.
_FOR_GOOD = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


@contextmanager
def _open_text(source: RecipientSource, gzipped: bool) -> Iterator[IO[str]]:
    try:
        raw: IO[bytes] = (
            open(source, "rb")  # noqa: SIM115 - closed below
            if isinstance(source, (str, os.PathLike))
            else source.open("rb")
        )
    except _FOR_GOOD as exc:
        reason = exc.strerror or type(exc).__name__
        raise TwinInputError(f"recipients_file: cannot open {_name(source)!r}: {reason}") from None
    try:
        binary: IO[bytes] = gzip.open(raw, "rb") if gzipped else raw  # type: ignore[assignment]  # noqa: SIM115
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        try:
            yield text
        finally:
            text.detach()
            if gzipped:
                binary.close()
    finally:
        raw.close()


def _csv_header(fields: list[str], source: str) -> list[str]:
    columns: list[str] = []
    unknown: list[str] = []
    for raw in fields:
        name = (raw or "").strip()
        if name.lower().startswith("var_") and len(name) > 4:
            columns.append("var_" + name[4:])
        elif name.lower() in _COLUMNS:
            columns.append(_COLUMNS[name.lower()])
        else:
            unknown.append(repr(raw))
            columns.append(name)
    if unknown:
        raise TwinInputError(
            f"recipients_file {source}: unknown column(s) {', '.join(unknown)} in the header; "
            "use phone, email, clientId, externalId, messengerUserId, pushRegistrationId, platform, "
            "variables (a JSON object) or var_<name>",
            problems=[f"recipients_file: unknown column {name}" for name in unknown],
        )
    if len(set(columns)) != len(columns):
        raise TwinInputError(f"recipients_file {source}: a column appears twice in the header")
    return columns


def _delimiter(header: str) -> str:
    counts = {delimiter: header.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda key: counts[key])
    return best if counts[best] else ","


def _iter_csv(text: IO[str], source: str, tab: bool) -> Iterator[RecipientRow]:
    header_line = text.readline()
    if not header_line.strip():
        raise TwinInputError(f"recipients_file {source}: the file is empty (a CSV needs a header row)")
    delimiter = "\t" if tab else _delimiter(header_line)
    columns = _csv_header(next(csv.reader([header_line], delimiter=delimiter)), source)
    reader = csv.reader(text, delimiter=delimiter)
    width = len(columns)
    for cells in reader:
        line = reader.line_num + 1
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if len(cells) > width:
            yield RecipientRow(line, None, f"{len(cells)} cells but the header has {width} columns")
            continue
        yield RecipientRow(
            line, {name: cell for name, cell in zip(columns, cells, strict=False) if cell != ""}
        )


def _iter_jsonl(text: IO[str]) -> Iterator[RecipientRow]:
    for line, content in enumerate(text, start=1):
        stripped = content.strip()
        if not stripped:
            continue
        if line == 1 and stripped.startswith("["):
            raise TwinInputError(
                "recipients_file: a JSON array cannot be streamed; write one JSON object per line "
                "(JSON Lines)"
            )
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            yield RecipientRow(line, None, f"not valid JSON ({exc.msg})")
            continue
        if not isinstance(value, dict):
            yield RecipientRow(line, None, f"expected a JSON object, got {type(value).__name__}")
            continue
        yield RecipientRow(line, value)


def iter_recipients_file(source: RecipientSource, file_format: str | None = None) -> Iterator[RecipientRow]:
    """Yield every data row of a recipients file (format in the module docstring).

    :raises TwinInputError: when the file's format or CSV header is unusable (before any row),
        or the file does not exist, is a directory or may not be read.
    :raises OSError: when the file cannot be read for another reason (retryable).
    """
    fmt, gzipped = detect_format(source, file_format)
    name = _name(source)
    tab = name.lower().removesuffix(".gz").endswith(".tsv")
    with _open_text(source, gzipped) as text:
        if fmt == "csv":
            yield from _iter_csv(text, name, tab)
        else:
            yield from _iter_jsonl(text)
