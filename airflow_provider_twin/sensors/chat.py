"""``TwinChatSessionClosedSensor``: wait until a TWIN chat session closes.

TWIN announces a session's close over its realtime websocket (``sessionClosed``, twin-api.md
§5.6). The sensor waits for it, or for other awaited events, and never misses a close: every wait
starts with a REST check, and so does every (re)connect of the websocket. Deferrable, it waits in
the triggerer on one websocket per TWIN connection; poking, each poke checks REST, then listens for
``listen_timeout`` seconds. The whole story: docs/chat.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.chat import (
    CLOSED_STATUSES,
    DEFAULT_FALLBACK_INTERVAL,
    DEFAULT_RECHECK_INTERVAL,
    ERROR_NOT_FOUND,
    EventFilter,
    WaitResult,
    check_session,
    check_wait_arguments,
    closed_status_set,
    load_realtime,
    require_realtime,
    session_id_of,
    user_id_of,
)
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.sensors.twin_sensor import TwinSensor
from airflow_provider_twin.triggers.chat import TwinChatSessionEventTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

_Value = TypeVar("_Value")

#: XCom key of the name of the event that ended the wait (the payload is the return value).
EVENT_XCOM_KEY = "event"


class TwinChatSessionClosedSensor(TwinSensor):
    """Wait until a TWIN chat session closes (or another awaited event arrives).

    ``session_id`` is templated, so the start operator's output plugs in directly::

        start = TwinStartChatSessionOperator(task_id="start", chat_id=CHAT, client_phone=phone)
        closed = TwinChatSessionClosedSensor(task_id="closed", session_id=start.output["session_id"])

    It also takes the start operator's whole result, which is what mapping needs (Airflow maps
    over return values only)::

        starts = TwinStartChatSessionOperator.partial(task_id="start", chat_id=CHAT).expand(
            client_phone=phones
        )
        TwinChatSessionClosedSensor.partial(task_id="closed", deferrable=True).expand(
            session_id=starts.output
        )

    A campaign sent through the ``chat`` channel names its sessions in the send summary's
    ``chat_session_ids``; map over them (one id per sensor; a task returning that list, as
    Airflow maps only over return values): see ``example_dags/example_twin_chat_crm.py``.

    Returned (XCom) value: the payload of the event that ended the wait. For ``sessionClosed``::

        {"sessionId": "…", "chatId": "…", "sessionRatingRequired": True}

    (``sessionRatingRequired`` is None when the close was seen over REST and TWIN's session object
    does not carry it). For another awaited event, its payload (twin-api.md §5.6), e.g. the
    ``chatMessageCreated`` message. The event's name is pushed under the XCom key ``event``.

    :param session_id: the chat session to wait for (or the start operator's result).
    :param events: further events that end the wait: event names (``"chatMessageCreated"``) or
        ``{"event": "chatMessageCreated", "match": {"type": "TERMINAL"}}`` (payload fields that
        must match; a list means any of). ``sessionClosed`` always ends it. Templated.
    :param closed_statuses: REST session statuses that mean closed: one or a list (default
        ``CLOSED``; TWIN does not document the enum).
    :param listen_timeout: poke/reschedule modes: seconds each poke listens on the websocket
        after its REST check; default the poke interval, 0 = REST checks only (no ``realtime`` extra).
    :param recheck_interval: seconds between safety-net REST checks while the websocket is joined
        (in the triggerer, and during a poke's listen).
    :param fallback_interval: seconds between REST checks while the websocket is down.
    :param user_id: the chat widget ``userId`` sent when connecting to the websocket (seed 003:
        optional); default the connection's ``user_id`` extra. Templated.
    :param twin_conn_id: the ``twin`` connection.
    :param deferrable: check once, then wait in the triggerer (no worker slot) until
        ``timeout``. Default from ``[operators] default_deferrable``.
    """

    template_fields: Sequence[str] = ("session_id", "events", "user_id")
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        session_id: str,
        events: Any = None,
        closed_statuses: str | Iterable[str] = CLOSED_STATUSES,
        listen_timeout: float | None = None,
        recheck_interval: float = DEFAULT_RECHECK_INTERVAL,
        fallback_interval: float = DEFAULT_FALLBACK_INTERVAL,
        user_id: str | None = None,
        twin_conn_id: str = TwinHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Checked now, so a typo in an event name or a bad interval fails at DAG parse time.
        check_wait_arguments(
            events=events,
            listen_timeout=listen_timeout,
            recheck_interval=recheck_interval,
            fallback_interval=fallback_interval,
            user_id=user_id,
        )
        self.session_id = session_id
        self.events = events
        self.closed_statuses = closed_status_set(closed_statuses)
        self.listen_timeout = listen_timeout
        self.recheck_interval = recheck_interval
        self.fallback_interval = fallback_interval
        self.user_id = user_id
        self.twin_conn_id = twin_conn_id
        self.deferrable = deferrable
        # A missing websocket library fails the DAG's import, before any session starts.
        require_realtime(self.task_id, deferrable=deferrable, listen_timeout=listen_timeout)

    @classmethod
    def _check_mapped(cls, task_id: str, argument: Callable[[str], Any]) -> None:
        """A mapped wait's ``realtime`` extra, checked at parse time as for one task."""
        deferrable = bool(argument("deferrable"))
        require_realtime(task_id, deferrable=deferrable, listen_timeout=argument("listen_timeout"))

    # -- inputs --------------------------------------------------------------------------------------
    def event_filter(self) -> EventFilter:
        """The rendered ``events``, checked."""
        return self._or_fail(EventFilter.from_specs, self.events)

    def rendered_session_id(self) -> str:
        """The rendered session id, checked (the start operator's whole result is accepted too)."""
        return self._or_fail(session_id_of, self.session_id)

    def rendered_user_id(self) -> str | None:
        """The rendered ``user_id`` override, checked (None: the connection's extra applies)."""
        return self._or_fail(user_id_of, self.user_id)

    def _or_fail(self, call: Callable[[Any], _Value], value: Any) -> _Value:
        """``call(value)``; what it refuses fails the task without retries.

        It refuses a rendered input (templates, a start operator's result) or, in a poke, a
        realtime library missing on this worker.
        """
        try:
            return call(value)
        except (TwinInputError, ImportError) as exc:
            raise AirflowFailException(f"{self.task_id}: {exc}") from None

    # -- modes ---------------------------------------------------------------------------------------
    def _execute_deferrable(self, context: Context) -> Any:
        session_id = self.rendered_session_id()
        events = self.event_filter()
        deadline = time.time() + self.timeout
        found = self._client().run(check_session(session_id, self.closed_statuses)).result
        if found is not None:
            return self._finish(context, found)
        self._close_client()
        self.log.info("Chat session %s open; waiting for %s in the triggerer", session_id, events.describe())
        self.defer(
            trigger=TwinChatSessionEventTrigger(
                session_id=session_id,
                deadline=deadline,
                events=events.to_json(),
                twin_conn_id=self.twin_conn_id,
                closed_statuses=self.closed_statuses,
                recheck_interval=self.recheck_interval,
                fallback_interval=self.fallback_interval,
                user_id=self.rendered_user_id(),
            ),
            method_name="execute_complete",
            # A safety net only: the trigger fires its own timeout event at the deadline.
            timeout=timedelta(seconds=self.timeout + 60),
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """REST check, then listen up to ``listen_timeout`` seconds; done → the payload as XCom."""
        session_id = self.rendered_session_id()
        events = self.event_filter()
        listen = self.poke_interval if self.listen_timeout is None else self.listen_timeout
        user_id = self.rendered_user_id()
        client = self._client()
        if user_id is None and self._hook is not None:
            user_id = self._hook.chat_user_id
        sync = self._or_fail(load_realtime, "sync_socket")
        result: WaitResult | None = sync.wait_for_session_event_sync(
            client,
            client.engine.config.endpoints.centrifugo_url,
            session_id,
            until=time.time() + float(listen),
            events=events,
            closed_statuses=self.closed_statuses,
            recheck_interval=self.recheck_interval,
            fallback_interval=self.fallback_interval,
            user_id=user_id,
        )
        if result is None:
            self.log.info("Chat session %s: still open", session_id)
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._finish(context, result))

    def _resume(self, context: Context, event: Mapping[str, Any] | None) -> Any:
        """The trigger's event turned into the result, or into a clear failure."""
        if not isinstance(event, Mapping):
            raise AirflowException(f"{self.task_id}: the chat session trigger sent no event")
        return self._finish(context, WaitResult.from_json(event))

    # -- helpers -------------------------------------------------------------------------------------
    def _finish(self, context: Context, result: WaitResult) -> dict[str, Any]:
        """The XCom value of a finished wait, or the exception for a timeout or an error."""
        if result.status in ("closed", "event"):
            self.log.info("%s", result.message)
            context["ti"].xcom_push(key=EVENT_XCOM_KEY, value=result.event)
            return dict(result.payload or {})
        if result.status == "timeout":
            # soft_fail / never_fail turn this into a skip in the base sensor.
            raise AirflowSensorTimeout(f"{self.task_id}: {result.message}")
        message = f"{self.task_id}: {result.message or 'waiting for the chat session failed'}"
        if result.error == ERROR_NOT_FOUND:
            raise AirflowFailException(message)
        raise AirflowException(message)


__all__ = ["EVENT_XCOM_KEY", "TwinChatSessionClosedSensor"]
