"""TWIN realtime chat events (Centrifugo websocket, twin-api.md §5): the public entry point.

Three modules make up the realtime client:

* :mod:`.realtime_protocol`: TWIN's conventions (connect data, ``joinSession``, event envelope,
  event filters, wait results), pure and shared;
* :mod:`.realtime_async`: :class:`~.realtime_async.ChatEventHub` (one connection, many
  sessions, on the official ``centrifuge-python`` SDK),
  :func:`~.realtime_async.wait_for_session_event` and the per-event-loop
  :class:`~.realtime_async.SharedResources` registry;
* :mod:`.realtime_sync`: :class:`~.realtime_sync.RealtimeSocket` and
  :func:`~.realtime_sync.wait_for_session_event_sync` on ``websocket-client``.

The transport modules need the ``realtime`` extra (``pip install airflow-provider-twin[realtime]``)
and are loaded on first use, so importing this module never requires it::

    from airflow_provider_twin.client import realtime

    hub = realtime.ChatEventHub(config.endpoints.centrifugo_url)      # loads centrifuge
    result = await realtime.wait_for_session_event(client, hub, session_id, deadline=...)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from airflow_provider_twin.client.chat.realtime.protocol import (
    CLOSED_STATUSES,
    EVENT_NAMES,
    SESSION_CLOSED,
    ChatEvent,
    EventFilter,
    EventRule,
    TwinRealtimeError,
    WaitResult,
    closed_result,
    parse_event,
)

if TYPE_CHECKING:
    from airflow_provider_twin.client.chat.realtime.async_hub import (
        ChatEventHub,
        SessionWatch,
        SharedResources,
        wait_for_session_event,
    )
    from airflow_provider_twin.client.chat.realtime.sync_socket import (
        RealtimeSocket,
        wait_for_session_event_sync,
    )

#: Names served lazily from the transport modules.
_LAZY = {
    "ChatEventHub": "async_hub",
    "SessionWatch": "async_hub",
    "SharedResources": "async_hub",
    "wait_for_session_event": "async_hub",
    "RealtimeSocket": "sync_socket",
    "wait_for_session_event_sync": "sync_socket",
}

#: The extra that brings the websocket libraries.
INSTALL_HINT = (
    "TWIN realtime needs the 'realtime' extra: pip install 'airflow-provider-twin[realtime]' "
    "(centrifuge-python and websocket-client)"
)


def load(module: str) -> Any:
    """Import ``realtime_async`` or ``realtime_sync``, explaining a missing extra.

    :raises ImportError: with :data:`INSTALL_HINT` when the websocket libraries are missing.
    """
    try:
        return importlib.import_module(f"airflow_provider_twin.client.chat.realtime.{module}")
    except ImportError as exc:
        if exc.name in ("centrifuge", "websocket", "websockets"):
            raise ImportError(INSTALL_HINT) from exc
        raise


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(load(module), name)


__all__ = [
    "CLOSED_STATUSES",
    "EVENT_NAMES",
    "INSTALL_HINT",
    "SESSION_CLOSED",
    "ChatEvent",
    "ChatEventHub",
    "EventFilter",
    "EventRule",
    "RealtimeSocket",
    "SessionWatch",
    "SharedResources",
    "TwinRealtimeError",
    "WaitResult",
    "closed_result",
    "load",
    "parse_event",
    "wait_for_session_event",
    "wait_for_session_event_sync",
]
