"""The send operator's asset outlet and webhook asset in a real DAG run (``dag.test()``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from airflow_provider_twin.webhooks.callback_urls import callback_url, webhook_token

pytestmark = pytest.mark.integration

SECRET = "a-long-random-test-secret"
BASE_URL = "http://127.0.0.1:9"  # the discard port: the emulator's webhook calls go nowhere


def test_the_outlet_carries_the_summary_ids_and_counts_and_twin_gets_the_asset_webhook_url(
    airflow_twin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from tests.integration.dags.send_outlets import CAMPAIGN_DELIVERED, CAMPAIGN_SENT, send_outlets_dag

    monkeypatch.setenv("AIRFLOW__TWIN__WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("AIRFLOW__TWIN__WEBHOOK_BASE_URL", BASE_URL)
    dag_run = send_outlets_dag.test()
    assert dag_run.state == "success"

    with create_session() as session:
        events = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == CAMPAIGN_SENT.name)
        ).all()
        extras = [dict(event.extra) for event in events if event.source_run_id == dag_run.run_id]
    assert len(extras) == 1
    extra = extras[0]
    assert (extra["total"], extra["accepted"], extra["rejected"], extra["skipped"]) == (5, 5, 0, 0)
    assert extra["chunks"] == len(extra["bulk_ids"]) == 3
    assert extra["bulk_ids_truncated"] is False
    assert extra["per_channel"] == {"SMS": 5}
    assert extra["webhook_asset"] == CAMPAIGN_DELIVERED.name
    assert extra["group_id"]
    assert not {"message_ids", "rejected_items"} & set(extra)  # ids and counts, not every message

    messages = airflow_twin.admin.messages(groupId=extra["group_id"], limit=100)["items"]
    assert len(messages) == 5
    expected = callback_url(CAMPAIGN_DELIVERED.name, base_url=BASE_URL, secret=SECRET)
    assert {message["callbackUrl"] for message in messages} == {expected}
    query = parse_qs(urlsplit(expected).query)
    assert query["token"] == [webhook_token(SECRET, CAMPAIGN_DELIVERED.name)]
    assert SECRET not in expected
