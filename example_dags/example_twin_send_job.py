"""A campaign TWIN runs itself: a send job created, filled and started once, then waited for.

``send_job`` validates the recipients (as the send operator does: a bad one fails the task,
naming it and the field, before anything reaches TWIN), then creates a TWIN send job whose
name carries a suffix of this task instance, uploads its messages as an Excel file and starts
it, all exactly once however often the task is retried. TWIN then sends at its own pace, inside
the job's send windows (09:00-21:00 here, every day). ``wait`` waits in the triggerer until the
job is ``COMPLETED`` (it fails if the job ends in ``ERROR``), and ``report`` logs its counts.
"""

# Airflow's TaskFlow typing does not model an XComArg standing in for a value.
# mypy: disable-error-code="arg-type"

# [START howto_twin_send_job]
import os
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_twin.operators.send_jobs import TwinSendJobOperator
from airflow_provider_twin.sensors.send_jobs import TwinSendJobSensor

POKE_SECONDS = float(os.environ.get("TWIN_EXAMPLE_POKE_SECONDS", "60"))

with DAG(
    "example_twin_send_job",
    description="Let TWIN run a campaign as a send job: create, upload and start once, then wait",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    tags=["example", "twin"],
    doc_md=__doc__,
) as dag:
    send_job = TwinSendJobOperator(
        task_id="send_job",
        name="Spring sale",
        recipients=[
            {"phone": f"+7 999 100-00-{number:02d}", "var_name": name}
            for number, name in enumerate(["Anna", "Boris", "Clara", "Denis", "Elena", "Fyodor"], start=1)
        ],
        channels={"sms": {"from": "MyShop"}},
        # {{name}} is a TWIN variable: keep Jinja away from it with raw.
        text="{% raw %}{{name}}, spring sale: -20% on everything until Sunday.{% endraw %}",
        allowed_time_ranges=[["09:00:00", "21:00:00"]],
    )
    wait = TwinSendJobSensor(
        task_id="wait", job_id=send_job.output, poke_interval=POKE_SECONDS, timeout=3600, deferrable=True
    )

    @task
    def report(outcome: dict[str, Any]) -> str:
        line = (
            f"TWIN send job {outcome['name']}: {outcome['status']}, {outcome['processed']} of "
            f"{outcome['total']} message(s) sent, {outcome['completed']} with a final status"
        )
        print(line)
        return line

    report(wait.output)
# [END howto_twin_send_job]
