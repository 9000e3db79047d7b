"""Admin API under ``/_emulator``: inspect and steer the emulator (no auth, never counted or logged)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .clock import iso
from .faults import FaultRuleError
from .query_params import Query, QueryError
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

router = APIRouter(prefix=ADMIN_PREFIX)


def _paging(query: Query) -> tuple[int, int]:
    limit, offset = query.paging(default_limit=100, max_limit=100_000)
    query.raise_errors()
    return limit, offset


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
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    try:
        settings = state_of(request).update_settings(body)
    except SettingsError as exc:
        return validation_error(exc.details)
    return json_response(settings_to_dict(settings))


@router.get("/messages")
async def dump_messages(request: Request) -> Response:
    """Every stored message record, including scheduled fallback attempts, with internal fields."""
    state = state_of(request)
    query = Query(request.query_params)
    try:
        limit, offset = _paging(query)
    except QueryError as exc:
        return validation_error(exc.details)
    with state.lock:
        count, items = state.messages.dump(
            state.now(),
            bulk_ids=query.csv("bulkId"),
            group_ids=query.csv("groupId"),
            flow_ids=query.csv("flowId"),
            statuses=query.upper_set("status"),
            channels=query.upper_set("channel"),
            limit=limit,
            offset=offset,
        )
    return json_response({"count": count, "items": items})


@router.get("/sessions")
async def dump_sessions(request: Request) -> Response:
    """Every chat session with its messages (filters ``chatId``, ``status``)."""
    state = state_of(request)
    query = Query(request.query_params)
    try:
        limit, offset = _paging(query)
    except QueryError as exc:
        return validation_error(exc.details)
    with state.lock:
        now = state.now()
        state.sessions.sweep(now)
        found = state.sessions.search(now, statuses=query.upper_set("status"), chat_ids=query.csv("chatId"))
        items = []
        for session in found[offset : offset + limit]:
            info = session.info(now)
            info["messages"] = list(session.messages)
            items.append(info)
    return json_response({"count": len(found), "items": items})


@router.post("/sessions/{session_id}/close")
async def close_session(session_id: str, request: Request) -> Response:
    """Close a session now or after ``after_seconds``; fires the ``session_closed`` event."""
    state = state_of(request)
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    after = body.get("after_seconds", 0) or 0
    rating = body.get("rating_required", False)
    details: dict[str, list[str]] = {}
    if isinstance(after, bool) or not isinstance(after, int | float) or after < 0:
        details["after_seconds"] = ["Must be a number >= 0."]
    if not isinstance(rating, bool):
        details["rating_required"] = ["Must be a boolean."]
    if details:
        return validation_error(details)
    with state.lock:
        session = state.sessions.get(session_id)
        if session is None:
            return not_found()
        now = state.now()
        state.sessions.close(session, now, float(after), rating)
        info = session.info(now)
    if after > 0:
        # Fire the close event when the time comes, for realtime listeners.
        asyncio.get_running_loop().call_later(float(after) + 0.01, state.sweep_sessions)
    return json_response(info)


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
    try:
        query.raise_errors()
    except QueryError as exc:
        return validation_error(exc.details)
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
