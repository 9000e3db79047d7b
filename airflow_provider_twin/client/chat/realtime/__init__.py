"""TWIN realtime chat events (Centrifugo websocket, twin-api.md §5): the public entry point.

What both transports share is pure and always importable:

* :mod:`.centrifugo`: Centrifugo's JSON protocol as TWIN uses it (connect data, ``joinSession``,
  framing, disconnect codes, reconnect backoff);
* :mod:`.session_wait`: the rules of a wait for one session (:class:`SessionWait`) and the
  connection signals a transport feeds it;
* :mod:`.batched_checks` and :mod:`.async_wait`: coalesced REST checks and
  :func:`wait_for_session_event`, the asyncio wait on a hub.

The two transports need the ``realtime`` extra (``pip install airflow-provider-twin[realtime]``)
and are loaded on first use, so importing this package never requires it:

* :mod:`.async_hub`: :class:`~.async_hub.ChatEventHub` (one connection, many sessions, on the
  official ``centrifuge-python`` SDK);
* :mod:`.sync_socket`: :class:`~.sync_socket.RealtimeSocket` and
  :func:`~.sync_socket.wait_for_session_event_sync` on ``websocket-client``::

    from airflow_provider_twin.client.chat import realtime

    hub = realtime.ChatEventHub(config.endpoints.centrifugo_url)      # loads centrifuge
    result = await realtime.wait_for_session_event(client, hub, session_id, deadline=...)
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from airflow_provider_twin.client.chat.realtime.async_wait import wait_for_session_event
from airflow_provider_twin.client.chat.realtime.batched_checks import SessionChecker
from airflow_provider_twin.client.chat.realtime.centrifugo import TwinRealtimeError
from airflow_provider_twin.client.chat.realtime.session_wait import (
    DEFAULT_FALLBACK_INTERVAL,
    DEFAULT_RECHECK_INTERVAL,
    ConnectionLost,
    HubStopped,
    Joined,
    JoinFailed,
    SessionWait,
)

if TYPE_CHECKING:
    from airflow_provider_twin.client.chat.realtime.async_hub import ChatEventHub, HubStats, SessionWatch
    from airflow_provider_twin.client.chat.realtime.sync_socket import (
        ConnectionDropped,
        RealtimeSocket,
        wait_for_session_event_sync,
    )

#: Names served lazily from the transport modules.
_LAZY = {
    "ChatEventHub": "async_hub",
    "HubStats": "async_hub",
    "SessionWatch": "async_hub",
    "ConnectionDropped": "sync_socket",
    "RealtimeSocket": "sync_socket",
    "wait_for_session_event_sync": "sync_socket",
}

#: The extra that brings the websocket libraries.
INSTALL_HINT = (
    "TWIN realtime needs the 'realtime' extra: pip install 'airflow-provider-twin[realtime]' "
    "(centrifuge-python and websocket-client)"
)


#: The libraries each transport needs: (import name, pip package).
TRANSPORT_PACKAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "async_hub": (("centrifuge", "centrifuge-python"),),
    "sync_socket": (("websocket", "websocket-client"),),
}


def missing_packages(module: str) -> list[str]:
    """The pip packages the transport ``module`` (``async_hub`` or ``sync_socket``) lacks.

    Checked with :func:`importlib.util.find_spec`, which imports nothing: a task that will need
    a transport asks this when it is constructed, so a missing extra fails the DAG's import,
    not the task hours later, and a DAG file's parse never loads the websocket libraries.
    """
    return [package for name, package in TRANSPORT_PACKAGES[module] if importlib.util.find_spec(name) is None]


def extra_problem(module: str, who: str) -> str | None:
    """Why ``who`` cannot wait with the transport ``module``: the packages it lacks and the fix.

    None when they are installed. Imports nothing (see :func:`missing_packages`).
    """
    missing = missing_packages(module)
    if not missing:
        return None
    where = "in the triggerer (deferrable)" if module == "async_hub" else "in the worker (poke or reschedule)"
    return (
        f"{who}: waiting for TWIN chat events over the websocket {where} needs "
        f"{', '.join(missing)}, which is not installed. {INSTALL_HINT}"
    )


def load(module: str) -> Any:
    """Import a transport module, ``async_hub`` or ``sync_socket``, explaining a missing extra.

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
    "DEFAULT_FALLBACK_INTERVAL",
    "DEFAULT_RECHECK_INTERVAL",
    "INSTALL_HINT",
    "TRANSPORT_PACKAGES",
    "ChatEventHub",
    "ConnectionDropped",
    "ConnectionLost",
    "HubStats",
    "HubStopped",
    "JoinFailed",
    "Joined",
    "RealtimeSocket",
    "SessionChecker",
    "SessionWait",
    "SessionWatch",
    "TwinRealtimeError",
    "extra_problem",
    "load",
    "missing_packages",
    "wait_for_session_event",
    "wait_for_session_event_sync",
]
