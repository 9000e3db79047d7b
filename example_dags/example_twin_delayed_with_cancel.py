"""An appointment reminder scheduled for later, cancelled when the appointment is.

A clinic books an appointment two days ahead and schedules an SMS reminder for 24 hours
before it: TWIN holds the message (status ``DELAYED``) until its ``sendAt``. Before then the
booking system says whether the patient cancelled; if so the DAG cancels the reminder and
reads its status back from TWIN to make sure it is ``CANCELLED`` and will never be sent.

The booking system is simulated by params: ``cancelled_appointments`` lists the cancelled
appointment ids (the example appointment is in it by default; trigger with it empty to keep the
reminder). A real deployment would check the booking system closer to the reminder time, for
example in a second, scheduled DAG that cancels by the bulk ids this one stored.
"""

# Airflow's TaskFlow typing does not model an XComArg standing in for a value (arg-type,
# index) nor context arguments filled in at run time (call-arg).
# mypy: disable-error-code="arg-type, call-arg, index"

from __future__ import annotations

from collections import Counter
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_twin.client import notify
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.messages import (
    CANCELLED_STATUSES,
    TwinCancelMessagesOperator,
    TwinSendMessagesOperator,
)

with DAG(
    dag_id="example_twin_delayed_with_cancel",
    description="Schedule an appointment reminder; cancel it if the appointment is cancelled",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "twin"],
    params={
        "appointment_id": Param("APT-1042", type="string"),
        "phone": Param("79990000301", type="string"),
        "name": Param("Anna", type="string"),
        "clinic_timezone": Param("Europe/Moscow", type="string", description="IANA time zone"),
        "cancelled_appointments": Param(
            ["APT-1042"],
            type=["array", "null"],  # null: the trigger form lets it be emptied
            items={"type": "string"},
            description="Simulated booking system: the appointments cancelled meanwhile, one per line; "
            "empty = none: the reminder stays scheduled",
        ),
    },
    doc_md=__doc__,
) as dag:

    @task(multiple_outputs=True)
    def upcoming_appointment(params: dict[str, Any]) -> dict[str, Any]:
        """In a real DAG: the booking system's new appointment. Here: in two days at 10:30."""
        starts = (
            pendulum.now(params["clinic_timezone"])
            .add(days=2)
            .set(hour=10, minute=30, second=0, microsecond=0)
        )
        return {
            "id": params["appointment_id"],
            "starts_at": starts.isoformat(),
            # An aware time: TWIN gets the clinic's offset, never a naive local time.
            "remind_at": starts.subtract(hours=24).isoformat(),
            "recipients": [
                {
                    "phone": params["phone"],
                    "var_name": params["name"],
                    "var_when": f"{starts:%a} {starts.day} {starts:%b} at {starts:%H:%M}",
                }
            ],
        }

    appointment = upcoming_appointment()

    # [START howto_twin_delayed_with_cancel]
    reminder = TwinSendMessagesOperator(
        task_id="schedule_reminder",
        recipients=appointment["recipients"],
        channels={"sms": {"from": "Northwind"}},
        # {{name}} and {{when}} are TWIN variables: keep Jinja away from them with raw.
        text="{% raw %}{{name}}, see you {{when}} at Northwind Clinic.{% endraw %}",
        send_at=appointment["remind_at"],  # TWIN holds it (DELAYED) until then
    )

    @task.branch
    def check_booking(appointment_id: str, params: dict[str, Any]) -> str:
        """Simulated booking system: was the appointment cancelled meanwhile?"""
        if appointment_id in (params["cancelled_appointments"] or []):
            return "cancel_reminder"
        return "keep_reminder"

    cancel = TwinCancelMessagesOperator(
        task_id="cancel_reminder",
        bulk_ids=reminder.output["bulk_ids"],
        fail_if_nothing_cancelled=True,  # too late (already sent) is an error here
    )

    @task
    def verify_cancelled(bulk_ids: list[str]) -> dict[str, int]:
        """Read the reminder back from TWIN: it must be CANCELLED, never to be sent."""
        hook = TwinHook()
        try:
            items = hook.get_client().paginate(notify.list_messages(bulk_ids=bulk_ids, limit=1000))
            statuses = Counter(str(item["status"]).upper() for item in items)
        finally:
            hook.close()
        if not statuses or not set(statuses) <= CANCELLED_STATUSES:
            found = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "no message"
            raise AirflowFailException(f"the reminder is not cancelled: TWIN lists {found}")
        return dict(statuses)

    @task
    def keep_reminder(remind_at: str) -> str:
        """The appointment stands: TWIN sends the reminder at its time."""
        return f"reminder stays scheduled for {remind_at}"

    branch = check_booking(appointment["id"])
    reminder >> branch >> [cancel, keep_reminder(appointment["remind_at"])]
    cancel >> verify_cancelled(reminder.output["bulk_ids"])
    # [END howto_twin_delayed_with_cancel]
