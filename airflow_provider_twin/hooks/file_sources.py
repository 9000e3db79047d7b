"""Files to upload to TWIN, read from a local path or Airflow object storage.

The client takes bytes or a binary file object and knows nothing of Airflow; this is where an
Airflow :class:`~airflow.sdk.ObjectStoragePath` (``s3://``, ``gs://``, ``file://``...) or a
local path becomes one: opened with its own ``open("rb")``, read no further than the size
limit, and checked (:func:`airflow_provider_twin.client.files.prepare_upload`) before anything is
sent.
"""

from __future__ import annotations

import os
from typing import Any

from airflow_provider_twin.client.files import DEFAULT_LIMITS, FileLimits, Upload, prepare_upload

__all__ = ["FileSource", "object_storage_path", "read_upload"]

#: What an upload may be given: a local path, a URL or an ObjectStoragePath.
FileSource = Any


def object_storage_path(source: FileSource, conn_id: str | None = None) -> Any:
    """``source`` as something with ``open("rb")`` and ``name``: a URL string becomes an
    ObjectStoragePath (read through ``conn_id``), a local path stays a path."""
    if isinstance(source, str) and "://" in source:
        from airflow.sdk import ObjectStoragePath  # noqa: PLC0415 - only for remote files

        return ObjectStoragePath(source, conn_id=conn_id)
    return source


def read_upload(
    source: FileSource,
    *,
    name: str | None = None,
    content_type: str | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
    conn_id: str | None = None,
) -> Upload:
    """Read and check one file for upload; nothing is sent.

    :param source: a local path (``str`` or ``os.PathLike``), a URL, or an ObjectStoragePath.
    :param name: the name TWIN stores; default: the source's file name.
    :param content_type: the MIME type; default: guessed from the name.
    :param conn_id: the Airflow connection of a URL source (e.g. ``aws_default``).
    :raises TwinInputError: the file breaks a limit (naming it and the limit).
    :raises OSError: the file cannot be read.
    """
    path = object_storage_path(source, conn_id)
    if isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as handle:
            return prepare_upload(
                handle,
                name or os.path.basename(os.fspath(path)),
                content_type=content_type,
                limits=limits,
            )
    if not hasattr(path, "open"):
        raise TypeError(
            f"cannot read a file from {type(source).__name__}; give a path or an ObjectStoragePath"
        )
    with path.open("rb") as handle:
        return prepare_upload(handle, name or str(path.name), content_type=content_type, limits=limits)
