"""Assembly of the ASGI application: IAM, notify, chat and admin routes on one port."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from .api_docs_page import install_docs_page
from .middleware import TrafficMiddleware
from .responses import error_response
from .routes_admin import ADMIN_PREFIX
from .routes_admin import router as admin_router
from .routes_admin_chat import router as admin_chat_router
from .routes_admin_events import router as admin_events_router
from .routes_admin_webhooks import router as admin_webhooks_router
from .routes_chat import router as chat_router
from .routes_files import router as files_router
from .routes_iam import router as iam_router
from .routes_notify import router as notify_router
from .routes_realtime import install_realtime
from .routes_tasks import router as tasks_router
from .routes_templates import router as templates_router
from .settings import EmulatorSettings
from .state import EmulatorState


def create_app(settings: EmulatorSettings | None = None, *, state: EmulatorState | None = None) -> FastAPI:
    """Build the emulator application.

    Production paths keep their service prefix (``/iam/api/v1``, ``/notify/api/v1``,
    ``/chat/api/v1``) so one port serves all services; the admin API lives under ``/_emulator``.
    Pass ``state`` to share an existing :class:`EmulatorState` (it then wins over ``settings``).
    The state is also reachable as ``app.state.twin`` so later modules (the realtime websocket) can
    add their routes to the same application and subscribe to session events.
    """
    twin_state = state if state is not None else EmulatorState(settings)
    openapi_url = f"{ADMIN_PREFIX}/openapi.json"
    app = FastAPI(
        title="TWIN emulator",
        description="Local, offline emulation of the TWIN (twin24.ai) REST APIs.",
        # FastAPI's Swagger UI and ReDoc pages load from a CDN: a plain page lists the routes instead.
        docs_url=None,
        redoc_url=None,
        openapi_url=openapi_url,
    )
    install_docs_page(app, f"{ADMIN_PREFIX}/docs", openapi_url)
    app.state.twin = twin_state
    routers = (
        iam_router,
        files_router,
        notify_router,
        tasks_router,
        templates_router,
        chat_router,
        admin_router,
        admin_webhooks_router,
        admin_events_router,
        admin_chat_router,
    )
    for router in routers:
        app.include_router(router)
    # The Centrifugo websocket and its admin routes; the hub is ``app.state.centrifugo``.
    install_realtime(app, twin_state)

    async def http_error(request: Request, exc: Any) -> Response:
        detail = getattr(exc, "detail", None)
        status = int(getattr(exc, "status_code", 500))
        return error_response(str(detail) if detail else "Error", status)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_middleware(TrafficMiddleware, state=twin_state, routes=lambda: app.router.routes)
    return app
