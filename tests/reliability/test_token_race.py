"""Tokens expiring every second while a deferrable status wait polls: the wait finishes.

A renewal and a second expiry can race: the client renews after TWIN answered "Token is
expired.", repeats the request with the new token, and TWIN refuses that one too because
every token was expired again meanwhile. Here the emulator expires every token every second
(``POST /_emulator/tokens/expire`` with ``after_seconds: 0``: the tokens handed out so far are
refused at once, although their ``exp`` is later) and answers each request on `/messages` 200 ms late
(it checks the token after the delay), so a check's repeated requests often meet the next expiry.
The margin is what a shared CI machine needs: an attempt is refused when an expiry falls within
its delay plus the machine's own latency, which under load reaches a few hundred ms. The status
trigger runs in process, as the triggerer would run it, over 3,000 messages that are delivered
after a few seconds; it must fire success, not an error.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from airflow_provider_twin.client.messages import Criteria, Targets
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.triggers.messages import TwinMessageStatusTrigger
from tests.unit.messages.status.campaigns import MESSAGES_PATH, Campaigns, watch_clients

pytestmark = pytest.mark.integration

MESSAGES = 3000
EXPIRE_EVERY = 1.0
#: Expiries before the messages are delivered: the wait spans this many renewal races.
EXPIRIES_BEFORE_DELIVERY = 8
REFRESH_ROUTE = "POST /iam/api/v1/auth/refresh"


def test_a_deferrable_wait_outlasts_tokens_expiring_every_second(
    twin_emulator: TwinEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    twin = Campaigns(twin_emulator)
    watch_clients(monkeypatch, twin)
    try:
        twin.admin.update_settings(seed=20261201)
        twin.send(MESSAGES)  # pending until released
        twin.admin.add_fault(method="GET", path=MESSAGES_PATH, kind="latency", latency_ms=200)
        stop = threading.Event()
        expiries = {"count": 0}

        def expire() -> None:
            while not stop.wait(EXPIRE_EVERY):
                twin.admin.expire_tokens(after_seconds=0)
                expiries["count"] += 1
                if expiries["count"] == EXPIRIES_BEFORE_DELIVERY:
                    twin.release()

        trigger = TwinMessageStatusTrigger(
            targets=Targets.of(bulk_ids="bulk-1", expected_total=MESSAGES).to_json(),
            criteria=Criteria().to_json(),
            deadline=time.time() + 60,
            poll_interval=0.05,
            twin_conn_id="twin_default",
            # A pending check asks in two rounds (the counts, then the held messages), each late
            # here, so on a loaded machine a check can meet an expiry in both; a wait may meet
            # more refused renewals in a row than the default allows before it is over.
            auth_failure_limit=6,
        )

        async def first_event() -> dict[str, Any]:
            events = [event.payload async for event in trigger.run()]
            assert len(events) == 1
            payload: dict[str, Any] = events[0]
            return payload

        expirer = threading.Thread(target=expire, daemon=True)
        expirer.start()
        try:
            event = asyncio.run(first_event())
        finally:
            stop.set()
            expirer.join(timeout=10)
        assert event["status"] == "success", event
        assert event["result"]["succeeded"] == MESSAGES
        assert expiries["count"] >= EXPIRIES_BEFORE_DELIVERY
        assert twin.served(REFRESH_ROUTE) >= EXPIRIES_BEFORE_DELIVERY // 2, "the tokens were renewed"
    finally:
        twin.close()
