"""Routes of the realtime websocket and its admin API.

* ``/centrifugo/connection/websocket``: TWIN's Centrifugo endpoint (see :mod:`.centrifugo_hub`).
* ``GET|PATCH /_emulator/centrifugo``: settings, counters and open connections.
* ``POST /_emulator/centrifugo/drop``: close connections (fault injection).
* ``POST /_emulator/centrifugo/publish``: push raw ``pub.data`` for a session.
* ``GET /_emulator/centrifugo/publications``: what was published and when.
* ``POST /_emulator/sessions/{id}/events``: emit one of TWIN's chat events for a session.

:func:`install_realtime` adds all of them to an application built by ``create_app``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from .centrifugo_hub import CentrifugoHub
from .centrifugo_protocol import CENTRIFUGO_PATH, DISCONNECT_SHUTDOWN
from .centrifugo_settings import CentrifugoSettings
from .list_requests import query_refusal
from .query_params import Query
from .realtime_events import EVENT_NAMES, default_payload
from .responses import (
    json_response,
    not_found,
    read_json_object,
    validation_error,
)
from .routes_admin import ADMIN_PREFIX, answer_settings_patch
from .state import EmulatorState, state_of

websocket_router = APIRouter()
admin_router = APIRouter(prefix=ADMIN_PREFIX)


def hub_of(app: Any) -> CentrifugoHub:
    """The realtime hub installed on ``app`` by :func:`install_realtime`."""
    hub: CentrifugoHub = app.state.centrifugo
    return hub


def install_realtime(app: FastAPI, state: EmulatorState) -> CentrifugoHub:
    """Create the hub for ``state``, store it as ``app.state.centrifugo`` and add the routes."""
    hub = CentrifugoHub(state)
    app.state.centrifugo = hub
    app.include_router(websocket_router)
    app.include_router(admin_router)
    return hub


@websocket_router.websocket(CENTRIFUGO_PATH)
async def centrifugo_websocket(websocket: WebSocket) -> None:
    """TWIN's realtime websocket (Centrifugo JSON protocol v2, twin-api.md §5)."""
    await hub_of(websocket.app).serve(websocket)


@admin_router.get("/centrifugo")
async def realtime_status(request: Request) -> Response:
    """Settings, counters and open connections of the websocket."""
    return json_response(hub_of(request.app).snapshot())


@admin_router.patch("/centrifugo")
async def realtime_settings(request: Request) -> Response:
    """Change websocket settings (e.g. ``{"ping_interval": 1}``); answers the new settings."""
    return await answer_settings_patch(
        request, hub_of(request.app).update_settings, CentrifugoSettings.to_dict
    )


@admin_router.post("/centrifugo/drop")
async def drop_connections(request: Request) -> Response:
    """Close websocket connections: all, or those listening to ``session_id``.

    Body: ``{"code": 3001, "reason": "shutdown", "session_id": null}``. Codes below 3500 tell
    clients to reconnect; 3500-3999 tell them not to.
    """
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    code = body.get("code", DISCONNECT_SHUTDOWN)
    reason = body.get("reason", "shutdown")
    session_id = body.get("session_id")
    details: dict[str, list[str]] = {}
    if isinstance(code, bool) or not isinstance(code, int) or not (code == 1000 or 3000 <= code <= 4999):
        details["code"] = ["Must be 1000 or a code from 3000 to 4999."]
    if not isinstance(reason, str):
        details["reason"] = ["Must be a string."]
    if session_id is not None and not isinstance(session_id, str):
        details["session_id"] = ["Must be a string."]
    if details:
        return validation_error(details)
    dropped = hub_of(request.app).drop(code, reason, session_id)
    return json_response({"dropped": dropped})


@admin_router.post("/centrifugo/publish")
async def publish_raw(request: Request) -> Response:
    """Push ``data`` as-is (any JSON) to the listeners of ``session_id``."""
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    session_id = body.get("session_id")
    if not isinstance(session_id, str) or not session_id or "data" not in body:
        return validation_error({"body": ["Needs session_id (string) and data (any JSON)."]})
    delivered = hub_of(request.app).publish_raw(session_id, body["data"])
    return json_response({"connections": delivered})


@admin_router.get("/centrifugo/publications")
async def publications(request: Request) -> Response:
    """Publications, oldest first: ``{session_id, event, published_at, connections}``.

    Filters: ``session_id``, ``event``, ``limit`` (the most recent ones).
    """
    query = Query(request.query_params)
    limit = query.integer("limit", 1000, 1, 1_000_000)
    refused = query_refusal(query)
    if refused is not None:
        return refused
    session_id = query.text("session_id")
    event = query.text("event")
    items = [
        item
        for item in hub_of(request.app).publications
        if (session_id is None or item["session_id"] == session_id.lower())
        and (event is None or item["event"] == event)
    ]
    return json_response({"count": len(items), "items": items[-limit:]})


@admin_router.post("/sessions/{session_id}/events")
async def emit_event(session_id: str, request: Request) -> Response:
    """Emit a chat event of a session over the websocket (twin-api.md §5.6).

    Body: ``{"event": "<name>", "payload": {...}}``; missing documented fields get defaults.
    ``chatMessageCreated`` is also stored as a session message; ``sessionClosed`` closes the
    session (``payload.sessionRatingRequired`` is kept) so REST agrees with the event.
    Answers ``{"event", "payload", "connections"}``.
    """
    body = await read_json_object(request)
    if isinstance(body, Response):
        return body
    name = body.get("event")
    given = body.get("payload") or {}
    details: dict[str, list[str]] = {}
    if name not in EVENT_NAMES:
        details["event"] = [f"Must be one of {', '.join(EVENT_NAMES)}."]
    if not isinstance(given, dict):
        details["payload"] = ["Must be a JSON object."]
    if details:
        return validation_error(details)
    state = state_of(request)
    hub = hub_of(request.app)
    with state.lock:
        session = state.sessions.get(session_id)
        if session is None:
            return not_found()
        now = state.now()
        payload = default_payload(str(name), session.id, now, given)
        if name == "sessionClosed":
            if payload.get("chatId") is None:
                payload["chatId"] = session.chat_id
            if session.is_open(now):
                # Closing makes the store fire session_closed, which the hub publishes at once
                # (this handler runs on the server's event loop).
                before = hub.stats["deliveries"]
                state.sessions.close(session, now, 0.0, bool(payload.get("sessionRatingRequired")))
                closed = session.closed_event_data()
                return json_response(
                    {"event": name, "payload": closed, "connections": hub.stats["deliveries"] - before}
                )
        elif name == "chatMessageCreated":
            session.messages.append(_stored_message(payload))
    delivered = hub.publish(session.id, str(name), payload)
    return json_response({"event": name, "payload": payload, "connections": delivered})


def _stored_message(payload: dict[str, Any]) -> dict[str, Any]:
    """The REST form (twin-api.md §4.5) of a message emitted as an event, with every field TWIN's
    PHP SDK reads (twin-api.md §8); the event's ``replyToMessage`` becomes ``replyTo``."""
    reply_to = payload.get("replyToMessage")
    return {
        "id": payload.get("id"),
        "sessionId": payload.get("sessionId"),
        "authorId": payload.get("authorId"),
        "authorType": payload.get("authorType"),
        "authorName": payload.get("authorName"),
        "type": payload.get("type") or "REGULAR",
        "body": payload.get("body"),
        "answers": payload.get("answers") or [],
        "keyboard": payload.get("keyboard"),
        "actions": payload.get("actions") or [],
        "attachments": payload.get("attachments") or [],
        "readAt": None,
        "createdAt": payload.get("createdAt"),
        "updatedAt": payload.get("createdAt"),
        "replyTo": dict(reply_to) if isinstance(reply_to, dict) else None,
    }


__all__ = ["admin_router", "hub_of", "install_realtime", "websocket_router"]
