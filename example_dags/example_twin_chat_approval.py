"""A campaign that a person approves over TWIN chat before it goes out, and a branching variant.

``example_twin_chat_approval``: ``plan_campaign`` lists who gets the campaign and what it says;
``approve_campaign`` asks the approver in a TWIN chat session ("Send the spring campaign to 3
clients? 1. Approve 2. Reject") and waits in the triggerer; ``send_campaign`` sends it only
when the answer was Approve. Reject (or no answer within ``response_timeout``, which takes the
default Reject) skips the send. The approver answers in the chat with the number or the text
of an option, or yes/no (English or Russian), or in Airflow's **Required Actions** page: the
first answer wins and the chat is told. The notifier texts the approver the Required Actions
link as well.

``example_twin_chat_approval_branch``: the same question with three options, each mapped to a
task: "Send now", "Send tomorrow" (TWIN holds the messages until 10:00 tomorrow, Moscow time)
or "Cancel".

Params: ``approver`` (the approver's phone; TWIN opens the session with that client),
``chat_id`` (the TWIN chat the question goes to), ``recipients`` and ``text`` (the campaign).
Against the local emulator (``make airflow``) answer as the approver with its admin API::

    curl -X POST http://127.0.0.1:8765/_emulator/chat/replies \\
         -H 'content-type: application/json' \\
         -d '{"phone": "79990000501", "body": "yes"}'
"""

# Airflow's TaskFlow typing does not model an XComArg standing in for a value (arg-type,
# index) nor context arguments filled in at run time (call-arg).
# mypy: disable-error-code="arg-type, call-arg, index"

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_twin.notifications.twin import TwinNotifier
from airflow_provider_twin.operators.chat_approval import (
    TwinChatApprovalOperator,
    TwinChatBranchOperator,
)
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator

SENDER = "Northwind"
#: The approver's TWIN chat and phone under the local emulator (any chat id is valid there).
APPROVAL_CHAT_ID = "6f1c9a3e-2b7d-4e58-a0c4-93d2e1f7b865"
APPROVER_PHONE = "79990000501"
CAMPAIGN_PARAMS = {
    "approver": Param(APPROVER_PHONE, type="string", description="The approver's phone"),
    "chat_id": Param(APPROVAL_CHAT_ID, type="string", description="The TWIN chat the question goes to"),
    "recipients": Param(
        ["79990000511", "79990000512", "79990000513"],
        type="array",
        items={"type": "string"},
        description="Who gets the campaign: one phone per line",
    ),
    "text": Param("Spring sale: 20% off all services until Sunday. Northwind Clinic", type="string"),
}


@task
def plan_campaign(params: dict[str, Any]) -> dict[str, Any]:
    """In a real DAG: the CRM's segment for today. Here: the params, and tomorrow 10:00 Moscow time."""
    tomorrow = pendulum.now("Europe/Moscow").add(days=1).set(hour=10, minute=0, second=0, microsecond=0)
    return {
        "recipients": list(params["recipients"]),
        "text": str(params["text"]),
        "tomorrow_morning": tomorrow.isoformat(),  # an aware time: TWIN gets the offset
    }


with DAG(
    dag_id="example_twin_chat_approval",
    description="Ask an approver in a TWIN chat; send the campaign only when they approve",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "twin", "approval"],
    params=CAMPAIGN_PARAMS,
    doc_md=__doc__,
) as dag:
    campaign = plan_campaign()

    # [START howto_twin_chat_approval]
    approval = TwinChatApprovalOperator(
        task_id="approve_campaign",
        chat_id="{{ params.chat_id }}",
        approvers="{{ params.approver }}",
        subject="Send the spring campaign to {{ params.recipients | length }} clients?",
        body="{{ params.text }}",
        response_timeout=timedelta(minutes=50),  # within a chat session's lifetime (1 h by default)
        defaults=["Reject"],  # no answer in 50 minutes: not sent
        # The approver also gets the Airflow Required Actions link (SMS), to answer there.
        notifiers=[TwinNotifier(recipients="{{ params.approver }}", channels={"sms": {"from": SENDER}})],
    )
    send = TwinSendMessagesOperator(
        task_id="send_campaign",
        recipients=campaign["recipients"],
        channels={"sms": {"from": SENDER}},
        text=campaign["text"],
    )
    campaign >> approval >> send  # Reject skips send_campaign
    # [END howto_twin_chat_approval]


with DAG(
    dag_id="example_twin_chat_approval_branch",
    description="Ask an approver in a TWIN chat: send now, send tomorrow or cancel",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "twin", "approval"],
    params=CAMPAIGN_PARAMS,
    doc_md=__doc__,
) as branch_dag:
    campaign = plan_campaign()

    # [START howto_twin_chat_branch]
    choice = TwinChatBranchOperator(
        task_id="ask_when_to_send",
        chat_id="{{ params.chat_id }}",
        approvers="{{ params.approver }}",
        subject="When should the spring campaign go out?",
        body="{{ params.text }}",
        options=["Send now", "Send tomorrow", "Cancel"],
        options_mapping={"Send now": "send_now", "Send tomorrow": "send_tomorrow", "Cancel": "cancel"},
        response_timeout=timedelta(minutes=50),
        defaults=["Cancel"],
    )
    send_now = TwinSendMessagesOperator(
        task_id="send_now",
        recipients=campaign["recipients"],
        channels={"sms": {"from": SENDER}},
        text=campaign["text"],
    )
    send_tomorrow = TwinSendMessagesOperator(
        task_id="send_tomorrow",
        recipients=campaign["recipients"],
        channels={"sms": {"from": SENDER}},
        text=campaign["text"],
        send_at=campaign["tomorrow_morning"],  # TWIN holds the messages (DELAYED) until then
    )

    @task
    def cancel() -> str:
        """Nothing is sent; a real DAG would tell the marketing team."""
        return "campaign cancelled by the approver"

    campaign >> choice >> [send_now, send_tomorrow, cancel()]
    # [END howto_twin_chat_branch]
