"""The synchronous TWIN client (poke/reschedule sensors, hooks, scripts)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from airflow_provider_twin.client.core.calls import ApiCall, next_page
from airflow_provider_twin.client.core.config import TwinClientConfig
from airflow_provider_twin.client.core.engine import Engine, Flow, Send
from airflow_provider_twin.client.core.errors import TwinError
from airflow_provider_twin.client.core.flows import Finished, Gather, Procedure, Sleep, resume
from airflow_provider_twin.client.core.http import http_options
from airflow_provider_twin.client.core.tokens import Authenticate

T = TypeVar("T")

#: The pause between retries (a module attribute so tests can record pauses without sleeping).
_sleep = time.sleep
P = TypeVar("P", bound=Mapping[str, Any])


class TwinClient:
    """Sends TWIN API calls over one pooled ``httpx.Client``; safe to share between threads.

    Build calls with :mod:`~airflow_provider_twin.client.notify` and
    :mod:`~airflow_provider_twin.client.chat`, then ``client.send(call)``::

        with TwinClient(config) as twin:
            items = twin.send(notify.create_messages([...], bulk_id=bulk_id))
    """

    def __init__(self, config: TwinClientConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.engine = Engine(config)
        self._http = httpx.Client(transport=transport, **http_options(config))
        self._auth_lock = threading.Lock()

    def send(self, call: ApiCall[T]) -> T:
        """Perform ``call`` (with auth and retries) and return its parsed result."""
        return self._drive(self.engine.execute(call))

    def paginate(self, call: ApiCall[P]) -> Iterator[Any]:
        """Iterate over the items of every page of a list call, fetching pages lazily."""
        current: ApiCall[P] | None = call
        while current is not None:
            page = self.send(current)
            yield from page["items"]
            current = next_page(current, page)

    def run(self, procedure: Procedure[T]) -> T:
        """Perform a multi-step procedure (see :mod:`~.flows`) and return its result."""
        return self._drive(procedure)

    def _drive(self, flow: Flow[T] | Procedure[T]) -> T:
        reply: Any = None
        error: BaseException | None = None
        while not isinstance(step := resume(flow, reply, error), Finished):
            reply, error = None, None
            try:
                reply = self._perform(step)
            except (httpx.TransportError, TwinError) as exc:
                error = exc
        return step.value  # type: ignore[no-any-return]

    def _perform(self, step: Any) -> Any:
        if isinstance(step, Send):
            return self._http.send(step.request)
        if isinstance(step, Sleep):
            _sleep(step.seconds)
            return None
        if isinstance(step, Authenticate):
            with self._auth_lock:
                return self._drive(self.engine.authenticate(step))
        if isinstance(step, Gather):
            return [self.send(call) for call in step.calls]
        return self.send(step)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> TwinClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
