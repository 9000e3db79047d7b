"""Example DAG for the chat operator and sensor (quoted in docs/chat.md).

A clinic's bot invites each new lead to book a visit: one chat session per lead (dynamic task
mapping), the sensors wait in the triggerer until the operator closes each conversation, and the
leads TWIN asks to rate the conversation get a follow-up. The parts between ``[START ...]`` and
``[END ...]`` are the documentation example, which docs/chat.md includes from this file.
Outside the markers, ``simulate_operator`` plays the human operator against the emulator when
``params.emulator_url`` is set (the tests do that).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_twin.emulator.admin_client import EmulatorAdmin
from airflow_provider_twin.operators.chat import TwinStartChatSessionOperator
from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor

CHAT_ID = "5f0c7a1e-3b2d-4c8e-9a61-0d2e4b6f8a10"

with DAG(
    "test_chat_example",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={"emulator_url": ""},
    tags=["example", "twin"],
) as dag:
    # [START howto_chat_session]
    @task
    def new_leads() -> list[dict[str, Any]]:
        """In a real DAG: the CRM's leads of the day."""
        return [
            {
                "client_phone": "79990000101",
                "client_external_id": "lead-101",
                "client_metadata": {"name": "Ann"},
            },
            {
                "client_phone": "79990000102",
                "client_external_id": "lead-102",
                "client_metadata": {"name": "Bob"},
            },
        ]

    # One session per lead; a retried task instance reuses its session instead of starting another.
    sessions = TwinStartChatSessionOperator.partial(
        task_id="start_chat",
        chat_id=CHAT_ID,
        messenger_type="WHATSAPP",
        message_body="I would like to book a visit",
        session_ttl=12 * 60 * 60,
        client_timezone=180,  # UTC+3, in minutes
    ).expand_kwargs(new_leads())

    # Wait in the triggerer (one shared websocket for all of them) until each chat is closed.
    closed = TwinChatSessionClosedSensor.partial(
        task_id="wait_for_close",
        deferrable=True,
        timeout=24 * 60 * 60,
    ).expand(session_id=sessions.output)

    @task
    def ask_for_ratings(closes: list[dict[str, Any]]) -> list[str]:
        """Follow up where TWIN asks the client to rate the conversation."""
        return [close["sessionId"] for close in closes if close["sessionRatingRequired"]]

    ask_for_ratings(closed.output)
    # [END howto_chat_session]

    @task
    def simulate_operator(started: Any, params: dict[str, Any]) -> None:
        """Test only: the emulator's operator closes the chats a moment later."""
        if not params["emulator_url"]:
            return
        with EmulatorAdmin(params["emulator_url"]) as admin:
            for index, session_id in enumerate(started):
                admin.close_session(session_id, after_seconds=1.0, rating_required=index == 0)

    simulate_operator(sessions.output["session_id"]) >> closed
