"""The example DAGs run green against the TWIN emulator (``dag.test()``), and so does ``make demo``.

Each example is loaded from ``example_dags/`` as Airflow would load it. The campaign's delivery
checks are shortened through ``TWIN_EXAMPLE_POKE_SECONDS``; reminders held until a recipient's
local send window are fast-forwarded with the demo's own helper (it advances the emulator's
clock), so no test waits for a real morning.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pendulum
import pytest

from tests.file_modules import load_demo_script, load_file

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "example_dags"
SAMPLE_DATE = "2026-03-02"
# Numbers ending in 13 have no WhatsApp (the demo's TWIN also fails 99, every channel).
NO_WHATSAPP_FOR_13 = [{"channel": "whatsapp", "phone_suffix": "13", "status": "UNDELIVERED"}]


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ModuleType]:
    """Load an example DAG module with one-second delivery checks."""
    monkeypatch.setenv("TWIN_EXAMPLE_POKE_SECONDS", "1")
    return lambda name: load_file(EXAMPLES / f"{name}.py")


@pytest.fixture
def demo_script() -> ModuleType:
    return load_demo_script()


@pytest.fixture
def demo_twin(airflow_twin: Any, demo_script: ModuleType) -> Any:
    """The emulator with the outcome rules of ``make demo`` and ``make airflow``, delivering fast."""
    rules = [rule.to_dict() for rule in demo_script.emulator_settings().outcome_rules]
    airflow_twin.admin.update_settings(delivery_seconds=0.2, outcome_rules=rules)
    return airflow_twin


class Run:
    """A finished ``dag.test()`` run: its state, task states and return values."""

    def __init__(self, dag: Any, **conf: Any) -> None:
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        self.dag_run = dag.test(run_conf=conf or None)
        self.state = self.dag_run.state
        with create_session() as session:
            self.states = {
                (ti.task_id, ti.map_index): ti.state
                for ti in self.dag_run.get_task_instances(session=session)
            }
            rows = session.scalars(
                XComModel.get_many(run_id=self.dag_run.run_id, dag_ids=dag.dag_id, key="return_value")
            ).all()
            self.values = {(row.task_id, row.map_index): XComModel.deserialize_value(row) for row in rows}

    def value(self, task_id: str, map_index: int = -1) -> Any:
        return self.values.get((task_id, map_index))

    def task_state(self, task_id: str, map_index: int = -1) -> Any:
        return self.states.get((task_id, map_index))


def records(emulator: Any, **filters: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = emulator.admin.messages(limit=100_000, **filters)["items"]
    return items


# -- the DAGs folder --------------------------------------------------------------------------------------
@pytest.mark.integration
def test_the_dags_folder_parses_without_errors_or_duplicate_ids(airflow_db: Path) -> None:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # older Airflow 3 releases
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    bag = DagBag(dag_folder=str(airflow_db / "dags"))
    assert bag.import_errors == {}
    examples = {path.stem for path in EXAMPLES.glob("example_*.py")}
    assert examples <= set(bag.dag_ids)
    assert len(examples) == 11
    # Not run with dag.test() below: example_twin_chat_approval (and its _branch DAG in the same
    # file) waits for a person's answer in a TWIN chat, and its trigger records that answer through
    # the triggerer's link to Airflow, which dag.test() does not give (the task fails at once). The
    # chat approval operators run in a real Airflow in tests/integration/approvals/ (approved,
    # rejected, answered in Airflow, timed out, a stranger ignored, a branch chosen); the example
    # itself runs in the UI tests (tests/ui), where its approver answers "yes" in the chat.


# -- the reminder campaign ------------------------------------------------------------------------------
@pytest.fixture
def campaign_twin(demo_twin: Any) -> Any:
    return demo_twin


def assert_campaign_outcome(report: dict[str, Any]) -> None:
    """12 recipients: 9 by WhatsApp, 2 by the SMS fallback, 1 unreachable even by the resend."""
    reminder, resend = report["steps"]
    assert reminder["step"] == "reminder"
    assert reminder["destinations"] == {"total": 12, "succeeded": 11, "failed": 1, "pending": 0}
    assert reminder["by_channel"] == {
        "WHATSAPP": {"DELIVERED": 9, "UNDELIVERED": 3},
        "SMS": {"DELIVERED": 2, "UNDELIVERED": 1},
    }
    assert resend["step"] == "sms resend"
    assert resend["destinations"] == {"total": 1, "succeeded": 0, "failed": 1, "pending": 0}
    assert resend["by_channel"] == {"SMS": {"UNDELIVERED": 1}}
    assert (report["recipients"], report["reached"], report["not_reached"]) == (12, 11, 1)


@pytest.mark.integration
def test_campaign_with_the_window_open_everywhere(
    campaign_twin: Any, example: Callable[[str], ModuleType], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    module = example("example_twin_reminder_campaign")
    report_file = tmp_path / "report.json"
    with caplog.at_level(logging.INFO, logger="airflow.task"):
        run = Run(
            module.dag,
            campaign_date=SAMPLE_DATE,
            send_window=["00:00", "24:00"],
            report_file=str(report_file),
        )
    assert run.state == "success", run.states
    # The return value (Airflow logs it) is a compact summary; the whole report is in the file.
    assert run.value("campaign_report") == {
        "campaign_date": SAMPLE_DATE,
        "recipients": 12,
        "reached": 11,
        "not_reached": 1,
        "held_for_window": 0,
        "report_file": str(report_file),
    }
    report = json.loads(report_file.read_text())
    assert_campaign_outcome(report)
    assert report["held_for_window"] == []
    table = report["table"].splitlines()
    assert table[-1] == "Recipients reached: 11 of 12; not reached: 1"
    # The report goes through the task logger, line by line, while the task runs: in place in
    # the task log, before the task's "Done. Returned value was" (print() output came after it).
    messages = [record.getMessage() for record in caplog.records]
    assert "2026-03-02: 12 recipient(s), 0 held for their send window 00:00-24:00" in messages
    start = messages.index(table[0])
    assert messages[start : start + len(table)] == table
    assert all(record.name == "airflow.task" for record in caplog.records[start : start + len(table)])
    running = messages.index(
        next(line for line in messages if "running task" in line and "campaign_report" in line)
    )
    ended = messages.index("[DAG TEST] end task task_id=campaign_report map_index=-1")
    assert running < start < start + len(table) <= ended
    assert "reminder   WHATSAPP" in "\n".join(table)
    # One WhatsApp template message per recipient, with the SMS fallback; nothing delayed.
    first = records(campaign_twin, bulkId=",".join(report["steps"][0]["bulk_ids"]), channel="WHATSAPP")
    assert len(first) == 12
    assert all(item["sendAt"] is None for item in first)
    anna = next(item for item in first if item["destination"] == {"phone": "79990000101"})
    assert anna["message"]["templateName"] == "visit_reminder"
    assert anna["message"]["templateData"] == ["Anna", "Tue 3 Mar, 10:30"]
    # The resend: Lena only, one short SMS.
    [resent] = records(campaign_twin, bulkId=",".join(report["steps"][1]["bulk_ids"]))
    assert resent["destination"] == {"phone": "79990000199"}
    assert resent["channel"] == "SMS"
    fallback = records(campaign_twin, bulkId=",".join(report["steps"][0]["bulk_ids"]), channel="SMS")
    assert {item["partCount"] for item in fallback} == {2}
    assert resent["partCount"] == 1
    assert campaign_twin.admin.counters()["destinations_created"] == 13


@pytest.mark.integration
def test_campaign_without_failures_skips_the_resend(
    airflow_twin: Any, example: Callable[[str], ModuleType], tmp_path: Path
) -> None:
    airflow_twin.admin.update_settings(delivery_seconds=0.2, outcome_rules=NO_WHATSAPP_FOR_13)
    report_file = tmp_path / "report.json"
    run = Run(
        example("example_twin_reminder_campaign").dag,
        campaign_date=SAMPLE_DATE,
        send_window=["00:00", "24:00"],
        report_file=str(report_file),
    )
    assert run.state == "success", run.states
    assert run.task_state("plan_sms_resend") == "success"  # nobody to resend to
    assert run.task_state("resend_by_sms") == "skipped"
    assert run.task_state("wait_for_resend") == "skipped"
    report = json.loads(report_file.read_text())
    [reminder] = report["steps"]
    assert reminder["destinations"]["succeeded"] == 12
    assert reminder["by_channel"] == {
        "WHATSAPP": {"DELIVERED": 10, "UNDELIVERED": 2},
        "SMS": {"DELIVERED": 2},
    }
    assert (report["reached"], report["not_reached"]) == (12, 0)


@pytest.mark.integration
def test_campaign_holds_reminders_until_the_local_window(
    campaign_twin: Any, example: Callable[[str], ModuleType], demo_script: ModuleType, tmp_path: Path
) -> None:
    module = example("example_twin_reminder_campaign")
    report_file = tmp_path / "report.json"
    with demo_script.FastForward(campaign_twin) as clock:
        # the default window, 09:00-20:00 local
        run = Run(module.dag, campaign_date=SAMPLE_DATE, report_file=str(report_file))
    assert run.state == "success", run.states
    report = json.loads(report_file.read_text())
    assert_campaign_outcome(report)
    held = {person["name"]: person for person in report["held_for_window"]}
    # The zones span 15 hours, the window 11: someone is always outside it.
    assert held
    assert run.value("campaign_report")["held_for_window"] == len(held)  # a count in the XCom
    assert clock.jumps
    plan = run.value("plan_campaign")
    for person in plan["recipients"]:
        if person["send_at"] is None:
            continue
        send_at = datetime.fromisoformat(person["send_at"])
        local = pendulum.instance(send_at).in_timezone(person["timezone"])
        assert (local.hour, local.minute) == (9, 0), person
        assert send_at.utcoffset() == local.utcoffset(), "sendAt carries the recipient's own offset"
        assert person["name"] in held
    whatsapp = records(campaign_twin, bulkId=",".join(report["steps"][0]["bulk_ids"]), channel="WHATSAPP")
    assert sum(1 for item in whatsapp if item["sendAt"]) == len(held)


@pytest.mark.integration
def test_campaign_without_recipients_today_is_skipped(
    campaign_twin: Any, example: Callable[[str], ModuleType]
) -> None:
    run = Run(example("example_twin_reminder_campaign").dag, campaign_date="2026-01-01")
    assert run.state == "success", run.states
    assert run.task_state("plan_campaign") == "skipped"
    assert run.task_state("send_reminders") == "skipped"
    assert run.task_state("campaign_report") == "skipped"
    assert campaign_twin.admin.counters()["requests"] == {}


def test_a_date_without_reminders_says_which_dates_have_some(caplog: pytest.LogCaptureFixture) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    module = load_file(EXAMPLES / "example_twin_reminder_campaign.py")
    plan = module.dag.get_task("plan_campaign").python_callable
    params = {"campaign_date": "2026-01-01", "send_window": ["09:00", "20:00"], "recipients_file": None}
    with caplog.at_level(logging.INFO, logger="airflow.task"), pytest.raises(AirflowSkipException) as skipped:
        plan(params)
    why = (
        "nobody to remind on 2026-01-01 in reminder_recipients.csv, which has reminders for "
        "2026-03-02, 2026-03-03: set campaign_date to one of them to see a campaign"
    )
    assert str(skipped.value) == why
    # Airflow's task log says only "Skipping task." for the exception: the task logs why.
    assert [(record.name, record.getMessage()) for record in caplog.records] == [("airflow.task", why)]


@pytest.mark.integration
def test_campaign_refuses_a_bad_send_window(campaign_twin: Any, example: Callable[[str], ModuleType]) -> None:
    run = Run(
        example("example_twin_reminder_campaign").dag,
        campaign_date=SAMPLE_DATE,
        send_window=["20:00", "09:00"],
    )
    assert run.state == "failed"
    assert run.task_state("plan_campaign") == "failed"
    assert campaign_twin.admin.counters()["requests"] == {}


@pytest.mark.parametrize(
    ("now", "zone", "window", "expected"),
    [
        # Inside the window: now.
        ("2026-03-02T07:00:00+00:00", "Europe/Moscow", ("09:00", "20:00"), None),
        # Before it: today's opening, local time (06:00 UTC is 01:00 in New York).
        ("2026-03-02T06:00:00+00:00", "America/New_York", ("09:00", "20:00"), "2026-03-02T09:00:00-05:00"),
        # After it: tomorrow's opening (21:00 UTC is 06:00 next day in Tokyo, before 09:00).
        ("2026-03-02T21:00:00+00:00", "Asia/Tokyo", ("09:00", "20:00"), "2026-03-03T09:00:00+09:00"),
        ("2026-03-02T12:00:00+00:00", "Asia/Tokyo", ("09:00", "20:00"), "2026-03-03T09:00:00+09:00"),
        # Half-hour zone.
        ("2026-03-02T02:00:00+00:00", "Asia/Kolkata", ("09:00", "20:00"), "2026-03-02T09:00:00+05:30"),
        # Across the spring-forward night (Berlin, 29 March 2026): still 09:00 local, now at +02:00.
        ("2026-03-28T20:30:00+00:00", "Europe/Berlin", ("09:00", "21:00"), "2026-03-29T09:00:00+02:00"),
        # The end is exclusive; "24:00" means the end of the day.
        ("2026-03-02T17:00:00+00:00", "Europe/Moscow", ("09:00", "20:00"), "2026-03-03T09:00:00+03:00"),
        ("2026-03-02T20:59:59+00:00", "Europe/Moscow", ("00:00", "24:00"), None),
    ],
)
def test_first_send_time(now: str, zone: str, window: tuple[str, str], expected: str | None) -> None:
    module = load_file(EXAMPLES / "example_twin_reminder_campaign.py")
    result = module.first_send_time(pendulum.parse(now), zone, window)
    assert (result.isoformat() if result else None) == expected


def test_campaign_day_is_the_param_or_the_run_date() -> None:
    module = load_file(EXAMPLES / "example_twin_reminder_campaign.py")
    late_evening = pendulum.datetime(2026, 3, 1, 23, 30, tz="UTC")
    manual = type("Run", (), {"logical_date": None, "run_after": late_evening})()
    scheduled = type("Run", (), {"logical_date": pendulum.datetime(2026, 3, 2, 5, tz="UTC")})()
    assert module.campaign_day({"campaign_date": " 2026-03-02 "}, manual) == "2026-03-02"
    assert module.campaign_day({"campaign_date": ""}, manual) == "2026-03-01"
    assert module.campaign_day({"campaign_date": None}, manual) == "2026-03-01"  # the form's empty field
    assert module.campaign_day({"campaign_date": ""}, scheduled) == "2026-03-02"


# -- the delayed reminder and its cancellation ----------------------------------------------------------
@pytest.mark.integration
def test_cancelled_appointment_cancels_the_reminder(
    airflow_twin: Any, example: Callable[[str], ModuleType]
) -> None:
    run = Run(example("example_twin_delayed_with_cancel").dag)
    assert run.state == "success", run.states
    assert run.task_state("cancel_reminder") == "success"
    assert run.task_state("keep_reminder") == "skipped"
    assert run.value("verify_cancelled") == {"CANCELLED": 1}
    [record] = records(airflow_twin)
    assert record["status"] == "CANCELLED"
    assert record["sendAt"] > record["createdAt"]
    assert record["destination"] == {
        "phone": "79990000301",
        "variables": {"name": "Anna", "when": record["destination"]["variables"]["when"]},
    }


@pytest.mark.integration
def test_standing_appointment_keeps_the_reminder(
    airflow_twin: Any, example: Callable[[str], ModuleType]
) -> None:
    run = Run(example("example_twin_delayed_with_cancel").dag, cancelled_appointments=[])
    assert run.state == "success", run.states
    assert run.task_state("keep_reminder") == "success"
    assert run.task_state("cancel_reminder") == "skipped"
    assert run.task_state("verify_cancelled") == "skipped"
    [record] = records(airflow_twin)
    assert record["status"] == "DELAYED"


# -- the CRM chat flow -----------------------------------------------------------------------------------
def close_sessions_as_the_bot(emulator: Any, rating_for: set[str], stop: threading.Event) -> None:
    """Close every session once it is open; ask for a rating for the leads in ``rating_for``."""
    closed: set[str] = set()
    while not stop.wait(0.1):
        for session in emulator.admin.sessions(status="OPEN")["items"]:
            if session["id"] not in closed:
                lead = str(session["name"]).rsplit(" ", 1)[-1]
                emulator.admin.close_session(
                    session["id"], after_seconds=0.3, rating_required=lead in rating_for
                )
                closed.add(session["id"])


@pytest.fixture
def bot(airflow_twin: Any) -> Iterator[Callable[[set[str]], None]]:
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(rating_for: set[str]) -> None:
        thread = threading.Thread(
            target=close_sessions_as_the_bot, args=(airflow_twin, rating_for, stop), daemon=True
        )
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=5)


@pytest.mark.integration
def test_crm_chat_flow_asks_for_a_rating_where_twin_says_so(
    airflow_twin: Any, example: Callable[[str], ModuleType], bot: Callable[[set[str]], None]
) -> None:
    bot({"L-1001", "L-1003"})
    run = Run(example("example_twin_crm_chat_flow").dag)
    assert run.state == "success", run.states
    assert [run.task_state("start_chat", index) for index in range(3)] == ["success"] * 3
    closes = [run.value("wait_for_close", index) for index in range(3)]
    assert [close["sessionRatingRequired"] for close in closes] == [True, False, True]
    assert run.value("rating_or_done") == ["send_rating_requests", "mark_leads_done"]
    assert run.task_state("send_rating_requests") == "success"
    assert run.value("mark_leads_done") == ["L-1002"]
    assert airflow_twin.admin.counters()["sessions_started"] == 3
    sessions = airflow_twin.admin.sessions()["items"]
    assert sorted(session["clientPhone"] for session in sessions) == [
        "79990000401",
        "79990000402",
        "79990000403",
    ]
    sms = records(airflow_twin)
    assert sorted(item["destination"]["phone"] for item in sms) == ["79990000401", "79990000403"]
    assert all(item["channel"] == "SMS" and "{{lead}}" in item["message"]["text"] for item in sms)


@pytest.mark.integration
def test_crm_chat_flow_skips_the_rating_path_when_nobody_needs_it(
    airflow_twin: Any, example: Callable[[str], ModuleType], bot: Callable[[set[str]], None]
) -> None:
    bot(set())
    run = Run(example("example_twin_crm_chat_flow").dag)
    assert run.state == "success", run.states
    assert run.task_state("send_rating_requests") == "skipped"
    assert run.value("mark_leads_done") == ["L-1001", "L-1002", "L-1003"]
    assert records(airflow_twin) == []


# -- the README's DAG ------------------------------------------------------------------------------------
@pytest.mark.integration
def test_quickstart_resends_by_sms_whom_viber_missed(
    demo_twin: Any, example: Callable[[str], ModuleType]
) -> None:
    """With the emulator of ``make airflow`` as it is: the third phone has no Viber."""
    dag = example("example_twin_quickstart").dag
    dag.get_task("wait").poke_interval = 1
    run = Run(dag)
    assert run.state == "success", run.states
    assert run.value("missed_by_viber") == [{"phone": "79990000013"}]
    assert run.value("resend_by_sms")["accepted"] == 1
    [sms] = records(demo_twin, channel="SMS")
    assert sms["destination"] == {"phone": "79990000013"}


@pytest.mark.integration
def test_quickstart_skips_the_resend_when_viber_reached_everyone(
    airflow_twin: Any, example: Callable[[str], ModuleType]
) -> None:
    airflow_twin.admin.update_settings(delivery_seconds=0.2)
    dag = example("example_twin_quickstart").dag
    dag.get_task("wait").poke_interval = 1
    run = Run(dag)
    assert run.state == "success", run.states
    assert run.task_state("resend_by_sms") == "skipped"
    assert airflow_twin.admin.counters()["destinations_created"] == 3


# -- make demo --------------------------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.timeout(420)
def test_demo_runs_the_campaign_and_prints_the_report(airflow_db: Path, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "TWIN_"))}
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py"), "--workdir", str(tmp_path), "--timeout", "300"],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert "airflow dags test example_twin_reminder_campaign ... ok" in out
    assert "reminder   WHATSAPP" in out
    assert "Recipients reached: 11 of 12; not reached: 1" in out
    assert f"Full Airflow log: {tmp_path / 'dags-test.log'}" in out
    report = json.loads((tmp_path / "campaign-report.json").read_text())
    assert_campaign_outcome(report)
    assert (tmp_path / "demo-home" / "airflow.db").exists()
