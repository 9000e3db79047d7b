"""The send operator's outlet extra (ids and counts, bounded) and its webhook_asset argument."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import Asset

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.operators.campaign_send import MAX_BULK_IDS_IN_EXTRA, outlet_extra
from tests.unit.messages.send.operator_runs import operator


def summary(chunks: int) -> dict[str, object]:
    return {
        "bulk_ids": [f"bulk-{i}" for i in range(chunks)],
        "group_id": "g-1",
        "own_group": True,
        "total": 10 * chunks,
        "accepted": 10 * chunks - 1,
        "rejected": 1,
        "skipped": 0,
        "skipped_chunks": 0,
        "chunks": chunks,
        "per_channel": {"SMS": 10 * chunks - 1},
        "rejected_items": [{"index": 3, "destination": {"phone": "7999*****01"}, "error": "bad"}],
        "rejected_items_truncated": False,
        "message_ids": ["m-1", "m-2"],
        "message_ids_truncated": False,
        "timing": {"validation_seconds": 0.1, "send_seconds": 1.0, "recipients_per_second": 100.0},
        "duplicates_merged": 2,
    }


def test_the_extra_holds_ids_and_counts_only_as_json() -> None:
    extra = outlet_extra(summary(3))
    assert extra == {
        "group_id": "g-1",
        "bulk_ids": ["bulk-0", "bulk-1", "bulk-2"],
        "bulk_ids_truncated": False,
        "chunks": 3,
        "total": 30,
        "accepted": 29,
        "rejected": 1,
        "skipped": 0,
        "duplicates_merged": 2,
        "per_channel": {"SMS": 29},
    }
    assert json.loads(json.dumps(extra)) == extra


def test_a_huge_send_lists_a_bounded_number_of_bulk_ids() -> None:
    extra = outlet_extra(summary(1000))
    assert len(extra["bulk_ids"]) == MAX_BULK_IDS_IN_EXTRA
    assert extra["bulk_ids_truncated"] is True
    assert extra["chunks"] == 1000


def test_webhook_asset_takes_an_asset_or_its_name() -> None:
    assert (
        operator(recipients=["+79990000001"], webhook_asset=Asset("delivered")).webhook_asset == "delivered"
    )
    assert operator(recipients=["+79990000001"], webhook_asset="delivered").webhook_asset == "delivered"
    assert operator(recipients=["+79990000001"]).webhook_asset is None
    for bad in ("", 5):
        with pytest.raises(TwinInputError, match="^webhook_asset"):
            operator(recipients=["+79990000001"], webhook_asset=bad)


def test_the_webhook_token_is_masked_once_the_url_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """The callbackUrl's token lets anyone post asset events: no log may show it."""
    from airflow_provider_twin.operators.campaign_send import _settings
    from airflow_provider_twin.webhooks.callback_urls import webhook_token

    masked: list[str] = []
    monkeypatch.setattr("airflow_provider_twin.operators.campaign_send.mask_secret", masked.append)
    monkeypatch.setenv("AIRFLOW__TWIN__WEBHOOK_SECRET", "a-master-secret-for-tests")
    monkeypatch.setenv("AIRFLOW__TWIN__WEBHOOK_BASE_URL", "https://airflow.example.com")
    settings = _settings(operator(recipients=["+79990000001"], webhook_asset="delivered"))
    token = webhook_token("a-master-secret-for-tests", "delivered")
    assert settings["callback_url"].endswith(f"token={token}")
    assert masked == [token]
    assert "a-master-secret-for-tests" not in settings["callback_url"]
