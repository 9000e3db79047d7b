"""A TWIN outage while a deferrable status sensor waits: the trigger recovers and finishes.

The sensor checks once, defers, and its trigger polls the emulator. While it waits, the
emulator is stopped (every poll fails: connection refused; the connection allows no client
retry, so whole checks fail), then started again on the same port with its state (messages,
tokens) intact, twice. The trigger must keep polling through
the outage, see the messages delivered afterwards and fire success: the task succeeds on its
first try, without any help from Airflow's retries.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

pytestmark = pytest.mark.integration

COUNTS = "GET /notify/api/v1/messages"
OUTAGES = 2


def _counts(emulator: Any) -> int:
    return int(emulator.admin.counters()["requests"].get(COUNTS, 0))


def _wait_for(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_trigger_recovers_after_the_emulator_restarts(
    airflow_twin: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from airflow.utils.session import create_session

    from tests.integration.dags.reliability_restart import dag

    emulator = airflow_twin
    connection = emulator.connection
    connection["extra"]["max_retries"] = 0  # an outage fails whole checks, not just requests
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(connection))
    emulator.admin.update_settings(delivery_seconds=3600)  # pending until the clock moves
    report: dict[str, Any] = {"outages": 0, "polls_after_restart": 0, "error": None}

    def outages() -> None:
        try:
            # The sensor's own check is 9 counts (one per status, plus one); the trigger's follow.
            if not _wait_for(lambda: _counts(emulator) >= 2 * 9, 60):
                raise RuntimeError("the trigger never polled")
            for _ in range(OUTAGES):
                emulator.stop()
                time.sleep(1.5)  # several polls of the trigger fail meanwhile
                emulator.start()
                report["outages"] += 1
                before = _counts(emulator)
                if not _wait_for(lambda before=before: _counts(emulator) >= before + 2 * 9, 30):
                    raise RuntimeError("the trigger did not poll again after the restart")
                report["polls_after_restart"] += 1
            emulator.admin.advance_clock(7200)  # now every message is delivered
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            report["error"] = repr(exc)
            if not emulator.running:
                emulator.start()
            emulator.admin.advance_clock(7200)

    watcher = threading.Thread(target=outages, daemon=True)
    watcher.start()
    dag_run = dag.test()  # bounded by the sensor's timeout (120 s)
    watcher.join(timeout=30)

    with create_session() as session:
        tasks = {ti.task_id: (ti.state, ti.try_number) for ti in dag_run.get_task_instances(session=session)}
    assert report["error"] is None, report
    assert report["outages"] == OUTAGES, report
    assert report["polls_after_restart"] == OUTAGES, report
    assert dag_run.state == "success", tasks
    assert tasks["wait"] == ("success", 1), tasks
    output = capfd.readouterr()
    failed_checks = (output.out + output.err).count("TWIN status check failed, trying again later")
    assert failed_checks >= OUTAGES, "the trigger's checks failed during the outages"
