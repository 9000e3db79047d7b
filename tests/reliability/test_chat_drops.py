"""Chat waits under forced websocket drops: not one ``sessionClosed`` is missed.

Groups of ``TwinChatSessionEventTrigger`` s wait in one event loop (as in a triggerer: they share
one websocket per connection id) while the emulator drops that websocket at the moments a
close is easiest to lose:

* **after connect**: right after answering ``connect``, before the client could subscribe or
  join anything;
* **at join**: when a ``joinSession`` arrives, before the session is joined (between connect
  and join);
* **before the close**: right before it publishes a session's ``sessionClosed``, so the event
  goes out to nobody.

Some sessions are also closed before their trigger starts. Every trigger must still report its
session closed (over the websocket, or by its REST check after the next join) and nothing else.
Each round is seeded; a failure names the round's seed. The drops are injected inside the
in-process emulator, which has no admin switch for protocol moments.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

CHAT_ID = "5f0c7a1e-3b2d-4c8e-9a61-0d2e4b6f8a10"
ROUNDS = 6
SESSIONS_PER_ROUND = 14
DROP_CODE, DROP_REASON = 3001, "shutdown"


@dataclass
class DropPlan:
    """Which connects and joins of a round end in a drop, and which closes are preceded by one."""

    seed: int
    after_connect: set[int] = field(default_factory=set)
    at_join: set[int] = field(default_factory=set)
    before_close: set[str] = field(default_factory=set)
    connects: int = 0
    joins: int = 0
    dropped: Counter[str] = field(default_factory=Counter)


class Injector:
    """Wraps the emulator's websocket handlers to drop connections at planned moments."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, hub: Any) -> None:
        from airflow_provider_twin.emulator.centrifugo_connection import WidgetConnection
        from airflow_provider_twin.emulator.centrifugo_hub import CentrifugoHub
        from airflow_provider_twin.emulator.centrifugo_protocol import dumps

        self.plan: DropPlan | None = None
        connect, rpc, dispatch = (
            WidgetConnection._connect,
            WidgetConnection._rpc,
            CentrifugoHub._dispatch,
        )
        injector = self

        def _connect(conn: Any, command_id: Any, params: dict[str, Any]) -> Any:
            reply = connect(conn, command_id, params)
            plan = injector.plan
            if plan is not None and reply is not None and not conn.closing:
                plan.connects += 1
                if plan.connects in plan.after_connect:
                    conn.send(dumps(reply))  # the client sees itself connected...
                    conn.close(DROP_CODE, DROP_REASON)  # ...and loses the socket at once
                    plan.dropped["after connect"] += 1
                    return None
            return reply

        def _rpc(conn: Any, command_id: int, params: dict[str, Any]) -> Any:
            plan = injector.plan
            if plan is not None and params.get("method") == "joinSession" and not conn.closing:
                plan.joins += 1
                if plan.joins in plan.at_join:
                    conn.close(DROP_CODE, DROP_REASON)  # the join never happens
                    plan.dropped["at join"] += 1
                    return None
            return rpc(conn, command_id, params)

        def _dispatch(hub_: Any, event: Any) -> None:
            plan = injector.plan
            if plan is not None and event.kind == "session_closed" and event.session_id in plan.before_close:
                listeners = hub_.listeners(event.session_id)
                for conn in listeners:
                    conn.close(DROP_CODE, DROP_REASON)  # the event below reaches nobody
                plan.dropped["before close"] += len(listeners)
            dispatch(hub_, event)

        monkeypatch.setattr(WidgetConnection, "_connect", _connect)
        monkeypatch.setattr(WidgetConnection, "_rpc", _rpc)
        monkeypatch.setattr(CentrifugoHub, "_dispatch", _dispatch)
        self.hub = hub


@pytest.fixture
def fast_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconnect after milliseconds (the production backoff starts at half a second)."""
    from airflow_provider_twin.client.chat.realtime import async_hub as realtime_async

    base = realtime_async.ChatEventHub

    class FastHub(base):  # type: ignore[misc, valid-type]
        def __init__(self, url: str, **kwargs: Any) -> None:
            kwargs.setdefault("min_reconnect_delay", 0.01)
            kwargs.setdefault("max_reconnect_delay", 0.1)
            super().__init__(url, **kwargs)

    monkeypatch.setattr(realtime_async, "ChatEventHub", FastHub)


def _start_sessions(base_url: str, count: int) -> list[str]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        return [
            http.post(f"/chat/api/v1/chats/{CHAT_ID}/sessions", json={}).json()["id"] for _ in range(count)
        ]


async def _one_round(emulator: Any, injector: Injector, seed: int) -> DropPlan:
    from airflow_provider_twin.triggers.chat import TwinChatSessionEventTrigger

    rng = random.Random(seed)
    sessions = await asyncio.to_thread(_start_sessions, emulator.base_url, SESSIONS_PER_ROUND)
    plan = DropPlan(
        seed=seed,
        after_connect=set(rng.sample(range(1, 12), 5)),
        at_join=set(rng.sample(range(1, 40), 8)),
        before_close=set(rng.sample(sessions, SESSIONS_PER_ROUND // 2)),
    )
    early = set(rng.sample([s for s in sessions if s not in plan.before_close], 2))
    for session_id in early:  # closed before anybody listens: only REST can tell
        await asyncio.to_thread(emulator.admin.close_session, session_id)
    injector.plan = plan

    async def wait(session_id: str, delay: float) -> dict[str, Any]:
        await asyncio.sleep(delay)
        trigger = TwinChatSessionEventTrigger(
            session_id=session_id, deadline=time.time() + 60, fallback_interval=0.5, recheck_interval=60
        )
        events = [event.payload async for event in trigger.run()]
        assert len(events) == 1, f"seed {seed}: {events}"
        payload: dict[str, Any] = events[0]
        return payload

    async def close_later(session_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        await asyncio.to_thread(emulator.admin.close_session, session_id)

    starts = {session_id: rng.uniform(0, 1.5) for session_id in sessions}
    waits = [asyncio.ensure_future(wait(s, starts[s])) for s in sessions]
    closes = [
        asyncio.ensure_future(close_later(s, starts[s] + rng.uniform(0.1, 2.5)))
        for s in sessions
        if s not in early
    ]
    try:
        results = await asyncio.wait_for(asyncio.gather(*waits), timeout=90)
        await asyncio.gather(*closes)
    finally:
        injector.plan = None
        for task in (*waits, *closes):
            task.cancel()
    missed = {
        session_id: (result["status"], result.get("message"))
        for session_id, result in zip(sessions, results, strict=True)
        if result["status"] != "closed" or result["session_id"] != session_id
    }
    assert not missed, f"seed {seed}: closes missed: {missed} (drops {dict(plan.dropped)})"
    return plan


async def test_no_session_closed_is_missed_under_websocket_drops(
    twin_emulator: Any,
    twin_connection_env: str,
    monkeypatch: pytest.MonkeyPatch,
    fast_reconnects: None,
    request: pytest.FixtureRequest,
) -> None:
    pytest.importorskip("centrifuge", reason="the realtime extra (centrifuge-python) is not installed")
    twin_emulator.admin.update_realtime(ping_interval=1, sweep_interval=0.2)
    injector = Injector(monkeypatch, twin_emulator)
    totals: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        plan = await _one_round(twin_emulator, injector, seed=1000 + round_)
        totals.update(plan.dropped)
    stats = twin_emulator.admin.realtime()["stats"]
    request.node.user_properties.extend(
        [*totals.items(), ("connections_opened", stats["connections_opened"]), ("joins", stats["joins"])]
    )
    assert sum(totals.values()) >= 100, totals
    for moment in ("after connect", "at join", "before close"):
        assert totals[moment] >= 15, totals
