"""The reminder campaign's report reads in place in the task log view of the Airflow UI."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .airflow_stack import AirflowStack
from .airflow_ui import open_task_log
from .browser_session import OfflinePage
from .example_runs import CAMPAIGN, CAMPAIGN_ON_SAMPLE_DAY, SAMPLE_DAY, Triggered

#: Lines of the report, as the log view shows them.
REPORT_LINES = (
    re.compile(rf"Reminder campaign {SAMPLE_DAY}: 12 recipient\(s\)"),
    re.compile(r"Messages per channel and status"),
    re.compile(r"step\s+channel\s+DELIVERED\s+UNDELIVERED\s+total"),
    re.compile(r"reminder\s+WHATSAPP\s+\d+"),
    re.compile(r"Recipients reached: \d+ of 12"),
)


@pytest.mark.timeout(720)  # the first test to ask for the runs starts Airflow and triggers them all
def test_campaign_report_shows_in_place_in_the_task_log(
    example_runs: dict[str, Triggered], airflow: AirflowStack, ui: OfflinePage
) -> None:
    run_id = example_runs[CAMPAIGN_ON_SAMPLE_DAY].check()
    run = airflow.wait_for_run(CAMPAIGN, run_id, timeout=420)
    assert run["state"] == "success", airflow.task_instances(CAMPAIGN, run_id)

    open_task_log(ui.page, CAMPAIGN, run_id, "campaign_report")

    lines = [ui.page.get_by_text(line).first for line in REPORT_LINES]
    for line in lines:
        expect(line).to_be_visible()
    returned = ui.page.get_by_text("Done. Returned value was").first
    if returned.is_visible():
        last_report_line = lines[-1].bounding_box()
        returned_line = returned.bounding_box()
        assert last_report_line is not None
        assert returned_line is not None
        assert last_report_line["y"] < returned_line["y"], "the report comes after the returned value"
    ui.screenshot(
        "campaign-report-in-the-task-log",
        f"The campaign_report task's log (campaign of {SAMPLE_DAY}): the report table in place, "
        "before the returned value",
        height=1600,
    )
    ui.assert_offline()
