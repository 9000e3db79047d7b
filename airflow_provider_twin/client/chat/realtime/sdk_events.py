"""The ``centrifuge-python`` callbacks of the asyncio hub: the connection's and each channel's.

They forward to the hub (held weakly, so a forgotten hub is collected) and never raise: a
raising handler makes the SDK disconnect for good.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any, Protocol

from centrifuge import (
    ClientEventHandler,
    ConnectedContext,
    ConnectingContext,
    DisconnectedContext,
    ErrorContext,
    PublicationContext,
    ServerPublicationContext,
    ServerSubscribedContext,
    SubscriptionErrorContext,
    SubscriptionEventHandler,
    UnsubscribedContext,
)

log = logging.getLogger("airflow_provider_twin.client.chat.realtime")


class HubCallbacks(Protocol):
    """What the hub does with the SDK's news."""

    def on_connected(self, client_id: str) -> None: ...

    def on_channel(self, channel: str) -> None: ...

    async def on_connecting(self, code: int, reason: str) -> None: ...

    async def on_disconnected(self, code: int, reason: str) -> None: ...

    def on_publication(self, channel: str, data: Any, offset: int) -> None: ...

    def on_unsubscribed(self, channel: str, code: int, reason: str) -> None: ...


async def _guarded(hub: HubCallbacks | None, name: str, *args: Any) -> None:
    if hub is None:
        return
    try:
        result = getattr(hub, name)(*args)
        if result is not None:
            await result
    except Exception:  # a raising handler would make the SDK disconnect for good
        log.exception("TWIN realtime: event handling failed")


class HubEvents(ClientEventHandler):  # type: ignore[misc]
    """The connection's callbacks, forwarded to the hub."""

    def __init__(self, hub: HubCallbacks) -> None:
        self._hub = weakref.ref(hub)

    async def on_connected(self, ctx: ConnectedContext) -> None:
        await _guarded(self._hub(), "on_connected", ctx.client)

    async def on_connecting(self, ctx: ConnectingContext) -> None:
        await _guarded(self._hub(), "on_connecting", ctx.code, ctx.reason)

    async def on_disconnected(self, ctx: DisconnectedContext) -> None:
        await _guarded(self._hub(), "on_disconnected", ctx.code, ctx.reason)

    async def on_error(self, ctx: ErrorContext) -> None:
        log.debug("TWIN realtime: %s (code %s)", ctx.error, ctx.code)

    async def on_subscribed(self, ctx: ServerSubscribedContext) -> None:
        # A channel of the connect reply's ``subs`` (the SDK reports them right after
        # on_connected, before any task the hub spawned there runs).
        await _guarded(self._hub(), "on_channel", ctx.channel)

    async def on_publication(self, ctx: ServerPublicationContext) -> None:
        await _guarded(self._hub(), "on_publication", ctx.channel, ctx.pub.data, ctx.pub.offset)


class ChannelEvents(SubscriptionEventHandler):  # type: ignore[misc]
    """The callbacks of the hub's client-side subscription to one channel."""

    def __init__(self, hub: HubCallbacks, channel: str) -> None:
        self._hub = weakref.ref(hub)
        self._channel = channel

    async def on_publication(self, ctx: PublicationContext) -> None:
        await _guarded(self._hub(), "on_publication", self._channel, ctx.pub.data, ctx.pub.offset)

    async def on_unsubscribed(self, ctx: UnsubscribedContext) -> None:
        await _guarded(self._hub(), "on_unsubscribed", self._channel, ctx.code, ctx.reason)

    async def on_error(self, ctx: SubscriptionErrorContext) -> None:
        log.debug("TWIN realtime: subscription to %s: %s (code %s)", self._channel, ctx.error, ctx.code)


__all__ = ["ChannelEvents", "HubCallbacks", "HubEvents"]
