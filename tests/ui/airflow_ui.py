"""The Airflow 3 UI as a user drives it: the connection form and the Trigger form.

Selectors are what a user sees: roles, accessible names, label texts. Where Airflow's React
form does not tie a label to its input (its extra fields' labels point at another id), a field
is found as the form group (``data-scope="field"``) whose label has that text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect

#: What the UI shows when a param holds an object it cannot render (issue: the CRM leads).
OBJECT_PLACEHOLDER = "[object Object]"


def open_connections(page: Page) -> None:
    """Home → Admin → Connections."""
    page.goto("/")
    page.get_by_role("button", name="Admin").click()
    page.get_by_role("menuitem", name="Connections").click()
    expect(page.get_by_role("button", name="Add Connection")).to_be_visible()


def field(form: Locator, label: str) -> Locator:
    """The input of the form field labelled ``label`` (exact text, surrounding spaces ignored)."""
    group = form.locator("[data-scope='field'][data-part='root']").filter(
        has=form.page.locator("label").get_by_text(label, exact=True)
    )
    return group.locator("input, textarea").first


def label(form: Locator, text: str) -> Locator:
    """A field label with exactly this text."""
    return form.locator("label").get_by_text(text, exact=True)


def expand(form: Locator, section: str) -> None:
    """Open one section (accordion item) of a form; opening one closes the others."""
    trigger = form.get_by_role("button", name=section, exact=True)
    expect(trigger).to_be_visible()
    if trigger.get_attribute("aria-expanded") != "true":
        trigger.click()
    expect(trigger).to_have_attribute("aria-expanded", "true")


def add_connection_form(page: Page, connection_id: str, type_name: str) -> Locator:
    """Admin → Connections → Add Connection, with an id and a connection type chosen."""
    open_connections(page)
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Add Connection")).to_be_visible()
    dialog.get_by_label("Connection ID").fill(connection_id)
    dialog.get_by_role("combobox", name="Connection Type").fill(type_name)
    page.get_by_role("option", name=type_name, exact=True).click()
    expect(dialog.get_by_role("button", name="Extra Fields", exact=True)).to_be_visible()
    return dialog


def connection_row(page: Page, connection_id: str) -> Locator:
    """The row of one connection in Admin → Connections."""
    cell = page.get_by_test_id("table-cell-connection_id").get_by_text(connection_id, exact=True)
    return page.get_by_role("row").filter(has=cell)


@dataclass
class TriggerForm:
    """The Trigger Dag dialog of one DAG."""

    page: Page
    dag_id: str
    dialog: Locator

    @property
    def submit(self) -> Locator:
        return self.dialog.get_by_role("button", name="Trigger", exact=True)

    @property
    def unpause(self) -> Locator:
        """The "Unpause <dag> on trigger" box: shown (and checked) while the DAG is paused."""
        return self.dialog.get_by_role("checkbox", name=f"Unpause {self.dag_id} on trigger", exact=True)

    def submit_and_get_run_id(self) -> str:
        """Click Trigger; the id of the run the UI created (from its REST request's answer)."""
        created = f"/api/v2/dags/{self.dag_id}/dagRuns"
        with self.page.expect_response(
            lambda response: response.url.endswith(created) and response.request.method == "POST"
        ) as answer:
            self.submit.click()
        response = answer.value
        assert response.ok, f"triggering {self.dag_id} failed: {response.status} {response.text()}"
        run_id: str = response.json()["dag_run_id"]
        expect(self.page).to_have_url(re.compile(rf"/dags/{self.dag_id}/runs/"))
        return run_id


def open_trigger_form(page: Page, dag_id: str) -> TriggerForm:
    """The DAG's page → Trigger: the form with the DAG's params at their defaults."""
    page.goto(f"/dags/{dag_id}")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Trigger Dag - {dag_id}")
    return TriggerForm(page, dag_id, dialog)


def open_run(page: Page, dag_id: str, run_id: str) -> None:
    """A DAG run's page (grid and task list), once it shows the run's final state."""
    page.goto(f"/dags/{dag_id}/runs/{run_id}")
    expect(page.get_by_text(run_id).first).to_be_visible()


def open_task_log(page: Page, dag_id: str, run_id: str, task_id: str) -> None:
    """A run's page → one task: its Logs tab, which opens first."""
    open_run(page, dag_id, run_id)
    task_link = page.locator(f"a[href*='/runs/'][href$='/tasks/{task_id}']")
    task_link.filter(has_text=task_id).first.click()
    expect(page).to_have_url(re.compile(rf"/tasks/{task_id}"))
