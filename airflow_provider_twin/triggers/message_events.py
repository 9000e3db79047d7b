"""``TwinMessageEventTrigger``: message statuses as asset events ("every UNDELIVERED message").

An event watcher (see :mod:`.events`) over
:class:`~airflow_provider_twin.client.messages.MessageEventFilter`: each poll lists the
filter's messages (one ``GET /messages`` listing per status and channel, about one request per
1,000 messages listed) and reports each message that reached one of the statuses once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from airflow_provider_twin.client import TwinEvent, TwinInputError, positive_seconds
from airflow_provider_twin.client.messages import MessageEventFilter, poll_message_events
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.triggers.connections import TwinConnection
from airflow_provider_twin.triggers.event_cursor import DEFAULT_COMMIT_DELAY
from airflow_provider_twin.triggers.events import (
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WINDOW_SECONDS,
    WINDOW_MARGIN_SECONDS,
    TwinEventTrigger,
)


class TwinMessageEventTrigger(TwinEventTrigger):
    """Report each message reaching one of ``statuses``: one asset event per message and status.

    Payload: ``event_id`` (``message:<id>:<STATUS>``, the id a status webhook of the same fact
    has), ``type`` (``message.status``), ``time``, ``id``, ``bulkId``, ``groupId``, ``flowId``,
    ``channel``, ``status``, ``statusCode``. No address: look destinations up by message id.

    :param statuses: the statuses to report, e.g. ``["UNDELIVERED"]`` (required).
    :param twin_conn_id: the ``twin`` connection.
    :param bulk_ids: only messages of these bulks (likewise ``group_ids`` and ``flow_ids``).
    :param channels: only messages sent over these channels (``sms``, ``viber``...).
    :param created_within_seconds: only messages created this many seconds before each poll;
        required when no ids are given.
    :param poll_interval: seconds between polls (one listing per status and channel each).
    :param commit_delay: seconds between yielding an event and storing its id in the cursor.
    :param cursor_name: the cursor's Variable is ``twin_events.<cursor_name>``.
    :param window_seconds: how long the cursor remembers an event; default
        ``created_within_seconds`` plus an hour, or seven days without it. Not shorter than
        ``created_within_seconds``.
    :raises TwinInputError: a bad argument, naming it (the DAG file fails to load).
    """

    source: ClassVar[str] = "messages"

    def __init__(
        self,
        *,
        statuses: str | Sequence[str],
        twin_conn_id: str = TwinHook.default_conn_name,
        bulk_ids: str | Sequence[str] | None = None,
        group_ids: str | Sequence[str] | None = None,
        flow_ids: str | Sequence[str] | None = None,
        channels: str | Sequence[str] | None = None,
        created_within_seconds: float | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        commit_delay: float = DEFAULT_COMMIT_DELAY,
        cursor_name: str | None = None,
        window_seconds: float | None = None,
    ) -> None:
        self.filter = MessageEventFilter(
            statuses=statuses,
            bulk_ids=bulk_ids,
            group_ids=group_ids,
            flow_ids=flow_ids,
            channels=channels,
            created_within_seconds=created_within_seconds,
        )
        if window_seconds is not None:
            window_seconds = positive_seconds("window_seconds", window_seconds)
        self.window_seconds = window_seconds
        within = self.filter.created_within_seconds
        if self.window_seconds is not None and within is not None and self.window_seconds < within:
            raise TwinInputError(
                f"window_seconds: {self.window_seconds:g} is shorter than created_within_seconds "
                f"({within:g}): messages still listed would be reported again once forgotten"
            )
        default = DEFAULT_WINDOW_SECONDS if within is None else within + WINDOW_MARGIN_SECONDS
        super().__init__(
            twin_conn_id=twin_conn_id,
            poll_interval=poll_interval,
            commit_delay=commit_delay,
            cursor_name=cursor_name,
            window_seconds=self.window_seconds or default,
        )

    def filter_json(self) -> dict[str, Any]:
        return self.filter.to_json()

    def own_kwargs(self) -> dict[str, Any]:
        return {"window_seconds": self.window_seconds}

    async def poll(self, connection: TwinConnection) -> list[TwinEvent]:
        return await poll_message_events(connection.client, self.filter)


__all__ = ["TwinMessageEventTrigger"]
