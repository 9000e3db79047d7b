"""The send operator's ``attachments``: files uploaded once and linked from the channel fields.

``attachments`` lists local paths, URLs or ``ObjectStoragePath`` s to upload, and/or files
already uploaded (the summary :class:`~.files.TwinUploadFileOperator` returns, or TWIN's file
metadata). Before the first request, every file is read and checked against the upload limits,
every channel is checked to carry it
(:func:`airflow_provider_twin.client.messages.attachment_problems`: WhatsApp ``mediaUrl``,
Viber and push ``imageUrl``; the others are refused by name) and the whole send is validated
with the links still unknown. Only then are the new files uploaded (one request, public), and
their links filled into the channels.

A retried task uploads again (TWIN documents no way to find a stored file): the copy is linked
only from chunks not yet sent, and chunks already sent are skipped by their ``bulkId``, so every
recipient still gets one message (docs/files.md, "Retries").
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_twin.client import TwinError, TwinInputError
from airflow_provider_twin.client.messages import (
    AttachedFile,
    attach_files,
    attached_file,
    attachment_problems,
    plan_send,
)
from airflow_provider_twin.hooks.file_sources import read_upload
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.failures import airflow_error

if TYPE_CHECKING:
    from airflow_provider_twin.operators.messages import TwinSendMessagesOperator

#: A file read and checked for upload (``client.files.Upload``, a domain this module does not import).
Upload = Any

#: The link validation sees before the real one exists (never sent).
PLACEHOLDER_LINK = "https://files.twin24.invalid/"


def _items(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, (str, os.PathLike, Mapping)) or hasattr(value, "open"):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    raise TwinInputError(f"attachments: expected a list of files, got {type(value).__name__}")


def _is_file_id(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _read(items: list[Any]) -> tuple[list[AttachedFile | Upload], list[str]]:
    """Each item as an uploaded file or a checked upload, and the problems found."""
    found: list[AttachedFile | Upload] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        where = f"attachments[{index}]"
        if isinstance(item, Mapping):
            attached, problem = attached_file(item, where)
            if attached is not None:
                found.append(attached)
            if problem:
                problems.append(problem)
            continue
        if isinstance(item, str) and _is_file_id(item) and not os.path.exists(item):
            problems.append(
                f"{where}: {item} looks like a TWIN file id, which carries no link; give the upload's "
                "summary (TwinUploadFileOperator's output) instead"
            )
            continue
        try:
            found.append(read_upload(item))
        except TwinInputError as exc:
            problems.extend(f"{where}: {line}" for line in exc.problems or [str(exc)])
        except (OSError, TypeError, ValueError) as exc:
            problems.append(f"{where}: cannot read {item!s}: {exc}")
    return found, problems


def _placeholders(files: list[AttachedFile | Upload]) -> list[AttachedFile]:
    return [
        item
        if isinstance(item, AttachedFile)
        else AttachedFile(item.name, item.content_type, PLACEHOLDER_LINK)
        for item in files
    ]


def with_attachments(
    op: TwinSendMessagesOperator,
    identity: tuple[str, str, str, int],
    settings: dict[str, Any],
    find_template: Callable[[str], Mapping[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """``settings`` with ``op.attachments`` uploaded and linked from the channels.

    Nothing is uploaded, and nothing sent, unless the files, the channels and the whole send
    are valid, the template checks included (``find_template``: a missing template or a
    recipient without one of its variables fails before any upload).

    :raises TwinInputError: a file, a channel or the send is invalid (naming it).
    :raises AirflowException: the upload failed (see :func:`~.failures.airflow_error`).
    """
    items = _items(op.attachments)
    if not items:
        return settings
    if op.messages is not None:
        raise TwinInputError(
            "attachments: apply to recipients sends; with raw messages, set the channel fields"
        )
    files, problems = _read(items)
    problems.extend(attachment_problems(settings.get("channels"), [(f.name, f.content_type) for f in files]))
    if problems:
        raise TwinInputError(
            f"{len(problems)} problem(s) with the attachments; nothing was sent:\n"
            + "\n".join(f"- {line}" for line in problems),
            problems=problems,
        )
    # The whole send, validated with a placeholder link before any upload.
    placeholder = {**settings, "channels": attach_files(settings.get("channels"), _placeholders(files))}
    plan_send(
        identity,
        placeholder,
        recipients=op.recipients,
        recipients_file=op.file_source(),
        file_format=op.recipients_file_format,
        deduplicate=op.deduplicate,
        find_template=find_template,
    )
    uploads = [item for item in files if not isinstance(item, AttachedFile)]
    linked = iter(_upload(op, uploads) if uploads else [])
    attached = [item if isinstance(item, AttachedFile) else next(linked) for item in files]
    for item in attached:
        op.log.info("Attaching %s (%s) as %s", item.name, item.content_type, item.link)
    return {**settings, "channels": attach_files(settings.get("channels"), attached)}


def _upload(op: TwinSendMessagesOperator, uploads: list[Upload]) -> list[AttachedFile]:
    hook = TwinHook(twin_conn_id=op.twin_conn_id)
    try:
        stored = hook.upload_files(uploads, private=False)
    except TwinInputError:
        raise
    except TwinError as exc:
        raise airflow_error(exc) from exc
    finally:
        hook.close()
    attached = []
    for index, metadata in enumerate(stored):
        item, problem = attached_file(metadata, f"attachments[{index}]")
        if item is None:
            raise airflow_error(
                TwinError(f"TWIN stored {uploads[index].name} without a usable link: {problem}")
            )
        attached.append(item)
    return attached
