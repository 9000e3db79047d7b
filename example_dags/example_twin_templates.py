"""A stored TWIN template, kept by the DAG, and a campaign sent with it.

``upsert_template`` makes the template ``order-ready`` hold this text (created on the first run,
updated on the next ones, never twice); ``send`` sends it to every recipient with their own
variables. Before the first message goes out the send operator reads the template once and
checks that every recipient has a value for each of its variables (``name``, ``order``;
``shop`` is shared): a recipient without one fails the task, naming the recipient and the
variable, and nothing is sent.
"""

# Airflow's typing does not model an XComArg standing in for a value.
# mypy: disable-error-code="arg-type"

# [START howto_twin_templates]
import pendulum
from airflow.sdk import DAG

from airflow_provider_twin.operators.messages import TwinSendMessagesOperator
from airflow_provider_twin.operators.templates import TwinTemplateOperator

with DAG(
    "example_twin_templates",
    description="Keep a TWIN template in step, then send a campaign with it",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    tags=["example", "twin"],
    doc_md=__doc__,
) as dag:
    template = TwinTemplateOperator(
        task_id="upsert_template",
        name="order-ready",
        channels={"sms": {"from": "MyShop"}},
        # {{name}}, {{order}} and {{shop}} are TWIN variables: keep Jinja away from them with raw.
        text="{% raw %}Hi {{name}}, order {{order}} is ready for pickup at {{shop}}.{% endraw %}",
    )
    TwinSendMessagesOperator(
        task_id="send",
        recipients=[
            {"phone": "+7 999 000-00-01", "var_name": "Anna", "var_order": "A-1001"},
            {"phone": "+7 999 000-00-02", "var_name": "Boris", "var_order": "A-1002"},
        ],
        channels={"sms": {"from": "MyShop"}},
        template_id=template.output["template_id"],
        variables={"shop": "MyShop, 1 Main St"},
    )
# [END howto_twin_templates]
