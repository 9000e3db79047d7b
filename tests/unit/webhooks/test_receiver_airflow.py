"""The receiver inside Airflow: the plugin is mounted by Airflow's own API app, and a webhook is
an asset event in the metadata database that the REST API lists, with the event as payload.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from airflow_provider_twin.webhooks import callback_url

SECRET = "secret of the webhook tests"


def make_asset(name: str, *, active: bool = True) -> None:
    """An asset as a DAG defining it leaves it: a row, and (while some DAG defines it) active."""
    from airflow.models.asset import AssetActive, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        asset = AssetModel(name=name, uri=f"twin://{name}")
        session.add(asset)
        if active:
            session.add(AssetActive.for_asset(asset))


def events_of(name: str) -> list[dict[str, Any]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
        return [event.extra for event in session.scalars(query.where(AssetModel.name == name))]


@pytest.fixture
def api(airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """Airflow's API app in process (plugins included), every request an admin's."""
    from airflow.api_fastapi.app import create_app

    monkeypatch.setenv("AIRFLOW__TWIN__WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    with TestClient(create_app("core")) as client:
        yield client


@pytest.fixture
def asset_name() -> str:
    return f"twin.webhooks/{uuid.uuid4().hex[:8]}"


def post(api: TestClient, name: str, body: dict[str, Any], secret: str = SECRET) -> Any:
    url = callback_url(name, base_url="http://testserver", secret=secret)
    return api.post(url.removeprefix("http://testserver"), json=body)


def test_the_plugin_is_mounted_and_records_the_asset_event(api: TestClient, asset_name: str) -> None:
    make_asset(asset_name)
    body = {"id": "m-7", "bulkId": "b-7", "newStatus": "UNDELIVERED", "callbackData": "order-7"}
    response = post(api, asset_name, body)
    assert (response.status_code, response.text) == (200, "ok")
    [extra] = events_of(asset_name)
    assert extra["from_webhook"] is True
    assert extra["payload"]["event_id"] == "message:m-7:UNDELIVERED"
    assert extra["payload"]["callbackData"] == "order-7"

    listed = api.get("/api/v2/assets/events", params={"limit": 100, "order_by": "-timestamp"})
    assert listed.status_code == 200
    mine = [e for e in listed.json()["asset_events"] if e["extra"].get("payload", {}).get("id") == "m-7"]
    assert [e["extra"]["payload"]["status"] for e in mine] == ["UNDELIVERED"]


def test_a_repeat_records_no_second_event(api: TestClient, asset_name: str) -> None:
    make_asset(asset_name)
    body = {"id": "m-8", "newStatus": "DELIVERED"}
    assert post(api, asset_name, body).status_code == 200
    assert post(api, asset_name, body).status_code == 200
    assert len(events_of(asset_name)) == 1


def test_a_forged_token_records_nothing(api: TestClient, asset_name: str) -> None:
    make_asset(asset_name)
    response = post(api, asset_name, {"id": "m-9", "newStatus": "DELIVERED"}, secret="guessed")
    assert response.status_code == 403
    assert events_of(asset_name) == []


@pytest.mark.parametrize("exists", [False, True])
def test_an_asset_no_dag_defines_is_404(api: TestClient, asset_name: str, exists: bool) -> None:
    if exists:
        make_asset(asset_name, active=False)  # its DAG was removed since
    response = post(api, asset_name, {"id": "m-10", "newStatus": "DELIVERED"})
    assert response.status_code == 404
    assert events_of(asset_name) == []
