"""A daily appointment-reminder campaign: WhatsApp template, SMS fallback, daytime only.

Every morning the clinic's CRM exports who should be reminded today (here the sample file
``data/reminder_recipients.csv``: date, phone, name, IANA time zone, visit time). The DAG

1. ``plan_campaign`` reads today's rows and works out, for each recipient, the first moment
   inside the send window *in the recipient's own time zone* (no reminders at night): now
   if the window is open there, else its next start, which TWIN's ``sendAt`` holds;
2. ``send_reminders`` sends one WhatsApp template message per recipient with TWIN's SMS
   fallback for whoever WhatsApp does not reach (raw message objects, so each recipient has
   its own ``sendAt`` and template data);
3. ``wait_for_delivery`` waits in the triggerer until every reminder has a final status and
   collects the recipients neither channel reached;
4. ``plan_sms_resend`` / ``resend_by_sms`` / ``wait_for_resend`` try those once more by SMS
   with a shorter text, again inside their local window;
5. ``campaign_report`` counts the campaign's messages per channel and status and logs a
   table in its task log (as JSON to ``params.report_file`` too); it returns only counts.

The plan travels in XCom (a few hundred bytes per recipient); for very large campaigns keep
it in object storage and pass its path instead.

Params: ``campaign_date`` (``YYYY-MM-DD``; empty = the run's date), ``send_window`` (local
``HH:MM`` pair), ``recipients_file`` (empty = the sample file), ``report_file`` (a JSON copy of
the report). **The sample file has reminders for 2026-03-02** (and 2026-03-03) only: triggered
with the defaults the run skips; set ``campaign_date`` to 2026-03-02 to see a campaign.
``make demo`` runs this DAG against the local TWIN emulator.
"""

# Airflow's TaskFlow typing does not model an XComArg standing in for a value (arg-type,
# index) nor context arguments filled in at run time (call-arg).
# mypy: disable-error-code="arg-type, call-arg, index"

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from pendulum import DateTime

from airflow_provider_twin.client import notify
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator
from airflow_provider_twin.sensors.messages import TwinMessageStatusSensor

SAMPLE_RECIPIENTS = Path(__file__).parent / "data" / "reminder_recipients.csv"
SENDER = "Northwind"
WHATSAPP_TEMPLATE = "visit_reminder"  # an approved WhatsApp template: {{1}} name, {{2}} visit time
# Seconds between delivery checks (three count requests each); the demo and the tests shorten it.
POKE_SECONDS = float(os.environ.get("TWIN_EXAMPLE_POKE_SECONDS", "60"))
# Statuses shown in the report, in this order; anything else is counted as OTHER.
REPORT_STATUSES = ("DELIVERED", "UNDELIVERED", "ERROR", "EXPIRED", "CANCELLED", "PENDING", "DELAYED")
# The task logger: its lines show in place in the task's log (print() output comes last).
log = logging.getLogger("airflow.task")
OPTIONAL_TEXT = ["null", "string"]  # an optional text param: the UI form requires any type without null


def _clock(value: str) -> tuple[int, int]:
    """``"09:00"`` (or ``"09:00:00"``) as (hour, minute); ``"24:00"`` is the end of the day."""
    parts = str(value).strip().split(":")
    if len(parts) not in (2, 3) or not all(part.isdigit() for part in parts):
        raise ValueError(f"{value!r} is not a HH:MM time")
    hour, minute = int(parts[0]), int(parts[1])
    if (hour > 23 or minute > 59) and (hour, minute) != (24, 0):
        raise ValueError(f"{value!r} is not a HH:MM time")
    return hour, minute


# [START howto_quiet_hours]
def first_send_time(now: DateTime, zone: str, window: tuple[str, str]) -> DateTime | None:
    """The first moment from ``now`` inside the local send window of ``zone``; None = now.

    ``window`` is a wall-clock range in the recipient's own zone, e.g. ("09:00", "20:00"):
    Ivan in Vladivostok and Jana in Berlin both get the reminder after 9 in *their* morning.
    pendulum does the calendar arithmetic, so "tomorrow 09:00" stays 09:00 local across a
    daylight-saving change, and half-hour zones (Asia/Kolkata) need nothing special.
    """
    local = now.in_timezone(zone)
    (open_h, open_m), (close_h, close_m) = _clock(window[0]), _clock(window[1])
    opens = local.set(hour=open_h, minute=open_m, second=0, microsecond=0)
    if close_h == 24:  # "24:00": until the end of the local day
        closes = local.set(hour=0, minute=0, second=0, microsecond=0).add(days=1)
    else:
        closes = local.set(hour=close_h, minute=close_m, second=0, microsecond=0)
    if opens <= local < closes:
        return None  # the window is open there: send now, without sendAt
    if local < opens:
        return opens  # later today, local time
    return opens.add(days=1)  # today's window is over: tomorrow morning, local time


# [END howto_quiet_hours]


def send_window(params: dict[str, Any]) -> tuple[str, str]:
    """``params.send_window``, checked: two local times, the first before the second."""
    window = params["send_window"]
    try:
        opens, closes = str(window[0]), str(window[1])
        if len(window) != 2 or _clock(opens) >= _clock(closes):
            raise ValueError("it must end after it starts, on the same day")
    except (ValueError, TypeError, IndexError) as exc:
        raise AirflowFailException(f"send_window {window!r}: give [from, to] as HH:MM; {exc}") from None
    return opens, closes


def read_recipients(path: Path, day: str) -> list[dict[str, Any]]:
    """The rows of ``path`` due on ``day``, checked; every problem is listed at once."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if row.get("remind_on", "").strip() != day:
                continue
            try:
                zone = pendulum.timezone(row["timezone"].strip())
                visit = pendulum.from_format(row["visit_at"].strip(), "YYYY-MM-DD HH:mm", tz=zone)
            except Exception as exc:  # noqa: BLE001 - reported with the line number below
                problems.append(f"{path.name} line {line}: {exc}")
                continue
            rows.append(
                {
                    "phone": row["phone"].strip(),
                    "name": row["name"].strip(),
                    "timezone": zone.name,
                    "visit": f"{visit:%a} {visit.day} {visit:%b}, {visit:%H:%M}",
                }
            )
    if problems:
        raise AirflowFailException("bad recipient rows:\n" + "\n".join(problems))
    return rows


def with_send_time(message: dict[str, Any], send_at: DateTime | None) -> dict[str, Any]:
    """The message with ``sendAt`` when it must wait; an aware time keeps its offset."""
    if send_at is not None:
        message["sendAt"] = send_at.isoformat()
    return message


def campaign_day(params: dict[str, Any], dag_run: Any) -> str:
    """``params.campaign_date``, else (empty or None) the run's date (UTC, like the schedule)."""
    if params.get("campaign_date"):
        try:
            return date.fromisoformat(str(params["campaign_date"]).strip()).isoformat()
        except ValueError:
            raise AirflowFailException(
                f"campaign_date {params['campaign_date']!r} is not YYYY-MM-DD"
            ) from None
    moment = getattr(dag_run, "logical_date", None) or dag_run.run_after
    return str(pendulum.instance(moment).in_timezone("UTC").date())


def count_by_channel(client: Any, bulk_ids: list[str], channels: Iterable[str]) -> dict[str, dict[str, int]]:
    """Message records per channel and status: one count request each, whatever the size."""
    table: dict[str, dict[str, int]] = {}
    for channel in channels:
        total = client.send(notify.count_messages(bulk_ids=bulk_ids, channel=channel))
        counts = {
            status: client.send(notify.count_messages(bulk_ids=bulk_ids, channel=channel, status=status))
            for status in REPORT_STATUSES
        }
        counts["OTHER"] = total - sum(counts.values())
        table[channel] = {status: n for status, n in counts.items() if n}
    return table


def local_time(moment: str) -> str:
    """An ISO-8601 time with offset as ``Mon 2 Mar 09:00 (UTC+03:00)``, in its own offset."""
    parsed = datetime.fromisoformat(moment)
    offset = parsed.strftime("%z")
    return f"{parsed:%a %d %b %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def report_table(report: dict[str, Any]) -> list[str]:
    """The report as text lines: one row per campaign step and channel."""
    statuses = [
        status
        for status in (*REPORT_STATUSES, "OTHER")
        if any(status in row for step in report["steps"] for row in step["by_channel"].values())
    ]
    header = (
        f"{'step':<11}{'channel':<10}" + "".join(f"{status:>13}" for status in statuses) + f"{'total':>8}"
    )
    lines = [header, "-" * len(header)]
    for step in report["steps"]:
        for channel, counts in step["by_channel"].items():
            cells = "".join(f"{counts.get(status, 0):>13}" for status in statuses)
            lines.append(f"{step['step']:<11}{channel:<10}{cells}{sum(counts.values()):>8}")
    return lines


with DAG(
    dag_id="example_twin_reminder_campaign",
    description="Daily visit reminders: WhatsApp template, SMS fallback, in each recipient's daytime",
    # 05:00 UTC: morning in Europe and Asia, night in the Americas (their reminders wait).
    schedule="0 5 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["example", "twin"],
    params={
        "campaign_date": Param(
            None,
            type=OPTIONAL_TEXT,
            format="date",
            description="The campaign's day (YYYY-MM-DD); empty = the run's date (UTC). The sample "
            "file has reminders for 2026-03-02 (and 2026-03-03): pick 2026-03-02 to see a campaign",
        ),
        "send_window": Param(
            ["09:00", "20:00"],
            type="array",
            items={"type": "string"},
            description="Local HH:MM from-to in each recipient's own time zone; nothing is sent outside it",
        ),
        "recipients_file": Param(None, type=OPTIONAL_TEXT, description="CSV path; empty = the sample file"),
        "report_file": Param(None, type=OPTIONAL_TEXT, description="Also write the report as JSON there"),
    },
    doc_md=__doc__,
) as dag:

    @task(multiple_outputs=True, show_return_value_in_logs=False)  # a long plan: see it in XCom
    def plan_campaign(params: dict[str, Any], dag_run: Any = None) -> dict[str, Any]:
        """Today's recipients, each with a WhatsApp template message and an SMS fallback."""
        day = campaign_day(params, dag_run)
        window = send_window(params)
        path = Path(params["recipients_file"] or SAMPLE_RECIPIENTS)
        recipients = read_recipients(path, day)
        if not recipients:
            with path.open(newline="", encoding="utf-8") as handle:  # say which dates have reminders
                found = {(row.get("remind_on") or "").strip() for row in csv.DictReader(handle)} - {""}
            why = (
                f"nobody to remind on {day} in {path.name}, which has reminders for "
                f"{', '.join(sorted(found)) or 'no date'}: set campaign_date to one of them to see a campaign"
            )
            log.warning("%s", why)  # the task log shows only "Skipping task." for the exception
            raise AirflowSkipException(why)
        now = pendulum.now("UTC")
        messages = []
        for person in recipients:
            send_at = first_send_time(now, person["timezone"], window)
            person["send_at"] = send_at.isoformat() if send_at else None
            text = (  # the SMS fallback says what the WhatsApp template says (2 SMS parts)
                f"{person['name']}, this is a reminder from {SENDER} Clinic: your visit is on "
                f"{person['visit']}. Please bring your insurance card and arrive 10 minutes early. "
                "To reschedule, call +7 800 000-00-00."
            )
            channels = {  # the order is TWIN's fallback order
                "whatsapp": {
                    "from": SENDER,
                    "templateName": WHATSAPP_TEMPLATE,
                    "language": "en",
                    "templateData": [person["name"], person["visit"]],
                    # TWIN's guide asks for a text whenever no stored template (templateId) is used.
                    "text": text,
                },
                "sms": {"from": SENDER, "text": text, "validityPeriod": 180},
            }
            messages.append(
                with_send_time({"destinations": [{"phone": person["phone"]}], "channels": channels}, send_at)
            )
        held = sum(1 for person in recipients if person["send_at"])
        hours = "-".join(window)  # local time, in each recipient's own zone
        log.info("%s: %d recipient(s), %d held for their send window %s", day, len(recipients), held, hours)
        return {"day": day, "window": list(window), "recipients": recipients, "messages": messages}

    plan = plan_campaign()

    # [START howto_twin_reminder_campaign]
    send = TwinSendMessagesOperator(
        task_id="send_reminders",
        messages=plan["messages"],  # one per recipient: own sendAt, own template data
    )

    delivery = TwinMessageStatusSensor(
        task_id="wait_for_delivery",
        targets=send.output,  # bulk ids, and "accepted" as the number of destinations
        return_failed_destinations=True,  # neither WhatsApp nor the SMS fallback got through
        deferrable=True,  # wait in the triggerer, not in a worker slot
        poke_interval=POKE_SECONDS,
        timeout=30 * 60 * 60,  # a held reminder goes out within a day
    )

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def plan_sms_resend(
        outcome: dict[str, Any], recipients: list[dict[str, Any]], params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """A short SMS for each recipient not reached, inside their window; nothing → skip the resend."""
        by_phone = {person["phone"]: person for person in recipients}
        window = send_window(params)
        now = pendulum.now("UTC")
        messages = []
        for failed in outcome.get("failed_destinations") or []:
            person = by_phone.get(failed["destination"].get("phone"))
            if person is None:
                continue
            # Shorter than the fallback: one SMS part, cheaper and kinder to old phones.
            text = f"{SENDER} Clinic: visit {person['visit']}. To reschedule: +7 800 000-00-00"
            message = {
                "destinations": [{"phone": person["phone"]}],
                "channels": {"sms": {"from": SENDER, "text": text}},
            }
            messages.append(with_send_time(message, first_send_time(now, person["timezone"], window)))
        return messages

    resend = TwinSendMessagesOperator(
        task_id="resend_by_sms",
        messages=plan_sms_resend(delivery.output, plan["recipients"]),
    )

    resend_delivery = TwinMessageStatusSensor(
        task_id="wait_for_resend",
        targets=resend.output,
        deferrable=True,
        poke_interval=POKE_SECONDS,
        timeout=30 * 60 * 60,
    )
    # [END howto_twin_reminder_campaign]

    @task(trigger_rule="none_failed")
    def campaign_report(params: dict[str, Any], ti: Any = None) -> dict[str, Any]:
        """Destinations reached and message records per channel and status, logged as a table.

        Logged line by line (in place in the task log), written whole to ``params.report_file``;
        the return value (logged by Airflow, kept in XCom) holds counts only."""
        planned = ti.xcom_pull(task_ids="plan_campaign")
        if not planned:
            raise AirflowSkipException("no campaign today: nothing to report")
        steps = [
            ("reminder", "send_reminders", "wait_for_delivery", ("WHATSAPP", "SMS")),
            ("sms resend", "resend_by_sms", "wait_for_resend", ("SMS",)),
        ]
        report: dict[str, Any] = {
            "campaign_date": planned["day"],
            "send_window": planned["window"],
            "recipients": len(planned["recipients"]),
            "held_for_window": [
                {key: person[key] for key in ("name", "timezone", "send_at")}
                for person in planned["recipients"]
                if person["send_at"]
            ],
            "steps": [],
        }
        hook = TwinHook()
        try:
            client = hook.get_client()
            for name, send_task, wait_task, channels in steps:
                summary = ti.xcom_pull(task_ids=send_task)
                outcome = ti.xcom_pull(task_ids=wait_task)
                if not summary or not outcome:
                    continue  # skipped: nobody to resend to
                report["steps"].append(
                    {
                        "step": name,
                        "bulk_ids": summary["bulk_ids"],
                        "destinations": {
                            key: outcome[key] for key in ("total", "succeeded", "failed", "pending")
                        },
                        "by_channel": count_by_channel(client, summary["bulk_ids"], channels),
                    }
                )
        finally:
            hook.close()
        reached = sum(step["destinations"]["succeeded"] for step in report["steps"])
        report.update(reached=reached, not_reached=report["recipients"] - reached)
        held = report["held_for_window"]
        lines = [
            f"Reminder campaign {report['campaign_date']}: {report['recipients']} recipient(s), "
            f"send window {'-'.join(report['send_window'])} local time",
            *(["", f"Held until their local window opens ({len(held)}), sendAt:"] if held else []),
            *(
                f"  {person['name']:<10} {person['timezone']:<20} {local_time(person['send_at'])}"
                for person in held
            ),
            "",
            "Messages per channel and status (an SMS fallback is a message of its own):",
            *report_table(report),
            "",
            f"Recipients reached: {reached} of {report['recipients']}; not reached: {report['not_reached']}",
        ]
        for line in lines:
            log.info("%s", line)
        target = Path(params["report_file"]) if params.get("report_file") else None
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            document = {**report, "table": "\n".join(lines)}
            target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        # Compact: the held recipients and bulk ids grow with the campaign; they are in the file.
        counts = {key: report[key] for key in ("campaign_date", "recipients", "reached", "not_reached")}
        return {**counts, "held_for_window": len(held), "report_file": str(target) if target else None}

    resend_delivery >> campaign_report()
