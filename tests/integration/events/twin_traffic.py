"""TWIN facts made in the emulator, as the event tests and the latency benchmark need them.

Messages are created through the provider's own client (``POST /messages``); whether one ends
DELIVERED or UNDELIVERED is the emulator's outcome rule for its phone number
(:func:`event_emulator_settings`). Chat sessions are started over TWIN's chat REST API and
closed through the emulator's admin API, as the bot or an operator would end them.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace, TracebackType
from typing import Any

import httpx

from airflow_provider_twin.client import TwinClient, TwinClientConfig, notify
from airflow_provider_twin.client.messages.models import MessageData
from airflow_provider_twin.emulator import EmulatorSettings, OutcomeRule, TwinEmulator
from airflow_provider_twin.hooks.connection import client_config

#: Phone numbers ending in this never get a message (every channel ends UNDELIVERED).
UNREACHABLE_SUFFIX = "13"
_numbers = itertools.count(1)


def event_emulator_settings(**changes: Any) -> EmulatorSettings:
    """Quick deliveries; numbers ending in :data:`UNREACHABLE_SUFFIX` are unreachable."""
    values: dict[str, Any] = {
        "delivery_seconds": 0.5,
        "outcome_rules": [OutcomeRule(status="UNDELIVERED", phone_suffix=UNREACHABLE_SUFFIX)],
        **changes,
    }
    return EmulatorSettings(**values)


def emulator_client(emulator: TwinEmulator) -> TwinClient:
    """A sync client of the emulator's ``twin_default`` connection."""
    conn = emulator.connection
    fields = SimpleNamespace(
        conn_id="twin_default", login=conn["login"], password=conn["password"], extra_dejson=conn["extra"]
    )
    config: TwinClientConfig = client_config(fields)
    return TwinClient(config)


def phone(reachable: bool = True) -> str:
    """A fresh phone number; an unreachable one ends in :data:`UNREACHABLE_SUFFIX`."""
    number = f"7999{next(_numbers):05d}"
    return f"{number}{UNREACHABLE_SUFFIX if not reachable else '00'}"


def send_message(
    client: TwinClient, group_id: str, *, reachable: bool = True, callback_url: str | None = None
) -> str:
    """Create one SMS message in ``group_id``; its message id."""
    message: MessageData = {
        "destinations": [{"phone": phone(reachable)}],
        "channels": {"sms": {"from": "TwinService", "text": "Event test"}},
        "groupId": group_id,
    }
    if callback_url is not None:
        message["callbackUrl"] = callback_url
    [item] = client.send(notify.create_messages([message]))
    message_id = item["id"]
    assert message_id, f"TWIN created no message: {item}"
    return message_id


def start_session(emulator: TwinEmulator, chat_id: str) -> str:
    """Start a chat session in ``chat_id`` over TWIN's chat REST API; its id."""
    url = f"{emulator.base_url}/chat/api/v1/chats/{chat_id}/sessions"
    response = httpx.post(url, json={}, timeout=30, trust_env=False)
    response.raise_for_status()
    session_id: str = response.json()["id"]
    return session_id


def close_session(emulator: TwinEmulator, session_id: str, rating: int | None) -> dict[str, Any]:
    """Close a session now, asking the client for a rating and recording ``rating`` (1-5 or None)."""
    url = f"{emulator.base_url}/_emulator/sessions/{session_id}/close"
    body = {"after_seconds": 0, "rating_required": True, "rating": rating}
    response = httpx.post(url, json=body, timeout=30, trust_env=False)
    response.raise_for_status()
    session: dict[str, Any] = response.json()
    return session


def status_event_id(message_id: str, status: str) -> str:
    """The event id of "message ``message_id`` reached ``status``" (issue 14's convention)."""
    return f"message:{message_id}:{status.upper()}"


@dataclass
class MessageStream:
    """A thread creating one message of ``group_id`` every ``1 / rate`` s until stopped.

    ``sent`` holds (message id, wall-clock time of its creation), in order.
    """

    emulator: TwinEmulator
    group_id: str
    rate: float
    limit: int | None = None
    sent: list[tuple[str, float]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MessageStream:
        self._thread = threading.Thread(target=self._run, name="twin-message-stream", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> list[tuple[str, float]]:
        """Stop creating messages; what was sent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        return list(self.sent)

    def _run(self) -> None:
        started = time.monotonic()
        with emulator_client(self.emulator) as client:
            for count in itertools.count():
                if self._stop.is_set() or (self.limit is not None and count >= self.limit):
                    return
                try:
                    self.sent.append((send_message(client, self.group_id), time.time()))
                except Exception as error:  # noqa: BLE001 - reported by the test, not lost in a thread
                    self.errors.append(error)
                    return
                self._stop.wait(max(0.0, started + (count + 1) / self.rate - time.monotonic()))
