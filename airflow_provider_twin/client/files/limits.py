"""What TWIN's file storage is assumed to accept, checked before the first request.

TWIN's documents state no limit for ``POST /files`` (twin-api.md §2.6; the seeds limit only VK
attachments, to 10 per message). These are ASSUMPTIONS, the same the emulator enforces in
strict mode (docs/emulator.md, "Files"): at most 10 MB per file, 10 files per upload, no empty
file, and a content type a message can carry (images, audio, video, PDF, text, office
documents, archives). :class:`FileLimits` changes them for a TWIN that says otherwise.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

# The emulator holds its own copy of these limits (emulator/file_store.py) on purpose: it imports
# nothing of the provider, so that it stands for TWIN on its own. Change both together.
#: Largest file (ASSUMPTION: 10 MB).
MAX_FILE_BYTES = 10 * 1024 * 1024
#: Most files in one upload (ASSUMPTION).
MAX_FILES_PER_UPLOAD = 10
#: Accepted content types: a family (``image/``), a prefix ending in ``.`` or an exact type.
ACCEPTED_TYPES = (
    "image/",
    "audio/",
    "video/",
    "text/plain",
    "text/csv",
    "application/pdf",
    "application/json",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.oasis.opendocument.",
)
#: The type of a file whose name says nothing.
UNKNOWN_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class FileLimits:
    """The limits an upload is held to before it is sent.

    :param max_bytes: largest file, in bytes.
    :param max_files: most files in one request.
    :param accepted_types: content types accepted (see :data:`ACCEPTED_TYPES`).
    """

    max_bytes: int = MAX_FILE_BYTES
    max_files: int = MAX_FILES_PER_UPLOAD
    accepted_types: tuple[str, ...] = ACCEPTED_TYPES

    def accepts(self, content_type: str) -> bool:
        """Whether files of ``content_type`` may be uploaded."""
        base = content_type.split(";", maxsplit=1)[0].strip().lower()
        return any(
            base.startswith(kind) if kind.endswith(("/", ".")) else base == kind
            for kind in self.accepted_types
        )


DEFAULT_LIMITS = FileLimits()


def content_type_for(name: str, given: str | None = None) -> str:
    """``given``, else the type the file name suggests, else :data:`UNKNOWN_TYPE`."""
    if given:
        return given.split(";", maxsplit=1)[0].strip().lower()
    guessed, _ = mimetypes.guess_type(name)
    return guessed or UNKNOWN_TYPE


def size_text(size: int) -> str:
    """``10485760`` -> ``10 MB``; smaller sizes in KB or bytes."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    if size >= 1024:
        return f"{size / 1024:g} KB"
    return f"{size} bytes"
