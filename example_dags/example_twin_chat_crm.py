"""Chat CRM: ask customers in TWIN chat, wait for each conversation to end, store the transcripts.

One send reaches every customer through the ``chat`` channel of a Notify message: TWIN opens a
chat session per customer, with the bot saying the text. TWIN's answer to the send names no
session, so the send operator looks the sessions up right after the send (by the chat and the
session name) and hands their ids on in its summary (``chat_session_ids``). Then:

* a mapped sensor waits, in the triggerer, until each session closes (the customer is done, or
  the session's ttl ran out);
* a mapped transcript operator reads each closed session's messages (customer and bot only);
* a CRM step stores the transcripts (here: JSON Lines in ``crm_dir``);
* sessions still open when the waits end (a wait timed out and was skipped) are listed and
  closed with the result ``no answer``.

The session name carries the run id, so each run's sessions are its own. Against the local
emulator, answer and close a session yourself, as a customer would::

    curl -X POST http://127.0.0.1:8765/_emulator/chat/replies -H 'content-type: application/json' \\
         -d '{"phone": "79990000501", "body": "All good, thanks!"}'
    curl -X POST http://127.0.0.1:8765/_emulator/sessions/<session id>/close \\
         -H 'content-type: application/json' -d '{}'
"""

# Airflow's TaskFlow typing does not model an XComArg standing in for a value (arg-type,
# index) nor context arguments filled in at run time (call-arg).
# mypy: disable-error-code="arg-type, call-arg, index"

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_twin.operators.chat_sessions import (
    TwinChatTranscriptOperator,
    TwinCloseChatSessionOperator,
    TwinListChatSessionsOperator,
)
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator
from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor

SESSION_NAME = "Visit feedback {{ run_id }}"
#: How long each conversation may take (TWIN sessions live at most 12 hours); tests shorten it.
WAIT_SECONDS = float(os.environ.get("TWIN_EXAMPLE_CHAT_WAIT_SECONDS", str(6 * 60 * 60)))

with DAG(
    dag_id="example_twin_chat_crm",
    description="Ask customers in TWIN chat, wait for the conversations to end, store the transcripts",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "twin"],
    params={
        "chat_id": Param(
            "0b8f6a52-4c1e-4d3a-9f57-2e6d1c0a9b34", type="string", description="The feedback bot's TWIN chat"
        ),
        "customers": Param(
            ["79990000501", "79990000502"],
            type="array",
            items={"type": "string"},
            description="Phones of the customers to ask",
        ),
        "crm_dir": Param(
            str(Path(tempfile.gettempdir()) / "twin_chat_crm"),
            type="string",
            description="Where the CRM step writes the transcripts",
        ),
    },
    doc_md=__doc__,
) as dag:

    @task
    def customers(params: dict[str, Any]) -> list[str]:
        """In a real DAG: the CRM's customers to ask (here: the params)."""
        return list(params["customers"])

    # [START howto_twin_chat_crm]
    ask = TwinSendMessagesOperator(
        task_id="ask_in_chat",
        recipients=customers(),
        channels={
            "chat": {
                "chatId": "{{ params.chat_id }}",
                "chatSessionName": SESSION_NAME,  # one name per run: its sessions are found by it
                "text": "Thank you for your visit! How did it go? Just reply here.",
            }
        },
    )

    @task
    def opened_sessions(chat_session_ids: list[str]) -> list[str]:
        """The send's chat sessions as a return value: Airflow maps only over return values."""
        return list(chat_session_ids)

    closed = TwinChatSessionClosedSensor.partial(
        task_id="wait_for_chat",
        deferrable=True,  # every conversation waits on one shared websocket in the triggerer
        timeout=WAIT_SECONDS,
        soft_fail=True,  # a conversation that never ends is skipped, then closed below
    ).expand(session_id=opened_sessions(ask.output["chat_session_ids"]))

    transcripts = TwinChatTranscriptOperator.partial(
        task_id="read_transcript",
        author_types=["CLIENT", "BOT"],
        max_messages=200,
        trigger_rule="none_failed_min_one_success",  # the closed ones, even if some waits timed out
    ).expand(session_id=closed.output)  # the close payload names its session

    @task(trigger_rule="none_failed")
    def store_transcripts(transcripts: Sequence[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        """The CRM step: one JSON line per closed conversation (a real DAG writes to the CRM)."""
        folder = Path(params["crm_dir"])
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "transcripts.jsonl"
        stored = [transcript for transcript in transcripts if transcript]
        with target.open("a", encoding="utf-8") as out:
            for transcript in stored:
                out.write(json.dumps(transcript, ensure_ascii=False) + "\n")
        return {"stored": len(stored), "file": str(target)}

    stored = store_transcripts(transcripts.output)

    unfinished = TwinListChatSessionsOperator(
        task_id="find_unfinished",
        chat_id="{{ params.chat_id }}",
        name=SESSION_NAME,
        status="OPEN",
        trigger_rule="all_done",
    )
    close_unfinished = TwinCloseChatSessionOperator.partial(
        task_id="close_unfinished", result="no answer"
    ).expand(
        session_id=opened_sessions.override(task_id="unfinished_sessions")(unfinished.output["session_ids"])
    )
    # [END howto_twin_chat_crm]

    stored >> unfinished
