"""The preamble every token-checked emulator route shares: judge the token, read the JSON body.

The notify, tasks, templates, files and chat routes all start the same way: the bearer token is
judged under the state lock (:func:`.require_token`) and a refused token answers before anything
else; then the body, when there is one, is read as a JSON object (:func:`.read_json_object`), or
the paging of a list call is read (:func:`.authorised_page`). This
module is that procedure written once. Like the rest of the emulator it imports nothing from the
provider package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .auth import authorised_page, require_token
from .list_requests import Page
from .responses import read_json_object
from .state import EmulatorState, state_of


def authorised_state(request: Request) -> EmulatorState | Response:
    """The emulator state of a request with a valid token, or the response refusing the token.

    The token is judged with the lock held and the lock is released before returning, for routes
    that read the body or a form before they touch the state again.
    """
    state = state_of(request)
    with state.lock:
        denied = require_token(state, request)
    return state if denied is None else denied


async def authorised_body(
    request: Request, *, allow_empty: bool = True
) -> tuple[EmulatorState, dict[str, Any]] | Response:
    """The state and JSON-object body of a request with a valid token, or the refusing response.

    The token is judged first, so a call without a valid token is refused for that whatever its
    body; then the body must be a JSON object (400 when it is not JSON, 422 when not an object).
    """
    state = authorised_state(request)
    if isinstance(state, Response):
        return state
    body = await read_json_object(request, allow_empty=allow_empty)
    if isinstance(body, Response):
        return body
    return state, body


def answer_authorised(request: Request, answer: Callable[[EmulatorState], Response]) -> Response:
    """Hold the state lock, judge the token, and give ``answer(state)`` when the token is valid.

    For routes whose whole work is done under the lock (look-ups, status changes, deletions).
    """
    state = state_of(request)
    with state.lock:
        denied = require_token(state, request)
        return denied if denied is not None else answer(state)


def answer_page(request: Request, answer: Callable[[EmulatorState, Page], Response]) -> Response:
    """Hold the state lock, judge the token, then the paging, and give ``answer(state, page)``.

    For the list routes: a call without a valid token is refused for that whatever its parameters
    (:func:`.authorised_page`), a bad ``limit``/``offset`` with 422.
    """
    state = state_of(request)
    with state.lock:
        page = authorised_page(state, request)
        return page if isinstance(page, Response) else answer(state, page)


__all__ = ["answer_authorised", "answer_page", "authorised_body", "authorised_state"]
