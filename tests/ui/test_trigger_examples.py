"""Every example DAG triggers from its Trigger form with the defaults, and its run succeeds."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .airflow_stack import AirflowStack, example_dag_ids
from .airflow_ui import open_run
from .browser_session import OfflinePage
from .example_runs import QUICKSTART, Triggered


@pytest.mark.timeout(600)  # the first test to ask for the runs starts Airflow and triggers them all
@pytest.mark.parametrize("dag_id", example_dag_ids())
def test_example_dag_triggers_with_its_defaults_and_succeeds(
    dag_id: str, example_runs: dict[str, Triggered], airflow: AirflowStack, ui: OfflinePage
) -> None:
    run_id = example_runs[dag_id].check()

    run = airflow.wait_for_run(dag_id, run_id, timeout=240)
    tasks = airflow.task_instances(dag_id, run_id)
    open_run(ui.page, dag_id, run_id)
    ui.screenshot(f"run-{dag_id}", f"The run of {dag_id} triggered with its defaults: {run['state']}")

    assert run["state"] == "success", f"{dag_id} ended {run['state']}: {tasks}"
    if dag_id == QUICKSTART:
        # The demo emulator's numbers ending in 13 have no Viber: the SMS resend must happen.
        assert tasks["resend_by_sms"] == "success", tasks
        resend = ui.page.get_by_role("row").filter(has=ui.page.get_by_role("link", name="resend_by_sms"))
        expect(resend).to_contain_text("Success")
    ui.assert_offline()
