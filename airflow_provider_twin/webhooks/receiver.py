"""The FastAPI app that turns TWIN's status webhooks into Airflow asset events.

Served by Airflow's API server under ``/twin-webhooks`` (see :mod:`.plugin`). One route::

    POST /twin-webhooks/assets/{asset_name}?token=<the asset's token>

Each call is checked in this order, cheapest and least revealing first:

====  ============================================================================================
503   ``[twin] webhook_secret`` is not configured: no token can be checked, nothing is accepted
403   the token is missing or is not the asset's (``hmac.compare_digest``); says nothing more
413   the body is larger than :data:`MAX_BODY_BYTES` (a larger ``Content-Length`` is refused before
      reading; an undeclared body is read in chunks only up to the cap)
422   the body is not a status webhook (twin-api.md §3.2.7); ``detail`` names each bad field
200   ``ok``: the same event (``message:<id>:<STATUS>``) arrived for this asset within the
      dedupe window: TWIN retried, or said it twice; no second asset event
404   no active asset (one some DAG defines) has this name
200   ``ok``: the asset event was recorded, extra ``{"from_webhook": true, "payload": <event>}``
====  ============================================================================================

The asset event is recorded as Airflow records a watcher's (``AssetManager.register_asset_change``
in the API server's own database session), so DAGs scheduled on the asset are queued at once.

Neither the secret nor the token is ever logged here. The token is part of the URL, and the API
server's access log prints URLs with their query: see docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.messages import status_webhook_event
from airflow_provider_twin.webhooks.callback_urls import configured_secret, token_matches

log = logging.getLogger(__name__)

#: How long an event id is remembered, per asset, to answer a repeat without a second event.
DEDUPE_WINDOW_SECONDS = 24 * 3600.0
#: At most this many event ids are remembered (the oldest go first): about 20 MB at most.
DEDUPE_MAX_EVENTS = 100_000
#: A status webhook is a few hundred bytes; callbackData is at most 10 KiB.
MAX_BODY_BYTES = 64 * 1024
#: The extra key that tells a DAG an asset event came from a webhook (a watcher's says from_trigger).
EXTRA_MARK = "from_webhook"


class RecentEvents:
    """Event ids recently recorded, bounded by a time window and a count (oldest dropped first).

    Thread-safe: Airflow's API server runs the recording in a thread pool. An id is *claimed*
    before its asset event is written and *released* if the write fails, so two concurrent
    deliveries of one event record it once and a failed one can be retried.
    """

    def __init__(
        self,
        window_seconds: float = DEDUPE_WINDOW_SECONDS,
        max_events: int = DEDUPE_MAX_EVENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window_seconds <= 0 or max_events <= 0:
            raise ValueError("window_seconds and max_events must be positive")
        self.window_seconds = window_seconds
        self.max_events = max_events
        self._clock = clock
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    @staticmethod
    def _key(asset_name: str, event_id: str) -> bytes:
        # 16 bytes instead of two strings of ~100: a third of the memory per remembered event.
        return hashlib.blake2b(f"{asset_name}\0{event_id}".encode(), digest_size=16).digest()

    def claim(self, asset_name: str, event_id: str) -> bool:
        """Remember ``event_id`` for ``asset_name``; False if it was already remembered (a repeat)."""
        key = self._key(asset_name, event_id)
        now = self._clock()
        with self._lock:
            horizon = now - self.window_seconds
            while self._seen and next(iter(self._seen.values())) < horizon:
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            while len(self._seen) > self.max_events:
                self._seen.popitem(last=False)
            return True

    def release(self, asset_name: str, event_id: str) -> None:
        """Forget a claim whose asset event was not recorded, so that a retry is recorded."""
        with self._lock:
            self._seen.pop(self._key(asset_name, event_id), None)


def record_asset_event(asset_name: str, extra: dict[str, Any]) -> bool:
    """Record an event of the active asset ``asset_name`` as Airflow's watchers do; False if none.

    Runs in the API server's process, with its metadata database session.
    """
    from airflow.assets.manager import asset_manager  # noqa: PLC0415 - the API server's own modules
    from airflow.models.asset import AssetModel  # noqa: PLC0415
    from airflow.utils.session import create_session  # noqa: PLC0415
    from sqlalchemy import select  # noqa: PLC0415

    with create_session() as session:
        asset = session.scalar(
            select(AssetModel).where(AssetModel.name == asset_name, AssetModel.active.has()).limit(1)
        )
        if asset is None:
            return False
        event = asset_manager.register_asset_change(asset=asset, extra=extra, session=session)
        return event is not None


async def _capped_body(request: Request) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed :data:`MAX_BODY_BYTES`.

    A declared ``Content-Length`` over the cap is refused before anything is read; otherwise the
    body is streamed and reading stops at the first chunk past the cap, so a huge or endless body
    never sits in memory.
    """
    too_large = HTTPException(413, f"body: at most {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise HTTPException(400, "Content-Length: not a number") from None
        if length > MAX_BODY_BYTES:
            raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HTTPException(422, [f"body: JSON ({error.__class__.__name__})"]) from None


def create_app(
    *,
    secret: Callable[[], str | None] = configured_secret,
    recorder: Callable[[str, dict[str, Any]], bool] = record_asset_event,
    recent: RecentEvents | None = None,
) -> FastAPI:
    """The receiver app; its parts can be replaced for tests (the defaults are Airflow's).

    :param secret: reads the master secret (``[twin] webhook_secret``) at each call.
    :param recorder: records an asset event; returns False when the asset does not exist.
    :param recent: the dedupe memory (one per app, i.e. per API server worker process).
    """
    memory = recent if recent is not None else RecentEvents()
    app = FastAPI(
        title="TWIN status webhooks",
        description="Receives TWIN's callbackUrl calls and records them as asset events.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.recent_events = memory

    @app.post("/assets/{asset_name:path}", response_class=PlainTextResponse)
    async def receive(asset_name: str, request: Request, token: str | None = None) -> str:
        """One status webhook of ``asset_name``: ``ok`` once it is an asset event (or a repeat)."""
        master = secret()
        if not master:
            log.error("TWIN webhook refused: [twin] webhook_secret is not configured")
            raise HTTPException(503, "TWIN webhooks are not configured on this Airflow")
        if not token_matches(master, asset_name, token):
            log.warning("TWIN webhook refused for asset %r: missing or wrong token", asset_name)
            raise HTTPException(403, "forbidden")
        raw = await _capped_body(request)
        try:
            event = status_webhook_event(_body(raw))
        except TwinInputError as error:
            raise HTTPException(422, error.problems or [str(error)]) from None
        if not memory.claim(asset_name, event.event_id):
            log.info("TWIN webhook %s for asset %r: a repeat, not recorded again", event.event_id, asset_name)
            return "ok"
        extra = {EXTRA_MARK: True, "payload": event.as_payload()}
        try:
            recorded = await run_in_threadpool(recorder, asset_name, extra)
        except BaseException:
            memory.release(asset_name, event.event_id)
            raise
        if not recorded:
            memory.release(asset_name, event.event_id)
            raise HTTPException(404, f"no active asset named {asset_name!r}: a DAG must define it")
        log.info("TWIN webhook %s recorded as an event of asset %r", event.event_id, asset_name)
        return "ok"

    return app


__all__ = [
    "DEDUPE_MAX_EVENTS",
    "DEDUPE_WINDOW_SECONDS",
    "EXTRA_MARK",
    "MAX_BODY_BYTES",
    "RecentEvents",
    "create_app",
    "record_asset_event",
]
