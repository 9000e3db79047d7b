"""A ``multipart/form-data`` body read into its parts, with the standard library only.

TWIN's file upload (``POST /files``, twin-api.md §2.6) is the emulator's one multipart
endpoint; reading it here keeps the emulator free of a multipart dependency. Each part keeps its
field name, file name (for file parts), content type and raw bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


class MultipartError(ValueError):
    """The body is not the ``multipart/form-data`` its ``Content-Type`` announces."""


@dataclass(frozen=True)
class FormPart:
    """One part of a form: ``filename`` is None for a plain field."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def text(self) -> str:
        """The part's value as text (plain fields)."""
        return self.data.decode("utf-8", errors="replace")


def boundary_of(content_type: str | None) -> str:
    """The boundary of a ``multipart/form-data`` content type (raises :class:`MultipartError`)."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise MultipartError("Content-Type must be multipart/form-data.")
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise MultipartError("multipart/form-data without a boundary.")
    return match.group(1)


def _part(raw: bytes) -> FormPart:
    head, separator, data = raw.partition(b"\r\n\r\n")
    if not separator:
        raise MultipartError("a part without a header block.")
    headers = Message()
    for line in head.decode("utf-8", errors="replace").split("\r\n"):
        key, colon, value = line.partition(":")
        if colon:
            headers[key.strip()] = value.strip()
    disposition = headers.get("Content-Disposition")
    if disposition is None:
        raise MultipartError("a part without Content-Disposition.")
    holder = Message()
    holder["Content-Disposition"] = disposition
    name = holder.get_param("name", header="Content-Disposition")
    filename = holder.get_filename()
    if not isinstance(name, str):
        raise MultipartError("a part without a name.")
    return FormPart(name, filename, headers.get("Content-Type"), data)


def parse_form(body: bytes, content_type: str | None) -> list[FormPart]:
    """The parts of ``body`` in their order (raises :class:`MultipartError`)."""
    delimiter = b"--" + boundary_of(content_type).encode()
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise MultipartError("the body does not end with the closing boundary.")
    parts = []
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise MultipartError("a part not framed by CRLF.")
        parts.append(_part(chunk[2:-2]))
    return parts
