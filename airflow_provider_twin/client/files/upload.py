"""Uploading files to TWIN: each file checked against the limits before the first request.

:func:`prepare_upload` reads one file (bytes or a binary file object, never more than the size
limit allows) and checks it: an error names the file and the limit it breaks, and nothing is
sent. :func:`upload_procedure` sends checked files in one ``POST /files`` (a step of
:mod:`~airflow_provider_twin.client.core.flows`, run by either client).

Repetition (an Airflow retry, an answer lost in transit): TWIN documents no way to find a file
already stored (no listing, no lookup by name or ``path``), so an upload cannot be made exactly
once. A repeated upload stores another copy of the same bytes under a new id. That is harmless:
files are referenced only by the messages that carry their link, and a message is sent once (its
``bulkId`` is checked), so an extra copy is never sent to anyone. Give ``ttl`` so that copies
nobody uses expire.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from airflow_provider_twin.client.core.calls import FilePart
from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.core.flows import Procedure
from airflow_provider_twin.client.core.problems import Problems, shown
from airflow_provider_twin.client.files import api
from airflow_provider_twin.client.files.limits import DEFAULT_LIMITS, FileLimits, content_type_for, size_text
from airflow_provider_twin.client.files.models import FileMetadata


@dataclass(frozen=True)
class Upload:
    """A file checked against the limits, ready to send."""

    name: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        """Bytes."""
        return len(self.data)

    def part(self) -> FilePart:
        """The ``file[]`` part of this file."""
        return FilePart(api.FILE_FIELD, self.name, self.content_type, self.data)


def _read(source: bytes | IO[bytes], limit: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    data = source.read(limit + 1)  # one byte more than allowed tells "too big" without reading it all
    if not isinstance(data, bytes):
        raise TypeError(f"expected a binary file object, read {type(data).__name__}")
    return data


def file_problems(name: str, size: int, content_type: str, limits: FileLimits) -> list[str]:
    """What keeps a file from being uploaded, each line naming the file and the limit."""
    problems = []
    if size == 0:
        problems.append(f"{name}: the file is empty")
    elif size > limits.max_bytes:
        problems.append(f"{name}: larger than the {size_text(limits.max_bytes)} a file may have")
    if not limits.accepts(content_type):
        problems.append(
            f"{name}: content type {content_type} is not accepted (images, audio, video, PDF, text, "
            "office documents and archives are); give content_type if the name misleads"
        )
    return problems


def prepare_upload(
    source: bytes | IO[bytes],
    name: str,
    *,
    content_type: str | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
) -> Upload:
    """Read and check one file; nothing is sent.

    :param source: the file's bytes or a binary file object (read up to the size limit).
    :param name: the file name TWIN stores (a directory part is dropped).
    :param content_type: the MIME type; default: guessed from ``name``.
    :raises TwinInputError: naming the file and each limit it breaks.
    """
    base = os.path.basename(str(name or "").replace("\\", "/"))
    if not base:
        raise _error([f"name: {shown(name)} is not a file name"])
    data = _read(source, limits.max_bytes)
    kind = content_type_for(base, content_type)
    problems = file_problems(base, len(data), kind, limits)
    if problems:
        raise _error(problems)
    return Upload(base, kind, data)


def _error(lines: list[str]) -> TwinInputError:
    found = Problems()
    found.extend(lines)
    return found.error("the files to upload", outcome="nothing was uploaded")


def upload_problems(
    uploads: Sequence[Any], *, private: Any = False, path: Any = None, ttl: Any = None, limits: FileLimits
) -> list[str]:
    """What is wrong with an upload request as a whole (count and form fields)."""
    problems = []
    if not uploads:
        problems.append("files: nothing to upload")
    elif len(uploads) > limits.max_files:
        problems.append(f"files: {len(uploads)} files; one upload carries at most {limits.max_files}")
    if not isinstance(private, bool):
        problems.append(f"private: must be a boolean, got {shown(private)}")
    if path is not None and (not isinstance(path, str) or not path.strip("/ ")):
        problems.append(f"path: must be a non-empty folder name, got {shown(path)}")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0):
        problems.append(f"ttl: must be a positive number of seconds, got {shown(ttl)}")
    return problems


def upload_procedure(
    uploads: Sequence[Upload],
    *,
    private: bool = False,
    path: str | None = None,
    ttl: int | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
) -> Procedure[list[FileMetadata]]:
    """Upload checked files in one request; returns their metadata in the same order.

    Run it with ``TwinClient.run`` or ``await AsyncTwinClient.run``. The request is checked
    (count, ``private``, ``path``, ``ttl``) before it is sent.

    :raises TwinInputError: before any request, naming the field.
    """
    problems = upload_problems(uploads, private=private, path=path, ttl=ttl, limits=limits)
    if problems:
        raise _error(problems)
    metadata: list[FileMetadata] = yield api.upload_files(
        [upload.part() for upload in uploads], private=private, path=path, ttl=ttl
    )
    return metadata
