"""Files uploaded to IAM's file storage (``POST /files``, ``GET /files/{fileId}``, twin-api.md §2.6).

Each stored file keeps its bytes and the metadata TWIN's SDK reads (``FileMetadata``: ``id,
isPrivate, createdAt, contentType, name, baseName, extension, suggestedExtension, path, size,
url, downloadLink, ownerId``); an upload answers a JSON array of them, one per ``file[]`` part
(the SDK casts the answer to ``FileMetadataList``).

ASSUMPTIONS (twin-api.md §7; docs/emulator.md "Files"), none stated by TWIN's documents:

* limits (strict mode only, 422 naming ``file[]``): at most :data:`MAX_FILE_BYTES` (10 MB) per
  file, :data:`MAX_FILES_PER_UPLOAD` files per request, an empty file refused, and a content
  type from :data:`ACCEPTED_TYPES` (images, audio, video, PDF, text, office documents, archives);
* ``path`` is a folder: the stored ``path`` is ``<path>/<id>.<extension>`` (``<id>.<extension>``
  without one);
* ``ttl`` is the file's lifetime in seconds: afterwards ``GET /files/{id}`` answers 404;
* ``url`` is the public link of a public file (null for a private one); ``downloadLink`` is the
  API download address; a private file is downloaded only with a valid token;
* ``ownerId`` is the uploading account's position in the emulator's accounts (1, 2, ...).
"""

from __future__ import annotations

import mimetypes
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

# The provider's client holds its own copy of these limits (client/files/limits.py) on purpose: the
# emulator imports nothing of the provider, so that it stands for TWIN on its own. Change both
# together.
#: Largest file accepted in strict mode (ASSUMPTION: 10 MB; TWIN states no limit).
MAX_FILE_BYTES = 10 * 1024 * 1024
#: Most ``file[]`` parts in one upload in strict mode (ASSUMPTION).
MAX_FILES_PER_UPLOAD = 10
#: Content types accepted in strict mode: a family (``image/``) or an exact type (ASSUMPTION).
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


def accepted_type(content_type: str) -> bool:
    """Whether strict mode stores a file of ``content_type``."""
    base = content_type.split(";", maxsplit=1)[0].strip().lower()
    return any(
        base.startswith(kind) if kind.endswith((".", "/")) else base == kind for kind in ACCEPTED_TYPES
    )


def split_name(name: str) -> tuple[str, str]:
    """``report.final.pdf`` -> (``report.final``, ``pdf``); no dot -> (name, "")."""
    base, dot, extension = name.rpartition(".")
    return (base, extension) if dot and base else (name, "")


def suggested_extension(content_type: str) -> str:
    """The usual extension of ``content_type`` (without the dot), or ""."""
    guessed = mimetypes.guess_extension(content_type.split(";", maxsplit=1)[0].strip())
    return guessed.lstrip(".") if guessed else ""


@dataclass
class StoredFile:
    """One uploaded file: its bytes and what its metadata says."""

    id: str
    name: str
    content_type: str
    data: bytes
    private: bool
    path: str
    created_at: float
    expires_at: float | None
    owner_id: int | None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def metadata(self, base_url: str) -> dict[str, Any]:
        """The ``FileMetadata`` object of this file (twin-api.md §2.6)."""
        base_name, extension = split_name(self.name)
        link = f"{base_url.rstrip('/')}/iam/api/v1/files/{self.id}"
        created = datetime.fromtimestamp(self.created_at, tz=timezone.utc)
        return {
            "id": self.id,
            "isPrivate": self.private,
            "createdAt": created.isoformat(timespec="seconds"),
            "contentType": self.content_type,
            "name": self.name,
            "baseName": base_name,
            "extension": extension,
            "suggestedExtension": suggested_extension(self.content_type) or extension,
            "path": self.path,
            "size": len(self.data),
            "url": None if self.private else link,
            "downloadLink": link,
            "ownerId": self.owner_id,
        }


class FileStore:
    """The uploaded files of one emulator, by id. Use under the state lock."""

    def __init__(self) -> None:
        self.files: dict[str, StoredFile] = {}
        self.uploads = 0

    def add(
        self,
        *,
        name: str,
        content_type: str,
        data: bytes,
        private: bool,
        folder: str | None,
        ttl: int | None,
        now: float,
        owner_id: int | None,
    ) -> StoredFile:
        """Store one file under a new id."""
        file_id = str(uuid.uuid4())
        _, extension = split_name(name)
        stored_name = f"{file_id}.{extension}" if extension else file_id
        path = f"{folder.strip('/')}/{stored_name}" if folder and folder.strip("/") else stored_name
        stored = StoredFile(
            id=file_id,
            name=name,
            content_type=content_type,
            data=data,
            private=private,
            path=path,
            created_at=now,
            expires_at=None if ttl is None else now + ttl,
            owner_id=owner_id,
        )
        self.files[file_id] = stored
        return stored

    def get(self, file_id: str, now: float) -> StoredFile | None:
        """The live file of ``file_id``, or None (unknown or past its ``ttl``)."""
        stored = self.files.get(file_id)
        if stored is None or stored.expired(now):
            return None
        return stored

    def reset(self) -> None:
        """Forget every file."""
        self.files.clear()
        self.uploads = 0
