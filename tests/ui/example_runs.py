"""The example DAGs' runs the UI tests check, triggered early from their Trigger forms.

Every run is triggered first, one form after the other (a screenshot of each form), and the
runs then go on side by side while other tests use the browser; each test waits for its own
run. The CRM example's chat sessions are closed by a bot thread, as the example's docstring tells
a user to do against the emulator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Browser, expect

from airflow_provider_twin.emulator import TwinEmulator

from .airflow_stack import AirflowStack, example_dag_ids
from .airflow_ui import OBJECT_PLACEHOLDER, TriggerForm, field, open_trigger_form
from .browser_session import Screenshots, offline_page

CAMPAIGN = "example_twin_reminder_campaign"
CRM = "example_twin_crm_chat_flow"
QUICKSTART = "example_twin_quickstart"
#: The day the campaign's sample recipients file is for.
SAMPLE_DAY = "2026-03-02"
#: The run of the campaign on the sample day (the others are keyed by their DAG id).
CAMPAIGN_ON_SAMPLE_DAY = f"{CAMPAIGN} on {SAMPLE_DAY}"
#: How the chat sessions asking an approver are named (example_twin_chat_approval's question).
APPROVAL_SESSION = "Airflow approval"
#: The CRM lead whose closed session asks for a rating (the others are marked done).
RATING_FOR = "Anna"


@dataclass
class Triggered:
    """What happened when a Trigger form was submitted."""

    dag_id: str
    run_id: str | None = None
    problem: str | None = None
    blocked: tuple[str, ...] = ()

    def check(self) -> str:
        """The run id; fails the test with what went wrong in the form otherwise."""
        assert self.problem is None, f"the Trigger form of {self.dag_id}: {self.problem}"
        assert not self.blocked, f"the Trigger form of {self.dag_id} needed the network: {self.blocked}"
        assert self.run_id is not None
        return self.run_id


def check_defaults(form: TriggerForm) -> None:
    """The form can be submitted as it opens, and unpauses the DAG; the CRM leads render as JSON.

    The DAG is still paused (as under ``make airflow``, DAGs are paused at creation), so the form
    offers "Unpause <dag> on trigger", checked: triggering with the defaults runs the DAG.
    """
    expect(form.submit).to_be_enabled()
    expect(form.unpause).to_be_checked()
    if form.dag_id == CRM:
        expect(form.dialog).to_contain_text('"lead_id": "L-1001"')
        expect(form.dialog).not_to_contain_text(OBJECT_PLACEHOLDER)


def pick_sample_day(form: TriggerForm) -> None:
    """The campaign on the sample file's day: the date typed into ``campaign_date``."""
    field(form.dialog, "campaign_date").fill(SAMPLE_DAY)
    expect(form.submit).to_be_enabled()


#: (key, DAG id, what is done in the form, what the screenshot shows)
PLAN: list[tuple[str, str, Callable[[TriggerForm], None], str]] = [
    *(
        (
            dag_id,
            dag_id,
            check_defaults,
            f"The Trigger form of the paused {dag_id} with its defaults: Trigger enabled, "
            f'"Unpause {dag_id} on trigger" checked',
        )
        for dag_id in example_dag_ids()
    ),
    (
        CAMPAIGN_ON_SAMPLE_DAY,
        CAMPAIGN,
        pick_sample_day,
        f"The campaign's Trigger form with campaign_date {SAMPLE_DAY} (the sample file's day)",
    ),
]


def trigger_all(browser: Browser, airflow: AirflowStack, screenshots: Screenshots) -> dict[str, Triggered]:
    """Submit every form of :data:`PLAN`; a failure is kept for the test of that run to report."""
    outcomes: dict[str, Triggered] = {}
    for key, dag_id, fill, shows in PLAN:
        outcome = Triggered(dag_id)
        with offline_page(browser, airflow.base_url, screenshots) as ui:
            try:
                form = open_trigger_form(ui.page, dag_id)
                try:
                    fill(form)
                finally:
                    ui.screenshot(f"trigger-form-{key}", shows, height=1600)
                outcome.run_id = form.submit_and_get_run_id()
            except Exception as problem:  # noqa: BLE001 - reported by the test of this run
                outcome.problem = f"{type(problem).__name__}: {problem}"
            outcome.blocked = tuple(ui.blocked)
        outcomes[key] = outcome
    return outcomes


def close_sessions_as_the_bot(twin: TwinEmulator, stop: threading.Event) -> None:
    """Close every chat session once it is open; ask for a rating for :data:`RATING_FOR`.

    A session that asks an approver (the approval example's question) is not closed: its
    approver answers "yes" there, once, so the example's run goes on and sends its campaign.
    """
    closed: set[str] = set()
    while not stop.wait(0.5):
        try:
            sessions = twin.admin.sessions(status="OPEN")["items"]
            for session in sessions:
                if session["id"] in closed:
                    continue
                if str(session["name"]).startswith(APPROVAL_SESSION):
                    # A reply counts once the question (the bot's message) is in the session.
                    if any(message["authorType"] != "CLIENT" for message in session["messages"]):
                        twin.admin.reply_in_chat("yes", session_id=session["id"])
                        closed.add(session["id"])
                else:
                    lead = str(session["name"]).rsplit(" ", 1)[-1]
                    twin.admin.close_session(
                        session["id"], after_seconds=0.5, rating_required=lead == RATING_FOR
                    )
                    closed.add(session["id"])
        except Exception:  # noqa: BLE001 - the emulator is stopping
            return
