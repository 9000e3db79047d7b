"""Event watchers: triggers that turn TWIN facts into Airflow asset events.

Use one in an ``AssetWatcher``; each new TWIN fact becomes one asset event whose extra is
Airflow's ``{"from_trigger": True, "payload": <the event>}``, the payload being
:meth:`TwinEvent.as_payload <airflow_provider_twin.client.TwinEvent.as_payload>`: ``event_id``,
``type``, ``time`` and ids, statuses and flags (never addresses, texts or tokens)::

    undelivered = Asset(
        "twin_undelivered",
        watchers=[AssetWatcher(name="twin_undelivered", trigger=TwinMessageEventTrigger(
            statuses=["UNDELIVERED"], created_within_seconds=2 * 86400))],
    )

A watcher polls TWIN every ``poll_interval`` seconds (the chat watcher also listens to the
websocket) and runs until its DAG is paused or removed. The watchers of one ``twin_conn_id``
share the triggerer's one client and login (:mod:`.connections`). Errors never end a watcher:
a failed poll is logged and tried again at the next one.

Each watcher keeps a cursor in the Airflow Variables ``twin_events.<cursor_name or digest>``
(an index) and ``twin_events.<…>.<bucket start>`` (:mod:`.event_cursor`): what it reported is
not reported again after a restart of the triggerer, and nothing is lost. A cursor that cannot
be read makes the watcher wait and retry, never start empty. Events yielded in the last
``commit_delay`` seconds before a restart may be reported once more, with the same
``event_id``. Facts older than the cursor's window are neither reported nor remembered.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, ClassVar

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_twin.client import TwinEvent, TwinInputError, error_summary, positive_seconds
from airflow_provider_twin.triggers.connections import TwinConnection, shared_connection
from airflow_provider_twin.triggers.cursor_settings import check_commit_delay, cursor_variable
from airflow_provider_twin.triggers.cursor_variables import (
    CONFIRM_MISSING_SECONDS,
    NoSupervisorError,
    UnconfirmedMissingError,
)
from airflow_provider_twin.triggers.event_cursor import EventCursor, VariableCursorStore

#: Default seconds between two polls of TWIN.
DEFAULT_POLL_INTERVAL = 30.0
#: Default memory of a watcher without a creation window: seven days.
DEFAULT_WINDOW_SECONDS = 7 * 24 * 3600.0
#: What a watcher with a creation window remembers beyond it (clock differences, slow listings).
WINDOW_MARGIN_SECONDS = 3600.0


class TwinEventTrigger(BaseEventTrigger):
    """What every TWIN event watcher shares: the poll loop, the cursor and its Variable.

    A subclass says what it watches (:attr:`source`, :meth:`filter_json`, :meth:`poll`) and
    may listen between polls (:meth:`listening`, :meth:`listen`).

    :param twin_conn_id: the ``twin`` connection.
    :param poll_interval: seconds between polls of TWIN.
    :param commit_delay: seconds between yielding an event and storing its id in the cursor.
    :param cursor_name: the cursor's Variable is ``twin_events.<cursor_name>``; default a digest
        of the connection id and the filter.
    :param window_seconds: how long the cursor remembers an event (by the time of its fact).
    """

    #: The kind of source, part of the cursor's digest.
    source: ClassVar[str] = ""

    def __init__(
        self,
        *,
        twin_conn_id: str,
        poll_interval: float,
        commit_delay: float,
        cursor_name: str | None,
        window_seconds: float,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        if not isinstance(twin_conn_id, str) or not twin_conn_id:
            raise TwinInputError(f"twin_conn_id: expected a connection id, got {twin_conn_id!r}")
        self.twin_conn_id = twin_conn_id
        self.poll_interval = positive_seconds("poll_interval", poll_interval)
        self.commit_delay = check_commit_delay(commit_delay)
        self.cursor_name = cursor_name
        self.window = positive_seconds("window_seconds", window_seconds)
        self.cursor_variable = cursor_variable(cursor_name, twin_conn_id, self.source, self.filter_json())

    # -- what a subclass says ---------------------------------------------------------------------
    def filter_json(self) -> dict[str, Any]:
        """The filter's JSON: part of the kwargs and of the cursor's digest."""
        raise NotImplementedError

    def own_kwargs(self) -> dict[str, Any]:
        """The subclass's keyword arguments besides the filter's and the shared ones."""
        return {}

    async def poll(self, connection: TwinConnection) -> list[TwinEvent]:
        """The events TWIN lists now (seen or not: the cursor drops what was reported)."""
        raise NotImplementedError

    def listening(self, connection: TwinConnection) -> AbstractAsyncContextManager[Any]:
        """What :meth:`listen` needs between polls (the chat websocket), held while watching."""
        return nullcontext()

    async def listen(self, connection: TwinConnection, listener: Any, timeout: float) -> list[TwinEvent]:
        """Events heard within ``timeout`` seconds between polls; by default none (it sleeps)."""
        await asyncio.sleep(timeout)
        return []

    # -- Airflow's side ---------------------------------------------------------------------------
    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and JSON keyword arguments that re-create this trigger (and hash it)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **self.filter_json(),
                **self.own_kwargs(),
                "twin_conn_id": self.twin_conn_id,
                "poll_interval": self.poll_interval,
                "commit_delay": self.commit_delay,
                "cursor_name": self.cursor_name,
            },
        )

    def describe(self) -> str:
        """The watcher in a log line."""
        return f"TWIN {self.source} events {json.dumps(self.filter_json(), sort_keys=True)}"

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Yield one event per new TWIN fact, for as long as the watcher lives."""
        cursor = EventCursor(VariableCursorStore(self.cursor_variable), self.window, self.commit_delay)
        await self._open(cursor)
        while True:
            try:
                async with shared_connection(self.twin_conn_id) as connection:
                    async for event in self._watch(connection, cursor):
                        yield TriggerEvent(event.as_payload())  # type: ignore[no-untyped-call]
            except Exception as exc:  # noqa: BLE001 - a watcher outlives a bad connection
                self.log.error(
                    "%s: %s; trying again in %.0f s", self.describe(), error_summary(exc), self.poll_interval
                )
                await asyncio.sleep(self.poll_interval)
                await cursor.commit()

    async def _open(self, cursor: EventCursor) -> None:
        """Read the stored cursor, retrying while the triggerer cannot (never start without it).

        :raises NoSupervisorError: at once, outside a triggerer (no link to its supervisor).
        """
        while True:
            try:
                held = await cursor.open()
            except NoSupervisorError:  # not in a triggerer: waiting would not help
                raise
            except UnconfirmedMissingError as exc:  # Airflow 3.2: a second look confirms it
                self.log.info("%s", exc)
                await asyncio.sleep(CONFIRM_MISSING_SECONDS)
                continue
            except Exception as exc:  # noqa: BLE001 - retried: an empty start would repeat events
                self.log.warning("Cannot read the cursor %s (%s); retrying", self.cursor_variable, exc)
                await asyncio.sleep(min(self.poll_interval, 10.0))
                continue
            self.log.info(
                "Watching %s; cursor %s holds %d event id(s)", self.describe(), self.cursor_variable, held
            )
            return

    async def _watch(self, connection: TwinConnection, cursor: EventCursor) -> AsyncIterator[TwinEvent]:
        async with self.listening(connection) as listener:
            next_poll = time.monotonic()
            while True:
                wait = next_poll - time.monotonic()
                if wait <= 0:
                    heard = await self._poll(connection)
                    next_poll = time.monotonic() + self.poll_interval
                    cursor.prune()
                else:
                    commit_in = cursor.next_commit_in()
                    heard = await self.listen(
                        connection, listener, wait if commit_in is None else min(wait, commit_in)
                    )
                for event in cursor.new(heard):
                    cursor.emitted(event)
                    yield event
                await cursor.commit()

    async def _poll(self, connection: TwinConnection) -> list[TwinEvent]:
        try:
            return await self.poll(connection)
        except Exception as exc:  # noqa: BLE001 - logged; the next poll tries again
            self.log.warning("%s: poll failed, trying again later: %s", self.describe(), error_summary(exc))
            return []


__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_WINDOW_SECONDS",
    "WINDOW_MARGIN_SECONDS",
    "TwinEventTrigger",
]
