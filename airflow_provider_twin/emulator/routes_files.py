"""IAM file storage: ``POST /iam/api/v1/files`` and ``GET /iam/api/v1/files/{fileId}`` (twin-api.md §2.6).

The upload is ``multipart/form-data`` as TWIN's SDK sends it: one ``file[]`` part per file
(with its file name) and the optional plain fields ``private``, ``path`` and ``ttl``. It answers
a JSON array of file metadata, one object per file in the order sent (the SDK reads it as a
``FileMetadataList``). The download answers the bytes with ``Content-Disposition: attachment``
(the SDK treats such an answer as a file stream, twin-api.md §1.2).

ASSUMPTIONS (see :mod:`.file_store`, docs/emulator.md "Files"): the upload answers HTTP 201;
``private`` is read as PHP writes a boolean into a form (``1`` true, empty false) and also as
``true``/``false``/``0``; the limits are enforced in strict mode only, with 422 and the field
``file[]`` named.
"""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .auth import bearer_token, require_token
from .file_store import MAX_FILE_BYTES, MAX_FILES_PER_UPLOAD, StoredFile, accepted_type
from .multipart_form import FormPart, MultipartError, parse_form
from .responses import error_response, json_response, not_found, validation_error
from .route_requests import authorised_state
from .routes_iam import IAM_PREFIX
from .state import EmulatorState, account_subject, state_of

#: The form field of the files (twin-api.md §2.6).
FILE_FIELD = "file[]"
_TRUE = frozenset({"1", "true", "on", "yes"})
_FALSE = frozenset({"", "0", "false", "off", "no"})

router = APIRouter(prefix=IAM_PREFIX)


def _owner_id(state: EmulatorState, request: Request) -> int | None:
    token = bearer_token(request)
    if token is None:
        return None
    _, claims = state.tokens.check(token, state.token_now())
    if claims is None:
        return None
    for position, account in enumerate(state.settings.accounts, start=1):
        if account_subject(account) == claims.subject:
            return position
    return None


def _fields(parts: list[FormPart], details: dict[str, list[str]]) -> tuple[bool, str | None, int | None]:
    values = {part.name: part.text.strip() for part in parts if part.filename is None}
    private_text = values.get("private", "").lower()
    if private_text not in _TRUE | _FALSE:
        details["private"] = ["Must be a boolean (1 or an empty value, true or false)."]
    ttl: int | None = None
    ttl_text = values.get("ttl", "")
    if ttl_text:
        try:
            ttl = int(ttl_text)
        except ValueError:
            ttl = 0
        if ttl <= 0:
            details["ttl"] = ["Must be a positive number of seconds."]
    return private_text in _TRUE, values.get("path") or None, ttl


def _content_type(part: FormPart) -> str:
    if part.content_type:
        return part.content_type.split(";")[0].strip().lower()
    guessed, _ = mimetypes.guess_type(part.filename or "")
    return guessed or "application/octet-stream"


def _limit_problems(files: list[FormPart]) -> list[str]:
    """What strict mode refuses in the files of one upload (ASSUMPTIONS of :mod:`.file_store`)."""
    problems = []
    if len(files) > MAX_FILES_PER_UPLOAD:
        problems.append(f"{len(files)} files in one upload; at most {MAX_FILES_PER_UPLOAD}.")
    for part in files:
        name = part.filename or "(no name)"
        if not part.data:
            problems.append(f"{name}: the file is empty.")
        elif len(part.data) > MAX_FILE_BYTES:
            problems.append(f"{name}: {len(part.data)} bytes; at most {MAX_FILE_BYTES} bytes per file.")
        content_type = _content_type(part)
        if not accepted_type(content_type):
            problems.append(f"{name}: content type {content_type} is not accepted.")
    return problems


@router.post("/files")
async def upload_files(request: Request) -> Response:
    """Store the ``file[]`` parts of a multipart form; answer their metadata, in order."""
    state = authorised_state(request)
    if isinstance(state, Response):
        return state
    try:
        parts = parse_form(await request.body(), request.headers.get("content-type"))
    except MultipartError as exc:
        return error_response(f"Malformed multipart body: {exc}", 400)
    files = [part for part in parts if part.filename is not None and part.name == FILE_FIELD]
    details: dict[str, list[str]] = {}
    private, folder, ttl = _fields(parts, details)
    if not files:
        details[FILE_FIELD] = ["At least one file is required."]
    elif state.settings.strict:
        problems = _limit_problems(files)
        if problems:
            details[FILE_FIELD] = problems
    if details:
        return validation_error(details)
    base_url = str(request.base_url)
    with state.lock:
        owner = _owner_id(state, request)
        stored = [
            state.files.add(
                name=part.filename or "file",
                content_type=_content_type(part),
                data=part.data,
                private=private,
                folder=folder,
                ttl=ttl,
                now=state.now(),
                owner_id=owner,
            )
            for part in files
        ]
        state.files.uploads += 1
    return json_response([item.metadata(base_url) for item in stored], 201)


def _disposition(stored: StoredFile) -> str:
    fallback = stored.name.encode("ascii", "replace").decode().replace('"', "'")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(stored.name)}"


@router.get("/files/{file_id}")
async def download_file(request: Request, file_id: str) -> Response:
    """The bytes of a file; a private file only with a valid token."""
    state = state_of(request)
    with state.lock:
        stored = state.files.get(file_id, state.now())
        if stored is None:
            return not_found()
        if stored.private:
            denied = require_token(state, request)
            if denied is not None:
                return denied
    return Response(
        content=stored.data,
        media_type=stored.content_type,
        headers={"Content-Disposition": _disposition(stored)},
    )
