"""The messages file of a TWIN send job: validated destinations written as an ``.xlsx`` sheet.

TWIN's UI creates a send job from an Excel file filled in from one of its templates; the SDK's
example uploads an ``.xlsx`` as the multipart part ``messages`` of ``POST /tasks/{id}``
(twin-api.md §3.6, seed 000). The templates' columns are not published.

ASSUMPTION (twin-api.md §3.6): the "universal (API format)" template holds one message per row
with the fields of ``POST /messages`` (§3.2): the destination's ``phone``, ``email``,
``clientId``, ``externalId``, ``messengerUserId``, ``pushRegistrationId``, ``platform``; the
``channels`` object as JSON (channel -> fields, in fallback order); ``templateId``, ``groupId``,
``callbackUrl``, ``callbackData``, ``useShortLinks``; the template variables as a JSON object
in ``variables``. The emulator reads the same columns (docs/emulator.md, "Send jobs").

The workbook is written with :mod:`zipfile` only (no spreadsheet library): one worksheet, every
cell an inline string, so a phone number stays text and never becomes a float.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape

from airflow_provider_twin.client.messages.models import DESTINATION_FIELDS, Destination, MessageData

#: Message settings written as columns (the rest of ``MessageData`` is the job's, or refused).
MESSAGE_COLUMNS = ("channels", "templateId", "groupId", "callbackUrl", "callbackData", "useShortLinks")
#: Every column of the file, in order.
COLUMNS = (*DESTINATION_FIELDS, "platform", "variables", *MESSAGE_COLUMNS)
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="messages" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Mapping, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def job_rows(template: MessageData, destinations: Iterable[Destination]) -> Iterable[list[str]]:
    """The file's rows (header first): one per destination, with the campaign's settings."""
    yield list(COLUMNS)
    settings = [_cell_text(template.get(key)) for key in MESSAGE_COLUMNS]
    own = (*DESTINATION_FIELDS, "platform", "variables")
    for destination in destinations:
        yield [_cell_text(destination.get(key)) for key in own] + settings


def write_xlsx(rows: Iterable[list[str]]) -> bytes:
    """An ``.xlsx`` workbook of one sheet holding ``rows`` as inline strings."""
    sheet = io.StringIO()
    sheet.write(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    )
    letters: list[str] = []
    for number, row in enumerate(rows, start=1):
        while len(letters) < len(row):
            letters.append(_column_letter(len(letters)))
        sheet.write(f'<row r="{number}">')
        for index, value in enumerate(row):
            if value:
                sheet.write(
                    f'<c r="{letters[index]}{number}" t="inlineStr"><is><t xml:space="preserve">'
                    f"{escape(value)}</t></is></c>"
                )
        sheet.write("</row>")
    sheet.write("</sheetData></worksheet>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet.getvalue())
    return buffer.getvalue()
