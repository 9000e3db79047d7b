"""CRM follow-up: a chat-bot conversation with every new lead, then a rating request or done.

For each new lead (dynamic task mapping: one mapped task instance per lead) the DAG starts a
TWIN chat session with the sales bot and waits in the triggerer until the session closes.
Then it branches on TWIN's ``sessionRatingRequired`` of each closed session:

* rating required → one SMS send asks those leads to rate the conversation;
* otherwise → the leads are marked done (in a real DAG: their stage is set in the CRM).

A path no lead needs is skipped. The branch works on the collected outcomes rather than inside
a mapped task group: Airflow 3.2-3.3 does not skip per mapped instance there
(apache/airflow#67265), and one send for every rating request is one TWIN request, not one
per lead.

The leads come from params here (a real DAG asks the CRM for the leads created since the last
run). Sessions close when the conversation ends or their ``session_ttl`` runs out. Against the
local emulator, close one yourself, as the bot would::

    curl -X POST http://127.0.0.1:8765/_emulator/sessions/<session id>/close \\
         -H 'content-type: application/json' -d '{"rating_required": true}'
"""

# Airflow's TaskFlow typing does not model an XComArg standing in for a value (arg-type,
# index) nor context arguments filled in at run time (call-arg).
# mypy: disable-error-code="arg-type, call-arg, index"

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_twin.operators.chat import TwinStartChatSessionOperator
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator
from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor


def session_request(lead: dict[str, str]) -> dict[str, Any]:
    """The chat session arguments of one lead."""
    return {
        "name": f"Sales follow-up {lead['lead_id']}",
        "client_phone": lead["phone"],
        "client_external_id": lead["lead_id"],
        "client_metadata": {"lead_id": lead["lead_id"], "interest": lead["interest"]},  # bot variables
    }


with DAG(
    dag_id="example_twin_crm_chat_flow",
    description="A sales-bot chat with every new lead; ask for a rating when TWIN says so",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "twin"],
    params={
        "chat_id": Param(
            "0b8f6a52-4c1e-4d3a-9f57-2e6d1c0a9b34", type="string", description="The sales bot's TWIN chat"
        ),
        "session_ttl": Param(3600, type="integer", minimum=1, maximum=43200, description="Seconds"),
        "leads": Param(
            [
                {"lead_id": "L-1001", "name": "Anna", "phone": "79990000401", "interest": "annual check-up"},
                {"lead_id": "L-1002", "name": "Boris", "phone": "79990000402", "interest": "dental care"},
                {"lead_id": "L-1003", "name": "Chen", "phone": "79990000403", "interest": "family plan"},
            ],
            type="array",
            # Objects: the trigger form edits the leads as JSON (without it, as lines of text).
            items={
                "type": "object",
                "properties": {key: {"type": "string"} for key in ("lead_id", "name", "phone", "interest")},
                "required": ["lead_id", "name", "phone", "interest"],
            },
            description="Simulated CRM: the new leads (JSON)",
        ),
    },
    doc_md=__doc__,
) as dag:

    @task
    def new_leads(params: dict[str, Any]) -> list[dict[str, str]]:
        """In a real DAG: the CRM's leads created since the last run."""
        return list(params["leads"])

    leads = new_leads()

    # [START howto_twin_crm_chat_flow]
    sessions = TwinStartChatSessionOperator.partial(
        task_id="start_chat",
        chat_id="{{ params.chat_id }}",
        session_ttl="{{ params.session_ttl }}",
    ).expand_kwargs(leads.map(session_request))  # one session per lead, each started exactly once

    closed = TwinChatSessionClosedSensor.partial(
        task_id="wait_for_close",
        deferrable=True,  # every lead waits on one shared websocket in the triggerer
        timeout=12 * 60 * 60,  # TWIN sessions live at most 12 hours
    ).expand(session_id=sessions.output)

    @task(multiple_outputs=True)
    def sort_leads(closes: Sequence[dict[str, Any]], leads: list[dict[str, str]]) -> dict[str, Any]:
        """Leads whose session asks for a rating, and the others (Airflow keeps the map order)."""
        pairs = list(zip(leads, closes, strict=True))
        rate = [lead for lead, close in pairs if close.get("sessionRatingRequired")]
        done = [lead for lead, close in pairs if not close.get("sessionRatingRequired")]
        return {
            "rating_recipients": [
                {"phone": lead["phone"], "var_name": lead["name"], "var_lead": lead["lead_id"]}
                for lead in rate
            ],
            "done": [lead["lead_id"] for lead in done],
        }

    @task.branch
    def rating_or_done(rating_recipients: list[dict[str, str]], done: list[str]) -> list[str]:
        """Follow the paths some lead needs; skip the other."""
        return [
            *(["send_rating_requests"] if rating_recipients else []),
            *(["mark_leads_done"] if done else []),
        ]

    sorted_leads = sort_leads(closed.output, leads)

    rating_requests = TwinSendMessagesOperator(
        task_id="send_rating_requests",
        recipients=sorted_leads["rating_recipients"],
        channels={"sms": {"from": "Northwind"}},
        # {{name}} and {{lead}} are TWIN variables: keep Jinja away from them with raw.
        text="{% raw %}{{name}}, how was our chat? Rate it: https://example.com/r/{{lead}}{% endraw %}",
    )

    @task
    def mark_leads_done(lead_ids: list[str]) -> list[str]:
        """In a real DAG: set these leads' stage in the CRM."""
        return lead_ids

    branch = rating_or_done(sorted_leads["rating_recipients"], sorted_leads["done"])
    branch >> [rating_requests, mark_leads_done(sorted_leads["done"])]
    # [END howto_twin_crm_chat_flow]
