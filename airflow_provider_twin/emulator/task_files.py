"""A send job's messages file (``POST /tasks/{id}``, part ``messages``): read into message bodies.

TWIN's UI offers Excel templates per kind of job (SMS, promotional messages, chat-session start,
"universal (API format)", full parameter list) [seed 000; twin-api.md §3.6]; the SDK's example
uploads an ``.xlsx``. The templates' columns are not published.

ASSUMPTION (twin-api.md §3.6, §7): the emulator reads the "universal (API format)" template as one
message per row, first row = column names, first worksheet only, every cell as text. Columns
(names case-insensitive; unknown columns are refused, naming them):

* destination: ``phone``, ``email``, ``clientId``, ``externalId``, ``messengerUserId``,
  ``pushRegistrationId``, ``platform`` (at least one address per row);
* ``channels``: the ``channels`` object of ``POST /messages`` as JSON (channel -> fields, in
  fallback order), or ``channel``: channel names in fallback order, comma-separated;
* ``text``: copied into every channel without a ``text`` of its own;
* ``templateId``, ``groupId``, ``callbackUrl``, ``callbackData``, ``useShortLinks`` (true/false);
* ``variables`` (a JSON object) and ``var_<name>`` columns: the template variables.

Each row then passes the checks of ``POST /messages`` (:mod:`.validation`), and a refusal names
the row (``messages row 3``: the file's third row, the header being row 1). ``.csv`` (UTF-8,
comma or semicolon) is accepted too, as for the bulk endpoint (twin-api.md §3.5).

An ``.xlsx`` is read with :mod:`zipfile` and :mod:`xml.etree.ElementTree` only: shared strings,
inline strings, numbers and booleans; a number that is a whole number is read without ``.0``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from typing import Any
from xml.etree import ElementTree

from .validation import IDENTITY_FIELDS

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CELL_REF = re.compile(r"^([A-Z]+)")
#: A message's recipient: the fields that identify one (as ``POST /messages`` reads them), its platform.
DESTINATION_COLUMNS = (*IDENTITY_FIELDS, "platform")
MESSAGE_COLUMNS = ("channels", "channel", "text", "templateId", "groupId", "callbackUrl", "callbackData")
OTHER_COLUMNS = ("useShortLinks", "variables")
_KNOWN = {name.lower(): name for name in (*DESTINATION_COLUMNS, *MESSAGE_COLUMNS, *OTHER_COLUMNS)}


class TaskFileError(ValueError):
    """The file cannot be read; ``details`` maps a place (``messages``, ``messages row 3``) to problems."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__(str(details))
        self.details = details


def _column_index(reference: str) -> int:
    match = _CELL_REF.match(reference)
    letters = match.group(1) if match else "A"
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def _cell_text(cell: ElementTree.Element, shared: list[str]) -> str:
    kind = cell.get("t")
    if kind == "inlineStr":
        return "".join(node.text or "" for node in cell.iter(f"{_NS}t"))
    value = cell.findtext(f"{_NS}v") or ""
    if kind == "s":
        return shared[int(value)] if value.isdigit() and int(value) < len(shared) else ""
    if kind == "b":
        return "true" if value == "1" else "false"
    if kind in (None, "n") and value:
        try:
            number = float(value)
        except ValueError:
            return value
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else value
    return value


def read_xlsx(content: bytes) -> list[list[str]]:
    """The rows of the first worksheet of an ``.xlsx``, as text cells (missing cells are ``""``)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise TaskFileError({"messages": ["Not an .xlsx file (not a zip archive)."]}) from None
    names = archive.namelist()
    sheets = sorted(name for name in names if re.match(r"^xl/worksheets/sheet\d+\.xml$", name))
    if not sheets:
        raise TaskFileError({"messages": ["The .xlsx file has no worksheet."]})
    shared: list[str] = []
    try:
        if "xl/sharedStrings.xml" in names:
            root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))  # noqa: S314 - local emulator
            shared = ["".join(t.text or "" for t in item.iter(f"{_NS}t")) for item in root.iter(f"{_NS}si")]
        first = min(sheets, key=lambda name: int(re.sub(r"\D", "", name)))
        sheet = ElementTree.fromstring(archive.read(first))  # noqa: S314 - local emulator
    except ElementTree.ParseError as exc:
        raise TaskFileError({"messages": [f"The .xlsx file is not readable XML: {exc}."]}) from None
    rows: list[list[str]] = []
    for row in sheet.iter(f"{_NS}row"):
        cells: dict[int, str] = {}
        for position, cell in enumerate(row.iter(f"{_NS}c")):
            reference = cell.get("r")
            cells[_column_index(reference) if reference else position] = _cell_text(cell, shared)
        width = max(cells) + 1 if cells else 0
        rows.append([cells.get(index, "") for index in range(width)])
    return rows


def read_csv(content: bytes) -> list[list[str]]:
    """The rows of a UTF-8 CSV (comma or semicolon, detected from the header)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TaskFileError({"messages": ["A .csv file must be UTF-8."]}) from None
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def read_table(content: bytes, filename: str | None) -> list[list[str]]:
    """Rows of an ``.xlsx`` (a zip archive) or a ``.csv`` file."""
    name = (filename or "").lower()
    if content[:2] == b"PK" or name.endswith(".xlsx"):
        return read_xlsx(content)
    return read_csv(content)


def _json_cell(value: str, where: str, errors: dict[str, list[str]], seen: dict[str, Any]) -> Any:
    """The cell's JSON value; a text met before (a campaign's ``channels`` on every row) is read
    once and its value shared (nothing changes it later)."""
    if value in seen:
        return seen[value]
    try:
        parsed = json.loads(value)
    except ValueError:
        errors.setdefault(where, []).append("Must be JSON.")
        return None
    seen[value] = parsed
    return parsed


def row_message(
    header: list[str], cells: list[str], where: str, errors: dict[str, list[str]], seen: dict[str, Any]
) -> dict[str, Any]:
    """The ``POST /messages`` message of one row (one destination); problems go to ``errors``."""
    values = {name: cell.strip() for name, cell in zip(header, cells, strict=False) if cell.strip()}
    destination: dict[str, Any] = {key: values[key] for key in DESTINATION_COLUMNS if key in values}
    message: dict[str, Any] = {"destinations": [destination]}
    channels: Any = {}
    if "channels" in values:
        channels = _json_cell(values["channels"], f"{where}.channels", errors, seen)
    elif "channel" in values:
        channels = {name.strip().lower(): {} for name in values["channel"].split(",") if name.strip()}
    if isinstance(channels, dict) and "text" in values:
        channels = {
            name: ({"text": values["text"], **fields} if isinstance(fields, dict) else fields)
            for name, fields in channels.items()
        }
    message["channels"] = channels
    for key in ("templateId", "groupId", "callbackUrl", "callbackData"):
        if key in values:
            message[key] = values[key]
    if "useShortLinks" in values:
        message["useShortLinks"] = values["useShortLinks"].lower() in ("1", "true", "yes")
    variables: dict[str, Any] = {}
    if "variables" in values:
        parsed = _json_cell(values["variables"], f"{where}.variables", errors, {})
        if isinstance(parsed, dict):
            variables.update(parsed)
        elif parsed is not None:
            errors.setdefault(f"{where}.variables", []).append("Must be a JSON object.")
    for name, value in values.items():
        if name.startswith("var_"):
            variables[name[4:]] = value
    if variables:
        destination["variables"] = variables
    return message


def read_messages(content: bytes, filename: str | None) -> list[dict[str, Any]]:
    """One ``POST /messages`` message per data row of the file (raises :class:`TaskFileError`)."""
    rows = [row for row in read_table(content, filename) if any(cell.strip() for cell in row)]
    if not rows:
        raise TaskFileError({"messages": ["The file is empty (a header row is needed)."]})
    header: list[str] = []
    unknown: list[str] = []
    for raw in rows[0]:
        name = raw.strip()
        if name.lower().startswith("var_") and len(name) > 4:
            header.append("var_" + name[4:])
        elif name.lower() in _KNOWN:
            header.append(_KNOWN[name.lower()])
        else:
            header.append(name)
            unknown.append(repr(raw))
    if unknown:
        raise TaskFileError({"messages": [f"Unknown column(s) {', '.join(unknown)} in the header row."]})
    errors: dict[str, list[str]] = {}
    seen: dict[str, Any] = {}
    messages = [
        row_message(header, cells, f"messages row {number}", errors, seen)
        for number, cells in enumerate(rows[1:], start=2)
    ]
    if errors:
        raise TaskFileError(errors)
    if not messages:
        raise TaskFileError({"messages": ["The file holds a header row but no messages."]})
    return messages
