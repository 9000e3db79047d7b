"""Campaigns in the in-process emulator whose statuses the test decides (no tests here).

The status sensor and trigger read TWIN through their hook; these helpers point the hook's
connection at the emulator (one retry per call, no pauses between attempts) and create
messages whose outcome and timing are set with the emulator's admin API: a final status is
reached at once, a pending message waits for :meth:`Campaigns.release` (the emulator's clock
jumping ahead).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pytest

from airflow_provider_twin.client import (
    ApiCall,
    AsyncTwinClient,
    TwinClient,
    TwinClientConfig,
    TwinCredentials,
    TwinEndpoints,
    notify,
)
from airflow_provider_twin.client.core import async_client, sync_client
from airflow_provider_twin.emulator import TwinEmulator

MESSAGES_PATH = "/notify/api/v1/messages"
LIST_ROUTE = f"GET {MESSAGES_PATH}"
LOGIN_ROUTE = "POST /iam/api/v1/auth/login"
#: Seconds a pending message waits for its outcome: far less than a token's life, so a
#: :meth:`Campaigns.release` never expires the clients' tokens.
HOLD_SECONDS = 600.0


class Campaigns:
    """Messages in the emulator, and what the status checks asked of it.

    ``count_requests`` and ``list_requests`` count the ``GET /messages`` calls the sensor and
    trigger clients completed since :meth:`forget_requests`, counts (``withoutItems``) and
    listings apart.
    """

    def __init__(self, emulator: TwinEmulator) -> None:
        self.emulator = emulator
        self.admin = emulator.admin
        self.calls: Counter[str] = Counter()
        self._tags = itertools.count(1)
        self._seq = itertools.count(1)
        self._rules: list[dict[str, Any]] = []
        token = self.admin.mint_token()  # no login: the tests count the sensor's logins
        self._client = TwinClient(TwinClientConfig(TwinCredentials(api_token=token), self.endpoints()))

    def endpoints(self) -> TwinEndpoints:
        extra = self.emulator.connection["extra"]
        return TwinEndpoints(
            iam_url=extra["iam_url"], notify_url=extra["notify_url"], chat_url=extra["chat_url"]
        )

    def close(self) -> None:
        self._client.close()

    # -- messages --------------------------------------------------------------------------------
    def send(
        self,
        n: int,
        status: str | Mapping[str, str] = "PENDING",
        *,
        then: str = "DELIVERED",
        bulk_id: str = "bulk-1",
        channels: Sequence[str] = ("sms",),
    ) -> list[dict[str, Any]]:
        """Send ``n`` destinations (one flow each) in ``bulk_id``; their first attempts' records.

        :param status: the outcome of every attempt, or per channel (``{"sms": "UNDELIVERED",
            "viber": "DELIVERED"}``); ``"PENDING"``: pending until :meth:`release`, then ``then``.
        """
        held = status == "PENDING"
        if isinstance(status, Mapping):
            outcomes = {channel: status[channel] for channel in channels}
        else:
            outcomes = {channel: then if held else status for channel in channels}
        tag = f"{next(self._tags):03d}"
        self._rules.extend({"channel": c, "phone_suffix": tag, "status": s} for c, s in outcomes.items())
        self.admin.update_settings(outcome_rules=self._rules, delivery_seconds=HOLD_SECONDS if held else 0.0)
        phones = [f"7999{next(self._seq):07d}{tag}" for _ in range(n)]
        for start in range(0, n, 1000):
            message = {
                "destinations": [{"phone": phone} for phone in phones[start : start + 1000]],
                "channels": {channel: {"text": "Hi"} for channel in channels},
            }
            self._client.send(notify.create_messages([message], bulk_id=bulk_id))
        return self.records(bulk_id, tag)

    def hold(self, n: int, send_at: datetime, *, bulk_id: str = "bulk-1") -> None:
        """Send ``n`` destinations TWIN holds (``DELAYED``) until ``send_at``, then delivers."""
        tag = f"{next(self._tags):03d}"
        self._rules.append({"channel": "sms", "phone_suffix": tag, "status": "DELIVERED"})
        self.admin.update_settings(outcome_rules=self._rules, delivery_seconds=0.0)
        message = {
            "destinations": [{"phone": f"7999{next(self._seq):07d}{tag}"} for _ in range(n)],
            "channels": {"sms": {"text": "Hi"}},
            "sendAt": send_at.isoformat(),
        }
        self._client.send(notify.create_messages([message], bulk_id=bulk_id))

    def records(self, bulk_id: str, tag: str = "") -> list[dict[str, Any]]:
        """First attempts in ``bulk_id`` (of the destinations whose phone ends in ``tag``)."""
        items = self.admin.messages(bulkId=bulk_id, limit=100_000)["items"]
        return [r for r in items if r["attempt"] == 0 and r["destination"]["phone"].endswith(tag)]

    def release(self) -> None:
        """Every pending message reaches its outcome."""
        self.admin.advance_clock(HOLD_SECONDS)

    # -- faults and what was asked ---------------------------------------------------------------
    def fail_next(self, times: int, status: int = 500) -> None:
        """The next ``times`` ``GET /messages`` answer ``status`` (a 429 asks to wait 0 s)."""
        retry_after = 0 if status == 429 else None
        self.admin.add_fault(
            method="GET",
            path=MESSAGES_PATH,
            kind="status",
            status=status,
            times=times,
            retry_after=retry_after,
        )

    def refuse_tokens(self, times: int | None = None) -> None:
        """TWIN answers "Token is expired." to ``times`` ``GET /messages`` (None: to every one)."""
        expired = {"error": "Token is expired."}
        self.admin.add_fault(
            method="GET", path=MESSAGES_PATH, kind="status", status=401, body=expired, times=times
        )

    def faults_left(self) -> int:
        return sum(int(fault["remaining"] or 0) for fault in self.admin.faults())

    def served(self, route: str = LIST_ROUTE) -> int:
        """Requests the emulator got on ``route`` (``GET /messages`` by default)."""
        return int(self.admin.counters()["requests"].get(route, 0))

    @property
    def logins(self) -> int:
        return self.served(LOGIN_ROUTE)

    def record(self, call: ApiCall[Any]) -> None:
        if call.method == "GET" and call.path == "/messages":
            self.calls["count" if call.params.get("withoutItems") == "1" else "list"] += 1

    @property
    def count_requests(self) -> int:
        return self.calls["count"]

    @property
    def list_requests(self) -> int:
        return self.calls["list"]

    def forget_requests(self) -> None:
        self.calls.clear()


def connection_json(emulator: TwinEmulator, **extra: Any) -> str:
    """The emulator's ``twin`` connection with one retry per call (and ``extra``)."""
    connection = dict(emulator.connection)
    connection["extra"] = {**connection["extra"], "max_retries": 1, **extra}
    return json.dumps(connection)


def watch_clients(monkeypatch: pytest.MonkeyPatch, campaigns: Campaigns) -> None:
    """Point every ``twin*`` connection at the emulator; clients record calls and never pause."""
    connection = connection_json(campaigns.emulator)
    for conn_id in ("TWIN_DEFAULT", "TWIN_A", "TWIN_B"):
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id}", connection)

    async def no_pause(seconds: float) -> None:
        return None

    monkeypatch.setattr(sync_client, "_sleep", lambda seconds: None)
    monkeypatch.setattr(async_client, "_sleep", no_pause)
    send, asend = TwinClient.send, AsyncTwinClient.send

    def recording_send(self: TwinClient, call: ApiCall[Any]) -> Any:
        answer = send(self, call)
        campaigns.record(call)
        return answer

    async def recording_asend(self: AsyncTwinClient, call: ApiCall[Any]) -> Any:
        answer = await asend(self, call)
        campaigns.record(call)
        return answer

    monkeypatch.setattr(TwinClient, "send", recording_send)
    monkeypatch.setattr(AsyncTwinClient, "send", recording_asend)
