"""Bearer-token checks for the notify and chat routes, and the token-checked read of a list call."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .list_requests import Page, read_page
from .responses import error_response
from .state import EmulatorState
from .tokens import TokenState

#: Exact body TWIN clients look for to re-authenticate and repeat the call (twin-api.md §2.5).
EXPIRED_ERROR_TEXT = "Token is expired."
UNAUTHORIZED_MESSAGE = "Unauthorized"


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def raw_or_bearer_token(request: Request) -> str | None:
    """Token of an ``Authorization`` header with or without the ``Bearer`` prefix (refresh call)."""
    header = request.headers.get("authorization")
    if not header:
        return None
    header = header.strip()
    if header.lower().startswith("bearer "):
        header = header[7:].strip()
    return header or None


def require_token(state: EmulatorState, request: Request) -> Response | None:
    """Return an error response when the request lacks a valid token, else None.

    Missing or foreign tokens get 401 ``{"error": "Unauthorized"}``; expired ones get exactly
    ``{"error": "Token is expired."}`` with 401, or 403 when ``expired_token_status`` says so
    (ASSUMPTION twin-api.md §7.10). Call with the state lock held.
    """
    token = bearer_token(request)
    if token is None:
        return error_response(UNAUTHORIZED_MESSAGE, 401)
    verdict, _claims = state.tokens.check(token, state.token_now())
    if verdict is TokenState.VALID:
        return None
    if verdict is TokenState.EXPIRED:
        return error_response(EXPIRED_ERROR_TEXT, state.settings.expired_token_status)
    return error_response(UNAUTHORIZED_MESSAGE, 401)


def authorised_page(state: EmulatorState, request: Request) -> Page | Response:
    """The paging of a token-checked list call, or the response that refuses the call.

    The token is judged first (:func:`require_token`), then the query (:func:`.read_page`), so a
    call without a valid token is refused for that whatever its parameters. Call with the state lock
    held.
    """
    denied = require_token(state, request)
    if denied is not None:
        return denied
    return read_page(request)
