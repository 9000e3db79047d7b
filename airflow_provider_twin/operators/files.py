"""``TwinUploadFileOperator``: put a file into TWIN's file storage for messages to link to.

The file comes from a local path or Airflow object storage (an ``ObjectStoragePath`` or a URL
such as ``s3://bucket/key.pdf``); it is checked against the upload limits before the first
request, and its summary (id, name, size, type, links) goes to XCom for a send task's channel
fields (WhatsApp ``mediaUrl``, Viber or push ``imageUrl``; see docs/files.md).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_twin.client.files import FileSummary, file_summary
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.failures import twin_calls_of_task

if TYPE_CHECKING:
    from airflow.sdk import Context


def check_upload_arguments(owner: str, private: Any, ttl: Any, max_file_bytes: Any = None) -> None:
    """Refuse a ``private``, ``ttl`` or ``max_file_bytes`` no run could use, when the DAG is parsed.

    :raises ValueError: naming the argument.
    """
    if not isinstance(private, bool):
        raise ValueError(f"{owner}: private must be True or False, got {private!r}")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0):
        raise ValueError(f"{owner}: ttl must be a positive number of seconds, got {ttl!r}")
    if max_file_bytes is not None and (
        isinstance(max_file_bytes, bool) or not isinstance(max_file_bytes, int) or max_file_bytes <= 0
    ):
        raise ValueError(
            f"{owner}: max_file_bytes must be a positive number of bytes, got {max_file_bytes!r}"
        )


class TwinUploadFileOperator(BaseOperator):
    """Upload one file to TWIN's file storage and return its summary.

    The file is read through the hook (a local path with ``open``, an ``ObjectStoragePath`` with
    its own ``open()``) no further than the size limit, and checked before the first request:
    too large, empty or of a type TWIN is not known to accept, the task fails without retry
    naming the file and the limit, and nothing is sent.

    A retried task uploads again: TWIN documents no way to find a stored file, so the retry
    stores a second copy under a new id. Nothing references the first copy, so nothing is sent
    twice; ``ttl`` lets such copies expire (docs/files.md, "Retries").

    :param source: local path, URL (``s3://...``, ``file://...``) or ``ObjectStoragePath``.
    :param private: store the file as private (downloaded only with a token; a messenger cannot
        fetch it, so link only public files from messages).
    :param ttl: seconds TWIN keeps the file (default: TWIN's own).
    :param path: TWIN folder to store the file in.
    :param name: file name TWIN stores; default: the source's.
    :param content_type: MIME type; default: guessed from the name.
    :param source_conn_id: Airflow connection of a URL ``source`` (e.g. ``aws_default``).
    :param max_file_bytes: the largest file uploaded (default 10 MB, ``FileLimits.max_bytes``:
        an assumed limit, TWIN states none); a larger file fails the task before any request.
    :param twin_conn_id: the ``twin`` connection.
    :return: (XCom) ``{"file_id", "name", "size", "content_type", "url", "download_link"}``;
        ``multiple_outputs`` is on, so ``upload.output["url"]`` is an XCom of its own.
    """

    template_fields: Sequence[str] = ("source", "path", "name", "content_type")
    ui_color = "#eef6e4"

    def __init__(
        self,
        *,
        source: str | os.PathLike[str] | Any,
        private: bool = False,
        ttl: int | None = None,
        path: str | None = None,
        name: str | None = None,
        content_type: str | None = None,
        source_conn_id: str | None = None,
        max_file_bytes: int | None = None,
        twin_conn_id: str = TwinHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(**kwargs)
        if source is None or source == "":
            raise ValueError(
                f"{type(self).__name__} needs a source: a local path, a URL or an ObjectStoragePath"
            )
        check_upload_arguments(type(self).__name__, private, ttl, max_file_bytes)
        # A local path is kept as text (a templated field); an ObjectStoragePath is kept as is.
        self.source = os.fspath(source) if isinstance(source, os.PathLike) else source
        self.private = private
        self.ttl = ttl
        self.path = path
        self.name = name
        self.content_type = content_type
        self.source_conn_id = source_conn_id
        self.max_file_bytes = max_file_bytes
        self.twin_conn_id = twin_conn_id

    def execute(self, context: Context) -> FileSummary:
        """Read, check and upload the file; return its summary."""
        hook = TwinHook(twin_conn_id=self.twin_conn_id)
        with twin_calls_of_task(hook):
            metadata = hook.upload_file(
                self.source,
                private=self.private,
                ttl=self.ttl,
                path=self.path or None,
                name=self.name or None,
                content_type=self.content_type or None,
                source_conn_id=self.source_conn_id,
                max_bytes=self.max_file_bytes,
            )
        summary = file_summary(metadata)
        self.log.info(
            "Uploaded %s (%d bytes, %s) to TWIN as file %s",
            summary["name"],
            summary["size"],
            summary["content_type"],
            summary["file_id"],
        )
        return summary


__all__ = ["TwinUploadFileOperator", "check_upload_arguments"]
