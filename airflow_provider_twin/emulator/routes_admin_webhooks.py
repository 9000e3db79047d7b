"""Admin API of the status webhooks: what was sent where, with which result (``/_emulator/webhooks``)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .list_requests import read_page
from .responses import json_response
from .routes_admin import ADMIN_PREFIX
from .state import state_of

router = APIRouter(prefix=ADMIN_PREFIX)


@router.get("/webhooks")
async def list_webhooks(request: Request) -> Response:
    """Webhook deliveries oldest first, ``{"count", "pending", "items"}``.

    Filters: ``messageId``, ``result`` (``queued``, ``sending``, ``delivered``, ``failed``,
    ``refused``), ``newStatus``; paging ``limit`` (default 1000, up to 100 000) and ``offset``.
    ``pending`` counts the scheduled status changes not yet due or not yet queued.
    """
    state = state_of(request)
    state.webhooks.ensure_running()
    page = read_page(request, default_limit=1000, max_limit=100_000)
    if isinstance(page, Response):
        return page
    query = page.query
    results = query.csv("result")
    with state.lock:
        found = state.webhooks.deliveries(
            message_ids=query.csv("messageId"),
            results=None if results is None else frozenset(value.lower() for value in results),
            new_statuses=query.upper_set("newStatus"),
        )
        items = [delivery.to_dict() for delivery in page.window(found)]
        pending = len(state.messages.webhooks)
    return json_response({"count": len(found), "pending": pending, "items": items})


@router.delete("/webhooks")
async def clear_webhooks(request: Request) -> Response:
    """Forget the deliveries listed so far (webhooks being retried are not sent any more)."""
    state = state_of(request)
    with state.lock:
        removed = len(state.webhooks.log)
        state.webhooks.reset()
    return json_response({"removed": removed})
