"""DAGs that ask an approver over TWIN chat, for tests/integration/approvals (run by a real Airflow).

One DAG per case, each with an approver of its own (a phone no other case uses), so the cases'
runs go on side by side in one Airflow and each approver's chat session is theirs alone:

* ``twin_it_approve``, ``twin_it_reject``, ``twin_it_stranger``, ``twin_it_airflow_first``:
  ``approval`` (:class:`TwinChatApprovalOperator`) then ``send_campaign``, the send operator;
  a Reject skips the send.
* ``twin_it_timeout``: the same with a response timeout of :data:`TIMEOUT_SECONDS` and the
  default Reject.
* ``twin_it_branch``: ``choose`` (:class:`TwinChatBranchOperator`) with three options, each
  mapped to a task: ``send_now``, ``send_tomorrow`` (a send held until tomorrow) or ``cancel``.

The triggers read the chat every :data:`POLL_SECONDS` (the websocket wakes them sooner). The
DAGs are unpaused at creation (the stack's setting): a test only triggers runs.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_twin.operators.chat_approval import TwinChatApprovalOperator, TwinChatBranchOperator
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator

CHAT_ID = "8a3e6c1f-4d2b-4e7a-9b50-c6d1e2f3a4b5"
POLL_SECONDS = 1.0
TIMEOUT_SECONDS = 6
#: The approver of each DAG: (phone, name).
APPROVERS = {
    "twin_it_approve": ("79990007001", "Olga Approver"),
    "twin_it_reject": ("79990007002", "Rita Rejecter"),
    "twin_it_stranger": ("79990007003", "Sam Careful"),
    "twin_it_airflow_first": ("79990007004", "Alex Slow"),
    "twin_it_timeout": ("79990007005", "Tim Away"),
    "twin_it_branch": ("79990007006", "Bea Brancher"),
}
#: Who gets the campaign a DAG sends (a phone per DAG, to find its messages in TWIN).
CAMPAIGN_PHONES = {dag_id: f"7999000{8000 + index:04d}" for index, dag_id in enumerate(APPROVERS)}
BRANCH_OPTIONS = {"Send now": "send_now", "Send tomorrow": "send_tomorrow", "Cancel": "cancel"}
#: When ``send_tomorrow``'s messages are due (TWIN holds them until then).
HELD_UNTIL = "2030-01-02T10:00:00+03:00"
START = pendulum.datetime(2026, 1, 1, tz="UTC")


def approver(dag_id: str) -> dict[str, str]:
    """The approver of ``dag_id`` as the operators take it."""
    phone, name = APPROVERS[dag_id]
    return {"phone": phone, "name": name}


def campaign(task_id: str, dag_id: str, send_at: str | None = None) -> TwinSendMessagesOperator:
    """The send the approval guards: one SMS to the DAG's campaign phone (held until ``send_at``)."""
    return TwinSendMessagesOperator(
        task_id=task_id,
        recipients=[CAMPAIGN_PHONES[dag_id]],
        channels={"sms": {"from": "Northwind"}},
        text=f"Campaign of {dag_id}",
        send_at=send_at,
    )


def approval_dag(dag_id: str, **waiting: object) -> DAG:
    """``approval`` >> ``send_campaign``; ``waiting``: response_timeout and defaults."""
    with DAG(dag_id, schedule=None, start_date=START, catchup=False, tags=["twin-it"]) as dag:
        approval = TwinChatApprovalOperator(
            task_id="approval",
            chat_id=CHAT_ID,
            approvers=[approver(dag_id)],
            subject=f"Send the campaign of {dag_id}?",
            body="One SMS to one client.",
            poll_interval=POLL_SECONDS,
            **waiting,
        )
        approval >> campaign("send_campaign", dag_id)
    return dag


for _dag_id in ("twin_it_approve", "twin_it_reject", "twin_it_stranger", "twin_it_airflow_first"):
    globals()[_dag_id] = approval_dag(_dag_id)

twin_it_timeout = approval_dag(
    "twin_it_timeout", response_timeout=timedelta(seconds=TIMEOUT_SECONDS), defaults=["Reject"]
)

with DAG(
    "twin_it_branch", schedule=None, start_date=START, catchup=False, tags=["twin-it"]
) as twin_it_branch:
    choose = TwinChatBranchOperator(
        task_id="choose",
        chat_id=CHAT_ID,
        approvers=[approver("twin_it_branch")],
        subject="When should the campaign go out?",
        options=list(BRANCH_OPTIONS),
        options_mapping=BRANCH_OPTIONS,
        poll_interval=POLL_SECONDS,
    )

    @task
    def cancel() -> str:
        return "cancelled"

    choose >> [
        campaign("send_now", "twin_it_branch"),
        campaign("send_tomorrow", "twin_it_branch", send_at=HELD_UNTIL),
        cancel(),
    ]
