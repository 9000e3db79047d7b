"""Send jobs ("tasks", twin-api.md §3.6, §7.22): lifecycle, files, rate, windows, strict mode, faults."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest
from emulator_testkit import TwinApi

from airflow_provider_twin.client.messages.send_job_files import job_rows, write_xlsx
from airflow_provider_twin.emulator import FastForward, TwinEmulator

TASKS = "/notify/api/v1/tasks"
CHANNELS = {"sms": {"text": "Hello {{name}}", "from": "Twin24"}}


def xlsx(count: int, start: int = 0) -> bytes:
    destinations = [{"phone": f"7999{start + n:07d}", "variables": {"name": f"n{n}"}} for n in range(count)]
    return write_xlsx(job_rows({"channels": CHANNELS}, destinations))  # type: ignore[typeddict-item]


def create(api: TwinApi, **body: Any) -> str:
    response = api.http.post(TASKS, json={"name": "job", **body}, headers=api.headers())
    assert response.status_code == 201, response.text
    task_id: str = response.json()["id"]
    return task_id


def upload(api: TwinApi, task_id: str, content: bytes, name: str = "messages.xlsx") -> httpx.Response:
    return api.http.post(f"{TASKS}/{task_id}", files={"messages": (name, content)}, headers=api.headers())


def control(api: TwinApi, method: str, path: str) -> httpx.Response:
    return api.http.request(method, f"/notify/api/v1/{path}", headers=api.headers())


def item(api: TwinApi, task_id: str) -> dict[str, Any]:
    response = api.http.get(TASKS, params={"name": "job"}, headers=api.headers())
    assert response.status_code == 200, response.text
    found: dict[str, Any] = next(i for i in response.json()["items"] if i["id"] == task_id)
    return found


def status(api: TwinApi, task_id: str) -> str:
    response = api.http.get(f"{TASKS}/{task_id}/statuses", headers=api.headers())
    assert response.status_code == 200, response.text
    value: str = response.json()["status"]
    return value


def test_a_job_runs_at_the_configured_rate_and_its_rows_become_messages(
    api: TwinApi, twin_emulator: TwinEmulator
) -> None:
    twin_emulator.admin.update_settings(task_messages_per_second=10)
    task_id = create(api, allowedTimeRanges=[["00:00:00", "23:59:59"]])
    assert upload(api, task_id, xlsx(30)).status_code == 200
    listed = item(api, task_id)
    assert (listed["status"], listed["totalMessageCount"], listed["totalProcessedMessageCount"]) == (
        "CREATED",
        30,
        0,
    )
    assert control(api, "POST", f"startedTasks/{task_id}").json()["status"] == "RUNNING"
    twin_emulator.state.advance_clock(1.05)
    assert 9 <= item(api, task_id)["totalProcessedMessageCount"] <= 11
    twin_emulator.state.advance_clock(5)
    handed = item(api, task_id)  # every row is a message now; none delivered yet
    assert (handed["status"], handed["totalProcessedMessageCount"], handed["progress"]) == (
        "RUNNING",
        30,
        100,
    )
    assert handed["inProgressMessageCount"] > 0
    assert api.count(taskId=task_id) == 30
    first = api.items(taskId=task_id, limit=1)[0]
    assert first["templateVariables"]["name"].startswith("n")
    twin_emulator.state.advance_clock(5)
    done = item(api, task_id)
    assert done["status"] == "COMPLETED"
    assert (done["completedMessageCount"], done["inProgressMessageCount"], done["progress"]) == (30, 0, 100)


def test_pause_and_resume_stop_and_restart_the_release(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(task_messages_per_second=10)
    task_id = create(api)
    upload(api, task_id, xlsx(50))
    control(api, "POST", f"startedTasks/{task_id}")
    twin_emulator.state.advance_clock(1.05)
    assert control(api, "POST", f"pausedTasks/{task_id}").json()["status"] == "PAUSED"
    paused_at = item(api, task_id)["totalProcessedMessageCount"]
    twin_emulator.state.advance_clock(10)
    assert item(api, task_id)["totalProcessedMessageCount"] == paused_at
    assert control(api, "DELETE", f"pausedTasks/{task_id}").json()["status"] == "RUNNING"
    twin_emulator.state.advance_clock(10)
    assert item(api, task_id)["totalProcessedMessageCount"] == 50
    twin_emulator.state.advance_clock(1)
    assert status(api, task_id) == "COMPLETED"


def test_a_job_waits_for_its_window(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(task_messages_per_second=0)
    now = twin_emulator.state.now() % 86400
    start, end = (now + 3600) % 86400, (now + 7200) % 86400
    clock = [f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}:00" for s in (start, end)]
    task_id = create(api, allowedTimeRanges=[clock])
    upload(api, task_id, xlsx(5))
    control(api, "POST", f"startedTasks/{task_id}")
    assert item(api, task_id)["totalProcessedMessageCount"] == 0
    twin_emulator.state.advance_clock(3700)
    assert api.count(taskId=task_id) == 5
    twin_emulator.state.advance_clock(1)
    assert status(api, task_id) == "COMPLETED"


def test_the_admin_dump_says_when_a_job_outside_its_window_sends_again(
    api: TwinApi, twin_emulator: TwinEmulator
) -> None:
    twin_emulator.admin.update_settings(task_messages_per_second=0)
    now = twin_emulator.state.now()
    opens = (now // 60 + 60) * 60  # a minute boundary an hour ahead (windows are whole minutes)
    clock = [time.strftime("%H:%M:%S", time.gmtime(moment)) for moment in (opens, opens + 3600)]
    waiting, open_now = create(api, allowedTimeRanges=[clock]), create(api)
    for task_id in (waiting, open_now):
        upload(api, task_id, xlsx(2))
    assert {job["nextWindowAt"] for job in twin_emulator.admin.tasks()["items"]} == {None}  # not started

    control(api, "POST", f"startedTasks/{waiting}")
    control(api, "POST", f"startedTasks/{open_now}")
    jobs = {job["id"]: job for job in twin_emulator.admin.tasks()["items"]}

    assert datetime.fromisoformat(jobs[waiting]["nextWindowAt"]).timestamp() == pytest.approx(opens)
    assert jobs[waiting]["status"] == "RUNNING"
    assert jobs[open_now]["nextWindowAt"] is None  # no windows: it sends now


def test_fast_forward_jumps_the_clock_to_a_waiting_jobs_window(
    api: TwinApi, twin_emulator: TwinEmulator
) -> None:
    twin_emulator.admin.update_settings(task_messages_per_second=0, delivery_seconds=0.1)
    opens = (twin_emulator.state.now() // 60 + 5 * 60) * 60  # five hours ahead
    clock = [time.strftime("%H:%M:%S", time.gmtime(moment)) for moment in (opens, opens + 3600)]
    task_id = create(api, allowedTimeRanges=[clock])
    upload(api, task_id, xlsx(3))
    control(api, "POST", f"startedTasks/{task_id}")

    with FastForward(twin_emulator, poll_seconds=0.05) as clock_jumps:
        deadline = time.monotonic() + 10
        while status(api, task_id) != "COMPLETED" and time.monotonic() < deadline:
            time.sleep(0.1)

    assert status(api, task_id) == "COMPLETED"
    assert api.count(taskId=task_id) == 3
    [(waiting, seconds)] = clock_jumps.jumps
    assert waiting == 3  # the rows the job had yet to send
    assert 5 * 3600 - 120 < seconds < 5 * 3600 + 60


def test_csv_files_update_delete_and_the_list_filters(api: TwinApi) -> None:
    task_id = create(api)
    content = b"phone;channel;text\n79990000001;sms;Hi\n79990000002;sms;Hi\n"
    assert upload(api, task_id, content, "m.csv").json()["totalMessageCount"] == 2
    updated = api.http.put(f"{TASKS}/{task_id}", json={"name": "job renamed"}, headers=api.headers())
    assert updated.status_code == 200
    listing = api.http.get(TASKS, params={"status": "CREATED", "name": "RENAMED"}, headers=api.headers())
    assert [i["id"] for i in listing.json()["items"]] == [task_id]
    assert api.http.delete(f"{TASKS}/{task_id}", headers=api.headers()).status_code == 204
    assert api.http.get(f"{TASKS}/{task_id}/statuses", headers=api.headers()).status_code == 404


def test_a_bad_row_is_refused_naming_the_row(api: TwinApi) -> None:
    task_id = create(api)
    content = b"phone,channel,text\n79990000001,sms,Hi\n,sms,Hi\n"
    response = upload(api, task_id, content, "m.csv")
    assert response.status_code == 422
    assert any(key.startswith("messages row 3") for key in response.json()["details"]), response.text
    unknown = upload(api, task_id, b"phone,colour\n79990000001,red\n", "m.csv")
    assert "colour" in unknown.text


@pytest.mark.twin_strict
def test_strict_mode_refuses_what_the_documents_rule_out(api: TwinApi) -> None:
    nameless = api.http.post(TASKS, json={}, headers=api.headers())
    assert nameless.status_code == 422
    assert "name" in nameless.json()["details"]
    task_id = create(api)
    assert control(api, "POST", f"startedTasks/{task_id}").status_code == 422  # no messages yet
    upload(api, task_id, xlsx(3))
    assert control(api, "POST", f"startedTasks/{task_id}").status_code == 200
    assert control(api, "POST", f"startedTasks/{task_id}").status_code == 422  # running (or done)
    assert control(api, "POST", "startedTasks/00000000-0000-4000-8000-000000000000").status_code == 404


def test_lenient_mode_answers_a_repeated_start_with_the_job_unchanged(api: TwinApi) -> None:
    task_id = create(api)
    upload(api, task_id, xlsx(3))
    control(api, "POST", f"startedTasks/{task_id}")
    assert control(api, "POST", f"startedTasks/{task_id}").status_code == 200


def test_a_processing_fault_puts_the_job_into_error(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(task_messages_per_second=1)
    task_id = create(api)
    upload(api, task_id, xlsx(20))
    control(api, "POST", f"startedTasks/{task_id}")
    twin_emulator.admin.add_fault(
        method="PROCESS", path=f"/notify/api/v1/tasks/{task_id}/processing", kind="status", status=500
    )
    twin_emulator.state.advance_clock(2)
    assert status(api, task_id) == "ERROR"
