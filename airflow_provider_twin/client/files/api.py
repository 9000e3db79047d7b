"""TWIN's file storage calls: ``POST /files`` and ``GET /files/{fileId}`` on IAM (twin-api.md §2.6).

The upload is ``multipart/form-data`` as TWIN's SDK sends it (``UploadFilesRequest``): one
``file[]`` part per file, with its file name, and the plain fields ``private``, ``path`` and
``ttl`` when set. TWIN answers an array of file metadata, one per file, in order (the SDK reads
it as ``FileMetadataList``). The download answers the file itself (``Content-Disposition:
attachment``, twin-api.md §1.2).

``private`` is sent as ``1`` or ``0``: the SDK writes PHP's form spelling of a boolean (``1``
for true, an empty value for false); ``0`` is the false every form reader accepts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import quote, unquote

from airflow_provider_twin.client.core.calls import ApiCall, FilePart, Multipart, RawBody, expect_list
from airflow_provider_twin.client.core.errors import TwinProtocolError
from airflow_provider_twin.client.files.models import FileMetadata

#: ``filename*=<charset>'<language>'<percent-encoded name>`` of a Content-Disposition (RFC 5987).
_EXTENDED_NAME = re.compile(r"filename\*\s*=\s*([\w-]*)'[\w-]*'([^;]+)", re.IGNORECASE)

#: The form field of the files (twin-api.md §2.6).
FILE_FIELD = "file[]"


@dataclass(frozen=True)
class DownloadedFile:
    """A file read back from TWIN: the name its answer gives, its content type and bytes."""

    name: str | None
    content_type: str | None
    data: bytes = field(repr=False)


def _metadata_list(expected: int) -> Any:
    def parse(body: Any) -> list[FileMetadata]:
        items = expect_list(body)
        if len(items) != expected or not all(isinstance(item, dict) and item.get("id") for item in items):
            raise TwinProtocolError(
                f"TWIN answered an upload of {expected} file(s) with {len(items)} metadata object(s)"
            )
        return items

    return parse


def upload_files(
    files: Sequence[FilePart], *, private: bool = False, path: str | None = None, ttl: int | None = None
) -> ApiCall[list[FileMetadata]]:
    """``POST /files``: store ``files`` (their form field must be ``file[]``).

    Marked safe to repeat after a lost answer: a repetition can only store another copy of the
    same bytes, which nothing references (TWIN has no file listing, and a message carries the
    link of the copy whose answer arrived); ``ttl`` lets such a copy expire.
    """
    fields = {"private": "1" if private else "0"}
    if path:
        fields["path"] = path
    if ttl is not None:
        fields["ttl"] = str(ttl)
    names = ", ".join(part.filename for part in files)
    return ApiCall(
        method="POST",
        service="iam",
        path="/files",
        description=f"upload {names}",
        parse=_metadata_list(len(files)),
        form=Multipart(tuple(files), fields),
        idempotent=True,
    )


def _file_name(disposition: str | None) -> str | None:
    """The file name of a ``Content-Disposition``: ``filename*`` (RFC 5987) over ``filename``."""
    if not disposition:
        return None
    extended = _EXTENDED_NAME.search(disposition)
    if extended is not None:
        return unquote(extended.group(2).strip(), encoding=extended.group(1) or "utf-8", errors="replace")
    holder = Message()
    holder["Content-Disposition"] = disposition
    return holder.get_filename()


def _downloaded(body: Any) -> DownloadedFile:
    raw: RawBody = body
    headers = {key.lower(): value for key, value in raw.headers.items()}
    kind = headers.get("content-type")
    return DownloadedFile(
        _file_name(headers.get("content-disposition")),
        kind.split(";", maxsplit=1)[0].strip() if kind else None,
        raw.content,
    )


def download_file(file_id: str) -> ApiCall[DownloadedFile]:
    """``GET /files/{fileId}``: the file's bytes (a private file needs the token, which every
    call carries)."""
    return ApiCall(
        method="GET",
        service="iam",
        path=f"/files/{quote(file_id, safe='')}",
        description=f"download file {file_id}",
        parse=_downloaded,
        headers={"Accept": "*/*"},
        raw=True,
    )
