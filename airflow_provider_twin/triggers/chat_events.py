"""``TwinChatEventTrigger``: chat sessions started and closed, and client messages, as asset events.

An event watcher (see :mod:`.events`) over
:class:`~airflow_provider_twin.client.chat.ChatSessionEvents`: every ``poll_interval`` seconds it
lists the sessions started within ``created_within_seconds`` (and the messages of those whose
last message moved), and between polls it listens to the open sessions on the connection's
one chat websocket, shared with the chat sensors' waits (:mod:`.chat_event_socket`), so the
close of a session a poll has listed is reported within a second or so of TWIN announcing it.
REST catches everything else, at poll speed: a session that starts and closes between two
polls, what happened while the websocket was down (a failed one is reopened with backoff), and
client messages (TWIN pushes no event for those).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, ClassVar

from airflow_provider_twin.client import TwinEvent, TwinInputError
from airflow_provider_twin.client.chat import (
    CHAT_EVENT_KINDS,
    INSTALL_HINT,
    ChatEventFilter,
    ChatSessionEvents,
    load_realtime,
)
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.triggers.chat_event_socket import RealtimeSessions, SessionFollower
from airflow_provider_twin.triggers.connections import TwinConnection
from airflow_provider_twin.triggers.event_cursor import DEFAULT_COMMIT_DELAY
from airflow_provider_twin.triggers.events import (
    DEFAULT_POLL_INTERVAL,
    WINDOW_MARGIN_SECONDS,
    TwinEventTrigger,
)

#: Default creation window of the sessions a chat watcher follows: one day.
DEFAULT_CHAT_WINDOW_SECONDS = 86400.0


class TwinChatEventTrigger(TwinEventTrigger):
    """Report chat sessions started, closed and rated and client messages: one asset event each.

    Payloads (besides ``event_id``, ``type`` and ``time``):

    * ``chat.session_started`` (``session:<id>:started``): ``sessionId``, ``chatId``;
    * ``chat.session_closed`` (``session:<id>:closed``): ``sessionId``, ``chatId``,
      ``sessionRatingRequired`` and ``rating`` (int, or None when TWIN gives none);
    * ``chat.client_message`` (``chat-message:<id>``): ``sessionId``, ``chatId``, ``messageId``
      (no text: read it by id if you need it);
    * ``chat.session_rated`` (``session:<id>:rated``): ``sessionId``, ``chatId``, ``rating``,
      once a closed session shows the client's rating (TWIN asks for it after the close, so it
      is usually not on the close; seen by a REST poll).

    :param twin_conn_id: the ``twin`` connection.
    :param chat_id: only sessions of this chat; default every chat of the account.
    :param events: which kinds to report: ``session_started``, ``session_closed``,
        ``client_message``, ``session_rated`` (default all four).
    :param created_within_seconds: follow the sessions started this many seconds before each
        poll (default a day); a session started earlier is not reported.
    :param poll_interval: seconds between REST polls.
    :param realtime: listen to open sessions' closes on the websocket (needs the ``realtime``
        extra; without it the watcher polls only, and says so in its log).
    :param commit_delay: seconds between yielding an event and storing its id in the cursor.
    :param cursor_name: the cursor's Variable is ``twin_events.<cursor_name>``.
    :raises TwinInputError: a bad argument, naming it (the DAG file fails to load).
    """

    source: ClassVar[str] = "chat"

    def __init__(
        self,
        *,
        twin_conn_id: str = TwinHook.default_conn_name,
        chat_id: str | None = None,
        events: str | Sequence[str] = tuple(CHAT_EVENT_KINDS),
        created_within_seconds: float = DEFAULT_CHAT_WINDOW_SECONDS,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        realtime: bool = True,
        commit_delay: float = DEFAULT_COMMIT_DELAY,
        cursor_name: str | None = None,
    ) -> None:
        try:
            self.filter = ChatEventFilter(chat_id, events, created_within_seconds)
        except TwinInputError as exc:  # the filter calls this argument "kinds"
            text = str(exc)
            raise TwinInputError(f"events{text[5:]}" if text.startswith("kinds") else text) from None
        self.realtime = bool(realtime)
        super().__init__(
            twin_conn_id=twin_conn_id,
            poll_interval=poll_interval,
            commit_delay=commit_delay,
            cursor_name=cursor_name,
            window_seconds=self.filter.created_within_seconds + WINDOW_MARGIN_SECONDS,
        )
        self._sessions = ChatSessionEvents(self.filter)

    def filter_json(self) -> dict[str, Any]:
        data = self.filter.to_json()
        return {
            "chat_id": data["chat_id"],
            "events": data["kinds"],
            "created_within_seconds": data["created_within_seconds"],
        }

    def own_kwargs(self) -> dict[str, Any]:
        return {"realtime": self.realtime}

    async def poll(self, connection: TwinConnection) -> list[TwinEvent]:
        return await self._sessions.poll(connection.client)

    def listening(self, connection: TwinConnection) -> AbstractAsyncContextManager[Any]:
        return self._follower(connection)

    @asynccontextmanager
    async def _follower(self, connection: TwinConnection) -> AsyncIterator[RealtimeSessions | None]:
        if not self.realtime or not self.filter.wants("session_closed"):
            yield None
            return
        try:
            load_realtime("async_hub")
        except ImportError:
            self.log.warning("%s: polling only, no websocket: %s", self.describe(), INSTALL_HINT)
            yield None
            return
        realtime = RealtimeSessions(connection, self.twin_conn_id, self.describe())
        try:
            yield realtime
        finally:
            await realtime.aclose()

    async def listen(self, connection: TwinConnection, listener: Any, timeout: float) -> list[TwinEvent]:
        """Closes heard on the websocket of the open sessions the REST polls listed."""
        follower = await listener.current() if isinstance(listener, RealtimeSessions) else None
        if follower is None:
            retry = listener.retry_in() if isinstance(listener, RealtimeSessions) else timeout
            return await super().listen(connection, None, min(timeout, max(retry, 0.05)))
        follower.follow(self._sessions.open_sessions())
        heard = await follower.next(timeout)
        if heard is None:
            return []
        with contextlib.suppress(Exception):  # REST reports it at the next poll anyway
            closed = await self._sessions.realtime_closed(connection.client, heard)
            return [closed] if closed is not None else []
        closed = self._sessions.closed_event(heard)
        return [closed] if closed is not None else []


__all__ = ["DEFAULT_CHAT_WINDOW_SECONDS", "SessionFollower", "TwinChatEventTrigger"]
