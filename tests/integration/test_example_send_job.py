"""The send job example runs green against the emulator (``dag.test()``): one job is created,
filled and started, waited for in the triggerer until ``COMPLETED``, and its messages are in
TWIN; a second run (a new run id) makes a second job, never a duplicate within a run."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.file_modules import load_file
from tests.integration.test_example_dags import EXAMPLES, Run, records


@pytest.fixture
def twin(airflow_twin: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The emulator with its send windows shifted so that 09:00-21:00 holds the present moment."""
    monkeypatch.setenv("TWIN_EXAMPLE_POKE_SECONDS", "1")
    seconds = time.time() % 86400
    offset = round((((12 * 3600 - seconds) + 43200) % 86400 - 43200) / 60)
    airflow_twin.admin.update_settings(
        delivery_seconds=0.2, task_messages_per_second=20, time_ranges_utc_offset_minutes=offset
    )
    return airflow_twin


@pytest.mark.integration
def test_send_job_example_starts_one_job_and_waits_for_it(twin: Any) -> None:
    dag = load_file(EXAMPLES / "example_twin_send_job.py").dag
    run = Run(dag)
    assert run.state == "success", run.states
    summary = run.value("send_job")
    assert summary["name"].startswith("Spring sale [")
    assert (summary["created"], summary["uploaded"], summary["started"], summary["total"]) == (
        True,
        True,
        True,
        6,
    )
    outcome = run.value("wait")
    assert (outcome["job_id"], outcome["status"], outcome["processed"]) == (summary["job_id"], "COMPLETED", 6)
    assert run.value("report").startswith(f"TWIN send job {summary['name']}: COMPLETED, 6 of 6")
    sent = records(twin)
    assert len(sent) == 6
    assert {item["destination"]["phone"] for item in sent} == {f"7999100000{n}" for n in range(1, 7)}
    with twin.state.lock:
        assert [job.name for job in twin.state.tasks.tasks.values()] == [summary["name"]]
