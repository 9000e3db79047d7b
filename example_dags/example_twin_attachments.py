"""Files in messages: order terms as a WhatsApp document, the shop's logo as a Viber image.

``upload_terms`` puts the terms PDF into TWIN's file storage from Airflow object storage (a
local ``file://`` path here; ``s3://`` or ``gs://`` with a connection work the same) and returns
the file's summary. ``send_terms`` links that file from WhatsApp (``mediaUrl`` and
``documentFilename`` are filled from the summary), and ``send_logo`` names a local image in
``attachments``: it is uploaded first, once, and linked from Viber's ``imageUrl``. Both sends
check before their first request that every channel can carry the file; an SMS fallback here
would be refused, naming the channel. ``TWIN_EXAMPLE_FILES`` points at another folder of files.
"""

# Airflow's TaskFlow typing does not model an XComArg standing in for a value.
# mypy: disable-error-code="arg-type"

import os
from pathlib import Path

import pendulum
from airflow.sdk import DAG, ObjectStoragePath

# [START howto_twin_attachments]
from airflow_provider_twin.operators.files import TwinUploadFileOperator
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator

FILES = Path(os.environ.get("TWIN_EXAMPLE_FILES", Path(__file__).parent / "data"))

with DAG(
    "example_twin_attachments",
    description="A PDF by WhatsApp and an image by Viber, uploaded to TWIN first",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    tags=["example", "twin"],
    doc_md=__doc__,
) as dag:
    upload_terms = TwinUploadFileOperator(
        task_id="upload_terms",
        source=ObjectStoragePath(f"file://{FILES / 'order_terms.pdf'}"),
        path="examples/terms",
        ttl=7 * 24 * 3600,  # a week: long enough for every recipient to open it
    )
    send_terms = TwinSendMessagesOperator(
        task_id="send_terms",
        recipients=["+7 999 000-00-01", "+7 999 000-00-02"],
        channels={"whatsapp": {"from": "MyShop"}},
        text="Your order terms are attached.",
        attachments=[upload_terms.output],  # already uploaded: only linked
    )
    send_logo = TwinSendMessagesOperator(
        task_id="send_logo",
        recipients=["+7 999 000-00-01", "+7 999 000-00-02"],
        channels={"viber": {"from": "MyShop"}},
        text="MyShop has a new look.",
        attachments=[str(FILES / "shop_logo.png")],  # uploaded once, before the send
    )
# [END howto_twin_attachments]
