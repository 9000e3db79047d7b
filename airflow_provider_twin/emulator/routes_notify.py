"""Notify service: create, list and cancel messages (twin-api.md §3.2-§3.4).

The handlers avoid validation frameworks on purpose: the body is read raw, decoded with
:func:`json.loads`, checked by :mod:`.validation` and answered with pre-serialised JSON, which keeps the
emulator far from being the bottleneck of a send benchmark.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .auth import require_token
from .clock import parse_filter_bound
from .message_query import MessageQuery
from .query_params import Query, QueryError
from .responses import (
    json_response,
    malformed_json,
    raw_json_response,
    validation_error,
)
from .route_requests import authorised_body
from .state import state_of
from .strict_notify import SINGLE_VALUE_FILTERS, STRICT_NOTE_HEADER, several_values_note
from .validation import validate_batch

NOTIFY_PREFIX = "/notify/api/v1"
_CANCEL_KEYS = ("id", "bulkId", "groupId", "flowId")

router = APIRouter(prefix=NOTIFY_PREFIX)


def parse_message_query(query: Query, *, strict: bool = False) -> tuple[MessageQuery, list[str]]:
    """Build a :class:`MessageQuery` from ``GET /messages`` parameters (raises ``QueryError``).

    Also returns the notes of strict mode: there ``status`` and ``channel`` take one value each
    (twin-api.md §3.3) and several make the query match nothing (:mod:`.strict_notify`).
    """
    limit, offset = query.paging()
    created_from = created_to = None
    text = query.text("from")
    if text:
        created_from = parse_filter_bound(text, upper=False)
        if created_from is None:
            query.errors.setdefault("from", []).append("Must be an ISO-8601 date or date-time.")
    text = query.text("to")
    if text:
        created_to = parse_filter_bound(text, upper=True)
        if created_to is None:
            query.errors.setdefault("to", []).append("Must be an ISO-8601 date or date-time.")
    result = MessageQuery(
        ids=query.csv("id"),
        bulk_ids=query.csv("bulkId"),
        group_ids=query.csv("groupId"),
        flow_ids=query.csv("flowId"),
        task_ids=query.csv("taskId"),
        statuses=query.upper_set("status"),
        channels=query.upper_set("channel"),
        created_from=created_from,
        created_to=created_to,
        limit=limit,
        offset=offset,
        without_items=query.flag("withoutItems"),
        without_count=query.flag("withoutCount"),
    )
    query.raise_errors()
    notes: list[str] = []
    if strict:
        for name in SINGLE_VALUE_FILTERS:
            note = several_values_note(name, query.csv(name))
            if note is not None:
                notes.append(note)
        if notes:
            result.statuses = result.channels = frozenset()
    return result, notes


def _cancel_values(body: dict[str, Any], key: str, details: dict[str, list[str]]) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value]
    else:
        details[key] = ["Must be a comma-separated string, a list of strings or null."]
        return None
    items = [item for item in items if item]
    return items or None


@router.post("/messages")
async def create_messages(request: Request) -> Response:
    """Create a batch; 201 with one item per destination (twin-api.md §3.2.8, §7.8)."""
    state = state_of(request)
    raw = await request.body()
    with state.lock:
        denied = require_token(state, request)
        strict = state.settings.strict
    if denied is not None:
        return denied
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return malformed_json()
    plan, details = validate_batch(body, strict=strict)
    if plan is None:
        return validation_error(details)
    with state.lock:
        settings = state.settings
        # Messages sent with a stored template take its text (:mod:`.template_store`).
        unknown = state.templates.attach(plan, refuse_unknown=strict and not settings.implicit_templates)
        if unknown:
            return validation_error(unknown)
        result = state.messages.create(
            plan,
            state.now(),
            settings.delivery_seconds,
            state.picker,
            settings.time_ranges_utc_offset_minutes * 60,
        )
        state.note_stored(result.records)
        # A chat-channel attempt sent at once opens (or continues) its chat session now.
        state.chat_channel.settle()
    return raw_json_response(result.body, 201)


@router.get("/messages")
async def list_messages(request: Request) -> Response:
    """List messages with filters and paging; ``{"count", "items"}`` (twin-api.md §3.3)."""
    state = state_of(request)
    with state.lock:
        denied = require_token(state, request)
        if denied is not None:
            return denied
        try:
            query, notes = parse_message_query(Query(request.query_params), strict=state.settings.strict)
        except QueryError as exc:
            return validation_error(exc.details)
        count, items = state.messages.query(query, state.now())
    items = items if items is not None else []
    if count is None:
        # withoutCount: no total is counted, but TWIN's PHP SDK declares ``count`` a non-null
        # integer (twin-api.md §8), so the answer carries the number of items it holds.
        count = len(items)
    headers = {STRICT_NOTE_HEADER: "; ".join(notes)} if notes else None
    return json_response({"count": count, "items": items}, headers=headers)


@router.delete("/messages")
async def cancel_messages(request: Request) -> Response:
    """Cancel messages not sent yet; 200 with one item per matched message (twin-api.md §3.4)."""
    checked = await authorised_body(request)
    if isinstance(checked, Response):
        return checked
    state, body = checked
    details: dict[str, list[str]] = {}
    values = {key: _cancel_values(body, key, details) for key in _CANCEL_KEYS}
    if details:
        return validation_error(details)
    if all(value is None for value in values.values()):
        return validation_error({"id": ["At least one of id, bulkId, groupId, flowId is required."]})
    with state.lock:
        items = state.messages.cancel(
            ids=values["id"],
            bulk_ids=values["bulkId"],
            group_ids=values["groupId"],
            flow_ids=values["flowId"],
            now=state.now(),
        )
    return json_response(items)
