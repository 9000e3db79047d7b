"""Typed shapes of TWIN's file storage (twin-api.md §2.6) and the provider's summary of a file.

:class:`FileMetadata` is what TWIN answers, with the names of the SDK's ``FileMetadata``;
:class:`FileSummary` is the provider's compact, snake_case view of it for XCom.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict


class FileMetadata(TypedDict, total=False):
    """One stored file as ``POST /files`` answers it (an array of these, one per file)."""

    id: str
    isPrivate: bool
    createdAt: str
    contentType: str
    name: str
    baseName: str
    extension: str
    suggestedExtension: str
    path: str
    size: int
    url: str | None
    downloadLink: str | None
    ownerId: int | None


class FileSummary(TypedDict):
    """An uploaded file as the upload operator returns it (XCom): ids, name, size and links.

    ``url`` is the public link (None for a private file); ``download_link`` the address that
    downloads a public file. A private file's ``download_link`` is None too: XCom is readable
    by everyone who sees the DAG, and a signed link would give access to the file; read it with
    ``TwinHook().download_file(file_id)`` (the connection's token) instead.
    """

    file_id: str
    name: str
    size: int
    content_type: str
    url: str | None
    download_link: str | None


def file_summary(metadata: Mapping[str, Any]) -> FileSummary:
    """The :class:`FileSummary` of a file's metadata (no link for a private file)."""
    private = metadata.get("isPrivate") is True or not metadata.get("url")
    return {
        "file_id": str(metadata.get("id") or ""),
        "name": str(metadata.get("name") or ""),
        "size": int(metadata.get("size") or 0),
        "content_type": str(metadata.get("contentType") or ""),
        "url": metadata.get("url") or None,
        "download_link": None if private else metadata.get("downloadLink") or None,
    }
