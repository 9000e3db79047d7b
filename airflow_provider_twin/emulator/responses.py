"""JSON bodies in TWIN's shapes: pre-serialised responses, error bodies and request-body decoding."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

JSON_TYPE = "application/json"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise ``data`` once and wrap it in a response (no validation layer on the way)."""
    return raw_json_response(json.dumps(data, separators=(",", ":"), ensure_ascii=False), status, headers)


def raw_json_response(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Wrap an already serialised JSON text."""
    return Response(content=body.encode(), status_code=status, media_type=JSON_TYPE, headers=headers)


def error_response(message: str, status: int, details: dict[str, list[str]] | None = None) -> Response:
    """TWIN error body ``{"error": ..., "details": ...}`` (twin-api.md §6, §7.10)."""
    body: dict[str, Any] = {"error": message}
    if details is not None:
        body["details"] = details
    return json_response(body, status)


def validation_error(details: dict[str, list[str]]) -> Response:
    """422 with per-field messages (ASSUMPTION twin-api.md §7.10)."""
    return error_response("Validation failed", 422, details)


def not_found() -> Response:
    """404 as documented for the chat API (twin-api.md §4.2)."""
    return error_response("Entity not found", 404)


class MalformedJSONError(Exception):
    """The request body is not valid JSON."""


_NO_DEFAULT: Any = object()


async def read_json(request: Request, *, empty: Any = _NO_DEFAULT) -> Any:
    """Decode the body; an empty body yields ``empty``, or is malformed when no ``empty`` is given."""
    raw = await request.body()
    if not raw.strip():
        if empty is _NO_DEFAULT:
            raise MalformedJSONError("empty body")
        return empty
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJSONError(str(exc)) from exc


def malformed_json() -> Response:
    """400 for a body that is not JSON (ASSUMPTION twin-api.md §7.10)."""
    return error_response("Malformed JSON body.", 400)


async def read_json_object(request: Request, *, allow_empty: bool = True) -> dict[str, Any] | Response:
    """The body as a JSON object, or the response that refuses it.

    A body that is not JSON is refused with 400, one that is not an object with 422. An empty body
    reads as ``{}`` when ``allow_empty``, else it is not JSON.
    """
    try:
        body = await read_json(request, empty={} if allow_empty else _NO_DEFAULT)
    except MalformedJSONError:
        return malformed_json()
    if not isinstance(body, dict):
        return validation_error({"body": ["Must be a JSON object."]})
    return body
