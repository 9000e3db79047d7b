"""Admin API under ``/_emulator``: inspect and steer the emulator (no auth, never counted or logged)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .clock import iso
from .faults import FaultRuleError
from .list_requests import Page, query_refusal, read_page, time_bounds
from .query_params import Query
from .responses import (
    error_response,
    json_response,
    not_found,
    read_json_object,
    validation_error,
)
from .settings import SettingsError, settings_to_dict
from .state import account_subject, state_of

ADMIN_PREFIX = "/_emulator"
DEFAULT_API_HELP_TTL = 86400
T = TypeVar("T")

router = APIRouter(prefix=ADMIN_PREFIX)


def _dump_page(request: Request) -> Page | Response:
    """The paging of an admin dump: 100 items by default and up to 100 000, larger than TWIN's lists."""
    return read_page(request, default_limit=100, max_limit=100_000)


async def answer_settings_patch(
    request: Request, apply: Callable[[dict[str, Any]], T], render: Callable[[T], dict[str, Any]]
) -> Response:
    """Answer a settings ``PATCH``: ``apply`` the JSON body, answer the new settings as ``render`` shows them.

    The emulator's settings and the websocket's settings follow one rule: a body that is not a JSON
    object is refused as :func:`.read_json_object` says, a :class:`SettingsError` becomes a 422 with
    its per-field messages.
    """
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    try:
        settings = apply(body)
    except SettingsError as exc:
        return validation_error(exc.details)
    return json_response(render(settings))


@router.get("/health")
async def health() -> Response:
    """Liveness probe."""
    return json_response({"status": "ok"})


@router.post("/reset")
async def reset(request: Request) -> Response:
    """Forget messages, sessions, counters, the request log and faults; keep settings."""
    state_of(request).reset()
    return json_response({"status": "reset"})


@router.get("/settings")
async def get_settings(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        return json_response(settings_to_dict(state.settings))


@router.patch("/settings")
async def patch_settings(request: Request) -> Response:
    """Change some settings; answers the complete new settings."""
    return await answer_settings_patch(request, state_of(request).update_settings, settings_to_dict)


@router.get("/messages")
async def dump_messages(request: Request) -> Response:
    """Every stored message record, including scheduled fallback attempts, with internal fields."""
    state = state_of(request)
    page = _dump_page(request)
    if isinstance(page, Response):
        return page
    query = page.query
    with state.lock:
        count, items = state.messages.dump(
            state.now(),
            bulk_ids=query.csv("bulkId"),
            group_ids=query.csv("groupId"),
            flow_ids=query.csv("flowId"),
            statuses=query.upper_set("status"),
            channels=query.upper_set("channel"),
            limit=page.limit,
            offset=page.offset,
        )
    return json_response({"count": count, "items": items})


@router.get("/sessions")
async def dump_sessions(request: Request) -> Response:
    """Every chat session with its messages (filters ``chatId``, ``status``, ``from``/``to`` on
    ``startedAt``)."""
    state = state_of(request)
    page = _dump_page(request)
    if isinstance(page, Response):
        return page
    query = page.query
    bounds = time_bounds(query)
    if isinstance(bounds, Response):
        return bounds
    with state.lock:
        now = state.now()
        state.sessions.sweep(now)
        found = state.sessions.search(
            now,
            statuses=query.upper_set("status"),
            chat_ids=query.csv("chatId"),
            started_from=bounds[0],
            started_to=bounds[1],
        )
        items = []
        for session in page.window(found):
            info = session.info(now)
            info["messages"] = list(session.messages)
            items.append(info)
    return json_response({"count": len(found), "items": items})


@router.get("/tasks")
async def dump_tasks(request: Request) -> Response:
    """Every send job as ``GET /tasks`` lists it, and ``nextWindowAt``: when a running job that is
    outside its send windows now sends again (null otherwise)."""
    state = state_of(request)
    page = _dump_page(request)
    if isinstance(page, Response):
        return page
    with state.lock:
        now = state.now()
        offset = state.settings.time_ranges_utc_offset_minutes * 60
        tasks = list(state.tasks.tasks.values())
        items = []
        for task in page.window(tasks):
            opens = state.tasks.next_window_at(task, now, offset)
            item = task.item(state.tasks.in_progress(state, task))
            items.append({**item, "nextWindowAt": None if opens is None else iso(opens)})
    return json_response({"count": len(tasks), "items": items})


@router.post("/sessions/{session_id}/close")
async def close_session(session_id: str, request: Request) -> Response:
    """Close a session now or after ``after_seconds``, optionally with the client's ``rating`` (1-5);
    fires the ``session_closed`` event."""
    state = state_of(request)
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    after = body.get("after_seconds", 0) or 0
    required = body.get("rating_required", False)
    rating = body.get("rating")
    details = close_refusals(after, required, rating)
    if details:
        return validation_error(details)
    with state.lock:
        session = state.sessions.get(session_id)
        if session is None:
            return not_found()
        now = state.now()
        state.sessions.close(session, now, float(after), required, rating)
        info = session.info(now)
    if after > 0:
        # Fire the close event when the time comes, for realtime listeners.
        asyncio.get_running_loop().call_later(float(after) + 0.01, state.sweep_sessions)
    return json_response(info)


@router.post("/sessions/{session_id}/rate")
async def rate_session(session_id: str, request: Request) -> Response:
    """The client rates a closed session (``{"rating": 1-5 or null}``), as TWIN asks it to after the
    close (``sessionRatingRequired``); the session object then carries ``rating``. 409 while the
    session is open (ASSUMPTION, docs/emulator.md)."""
    state = state_of(request)
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    rating = body.get("rating")
    if "rating" not in body:
        return validation_error({"rating": ["Required: null or an integer from 1 to 5."]})
    details = close_refusals(0, False, rating)
    if details:
        return validation_error(details)
    with state.lock:
        session = state.sessions.get(session_id)
        if session is None:
            return not_found()
        now = state.now()
        state.sessions.sweep(now)
        if session.is_open(now):
            return error_response("Session is open: a client rates a session once it is closed.", 409)
        session.rating = rating
        info = session.info(now)
    return json_response(info)


def close_refusals(after: Any, rating_required: Any, rating: Any) -> dict[str, list[str]]:
    """What is wrong with the fields of an admin close (empty when nothing is)."""
    details: dict[str, list[str]] = {}
    if isinstance(after, bool) or not isinstance(after, int | float) or after < 0:
        details["after_seconds"] = ["Must be a number >= 0."]
    if not isinstance(rating_required, bool):
        details["rating_required"] = ["Must be a boolean."]
    valid_rating = isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5
    if rating is not None and not valid_rating:
        details["rating"] = ["Must be null or an integer from 1 to 5."]
    return details


@router.get("/counters")
async def counters(request: Request) -> Response:
    return json_response(state_of(request).counters_snapshot())


@router.get("/requests")
async def requests_log(request: Request) -> Response:
    """Recent product-API requests, oldest first (filters: method, route, path, status, limit)."""
    state = state_of(request)
    query = Query(request.query_params)
    limit = query.integer("limit", 1000, 1, state.settings.request_log_size)
    status = query.integer("status", 0, 0, 599)
    refused = query_refusal(query)
    if refused is not None:
        return refused
    method = query.text("method")
    with state.lock:
        items = state.request_log.entries(
            method=None if method is None else method.upper(),
            route=query.text("route"),
            path=query.text("path"),
            status=status or None,
            limit=limit,
        )
        total = state.request_log.total
    return json_response({"total": total, "count": len(items), "items": items})


@router.post("/faults")
async def add_fault(request: Request) -> Response:
    """Add a fault rule; answers the rule with its ``id``."""
    state = state_of(request)
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    with state.lock:
        try:
            rule = state.faults.add(body)
        except FaultRuleError as exc:
            return validation_error(exc.details)
        return json_response(rule.to_dict(), 201)


@router.get("/faults")
async def list_faults(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        return json_response([rule.to_dict() for rule in state.faults.rules()])


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        removed = len(state.faults.rules())
        state.faults.clear()
    return json_response({"removed": removed})


@router.delete("/faults/{fault_id}")
async def delete_fault(fault_id: str, request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        if not fault_id.isdigit() or not state.faults.remove(int(fault_id)):
            return not_found()
    return json_response({"removed": 1})


@router.post("/clock/advance")
async def advance_clock(request: Request) -> Response:
    """Fast-forward the emulator's clock by ``seconds`` (deliveries, ``sendAt``, TTLs come due)."""
    state = state_of(request)
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return validation_error({"seconds": ["Must be a number >= 0."]})
    offset = state.advance_clock(float(seconds))
    state.sweep_sessions()
    state.webhooks.sweep()
    return json_response({"offset_seconds": offset})


@router.post("/tokens/expire")
async def expire_tokens(request: Request) -> Response:
    """Every token expires ``after_seconds`` (default 0) from now.

    Tokens issued so far are refused from then on; tokens issued until then carry that moment as
    their ``exp``, so a client that renews on ``exp`` sees the expiry coming and recovers.
    """
    state = state_of(request)
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    after = body.get("after_seconds", 0)
    if isinstance(after, bool) or not isinstance(after, int | float) or not 0 <= after <= 86400:
        return validation_error({"after_seconds": ["Must be a number of seconds from 0 to 86400."]})
    with state.lock:
        moment = state.tokens.expire_all(state.token_now(), float(after))
    return json_response({"status": "expired", "expires_at": iso(moment)})


@router.post("/tokens")
async def mint_token(request: Request) -> Response:
    """A ready-made "API help" token (twin-api.md §2.1) for ``email`` or the first account.

    The ``token_ttl_cap`` setting does not apply: such a token cannot be refreshed.
    """
    state = state_of(request)
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    ttl = body.get("ttl")
    if ttl is None:
        ttl = DEFAULT_API_HELP_TTL
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
        return validation_error({"ttl": ["Must be a positive number of seconds."]})
    email = body.get("email")
    with state.lock:
        account = state.settings.accounts[0] if email is None else state.find_account(str(email))
        if account is None:
            return error_response("Unknown account.", 404)
        token = state.tokens.issue(
            account_subject(account), account.company_id, float(ttl), state.token_now(), kind="api_help"
        )
    return json_response({"token": token})
