"""TWIN file storage (IAM ``POST /files``, ``GET /files/{fileId}``, twin-api.md §2.6).

Files are checked against :class:`FileLimits` before the first request
(:func:`prepare_upload`), uploaded by :func:`upload_procedure` (run by either client), and
summarised for XCom by :func:`file_summary`. ``files_api`` holds the calls.
"""

from __future__ import annotations

from airflow_provider_twin.client.files import api as files_api
from airflow_provider_twin.client.files.api import DownloadedFile, download_file, upload_files
from airflow_provider_twin.client.files.limits import (
    ACCEPTED_TYPES,
    DEFAULT_LIMITS,
    MAX_FILE_BYTES,
    MAX_FILES_PER_UPLOAD,
    FileLimits,
    content_type_for,
)
from airflow_provider_twin.client.files.models import FileMetadata, FileSummary, file_summary
from airflow_provider_twin.client.files.upload import Upload, file_problems, prepare_upload, upload_procedure

__all__ = [
    "ACCEPTED_TYPES",
    "DEFAULT_LIMITS",
    "MAX_FILES_PER_UPLOAD",
    "MAX_FILE_BYTES",
    "DownloadedFile",
    "FileLimits",
    "FileMetadata",
    "FileSummary",
    "Upload",
    "content_type_for",
    "download_file",
    "file_problems",
    "file_summary",
    "files_api",
    "prepare_upload",
    "upload_files",
    "upload_procedure",
]
