"""TWIN's status webhooks into a real Airflow: the emulator POSTs them to ``airflow api-server``.

One Airflow (api-server, scheduler, dag-processor, triggerer as child processes, the UI tests'
:class:`~tests.ui.airflow_stack.AirflowStack`) runs a DAG scheduled on an asset, with the
receiver's secret configured. A message sent with :func:`callback_url` of that asset makes the
emulator POST its status change; the asset event, listed by Airflow's REST API, carries the
event as payload, and the DAG runs on it (its task reads the payload: the XCom it returns).
A forged token is refused and records nothing, a
repeat records no second event, and neither the secret nor (on Airflow >= 3.3, whose access
log redacts it) the token reaches the API server's log.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pytest
from airflow import __version__ as airflow_version

from airflow_provider_twin.client import TwinClient, TwinClientConfig, TwinCredentials, TwinEndpoints, notify
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.webhooks import callback_url
from tests.ui.airflow_stack import AirflowStack

pytestmark = pytest.mark.integration

#: The DAG defining the asset (so the receiver knows it) and running on each of its events.
DAG_FILE = Path(__file__).resolve().parent / "dags" / "webhook_consumer.py"
DAG_ID = "test_twin_webhook_consumer"
ASSET = "twin.campaign_delivery"
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)
    return found


@pytest.fixture(scope="module")
def secret() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, twin_emulator_server: TwinEmulator, secret: str
) -> Iterator[AirflowStack]:
    workdir = tmp_path_factory.mktemp("webhook-receiver")
    dags = workdir / "dags"
    dags.mkdir()
    (dags / DAG_FILE.name).symlink_to(DAG_FILE)
    settings = {
        "AIRFLOW__TWIN__WEBHOOK_SECRET": secret,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
    }
    with AirflowStack(
        workdir, twin_emulator_server, dags_folder=dags, dag_ids=[DAG_ID], extra_env=settings
    ) as airflow:
        airflow.wait_for("the asset to be registered", lambda: asset_id(airflow), time.monotonic() + 120)
        yield airflow


@pytest.fixture
def twin(twin_emulator: TwinEmulator) -> Iterator[TwinClient]:
    """A client of the emulator, whose messages reach their final status in a fifth of a second."""
    twin_emulator.admin.update_settings(delivery_seconds=0.2, webhook_backoff_seconds=0.1)
    extra = twin_emulator.connection["extra"]
    endpoints = TwinEndpoints(
        iam_url=extra["iam_url"], notify_url=extra["notify_url"], chat_url=extra["chat_url"]
    )
    token = twin_emulator.admin.mint_token()
    with TwinClient(TwinClientConfig(TwinCredentials(api_token=token), endpoints)) as client:
        yield client


def asset_id(stack: AirflowStack) -> int | None:
    assets = stack.api("GET", "/api/v2/assets", params={"name_pattern": ASSET})["assets"]
    return next((int(a["id"]) for a in assets if a["name"] == ASSET), None)


def webhook_events(stack: AirflowStack, message_id: str) -> list[dict[str, Any]]:
    """The asset events Airflow lists for the asset that came from a webhook about ``message_id``.

    Airflow cannot list an asset event while a DAG run it created is queued (3.2.0 answers 500,
    3.3.2 too for a run's upstream events: a queued run has no start date): asked again then.
    """
    params = {"asset_id": asset_id(stack), "limit": 100, "order_by": "-timestamp"}

    def listing() -> list[dict[str, Any]] | None:
        try:
            events: list[dict[str, Any]] = stack.api("GET", "/api/v2/assets/events", params=params)[
                "asset_events"
            ]
        except httpx.HTTPStatusError as error:
            if error.response.status_code != 500:
                raise
            return None
        return events

    events = wait_for("Airflow to list the asset's events", listing)
    mine = [e for e in events if e["extra"].get("from_webhook") and e["extra"]["payload"]["id"] == message_id]
    return mine


def runs_on(stack: AirflowStack, event_id: str) -> list[dict[str, Any]]:
    """The consumer DAG's finished runs whose triggering asset events include ``event_id``.

    Only finished runs are asked: Airflow 3.3.2 answers 500 for the asset events of a queued run.
    """
    runs = stack.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 100})["dag_runs"]
    found = []
    for run in runs:
        if run["state"] not in ("success", "failed"):
            continue
        path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run['dag_run_id'], safe='')}/upstreamAssetEvents"
        consumed = stack.api("GET", path)["asset_events"]
        if any(e["extra"].get("payload", {}).get("event_id") == event_id for e in consumed):
            found.append(run)
    return found


def send(twin: TwinClient, url: str, data: str) -> str:
    """Send one SMS whose status changes TWIN reports to ``url``; its message id."""
    message = {
        "destinations": [{"phone": "79990000001"}],
        "channels": {"sms": {"text": "Your order has shipped"}},
        "callbackUrl": url,
        "callbackData": data,
    }
    [item] = twin.send(notify.create_messages([message]))
    return str(item["id"])


def delivery(emulator: TwinEmulator, message_id: str) -> dict[str, Any]:
    """The emulator's finished delivery of ``message_id``'s webhook."""

    def finished() -> dict[str, Any] | None:
        for item in emulator.admin.webhooks(messageId=message_id)["items"]:
            if item["result"] in ("delivered", "failed", "refused"):
                return dict(item)
        return None

    return wait_for(f"the webhook of {message_id}", finished, timeout=30)


def test_a_twin_webhook_is_an_asset_event_with_its_payload_and_runs_the_dag(
    stack: AirflowStack, twin_emulator: TwinEmulator, twin: TwinClient, secret: str
) -> None:
    url = callback_url(ASSET, base_url=stack.base_url, secret=secret)
    message_id = send(twin, url, "order-42")
    sent = delivery(twin_emulator, message_id)
    assert (sent["result"], sent["last_status"], sent["attempts"]) == ("delivered", 200, 1)

    [event] = webhook_events(stack, message_id)
    payload = event["extra"]["payload"]
    assert payload["event_id"] == f"message:{message_id}:DELIVERED"
    assert (payload["type"], payload["status"], payload["oldStatus"]) == (
        "message.status",
        "DELIVERED",
        "PENDING",
    )
    assert payload["callbackData"] == "order-42"

    [run] = wait_for("a DAG run on the webhook's event", lambda: runs_on(stack, payload["event_id"]) or None)
    assert (run["run_type"], run["state"]) == ("asset_triggered", "success")
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run['dag_run_id'], safe='')}/taskInstances/status_changes"
    xcom = stack.api("GET", f"{path}/xcomEntries/return_value", params={"deserialize": True})["value"]
    [change] = [change for change in xcom if change["message"] == message_id]
    assert change == {
        "event_id": payload["event_id"],
        "message": message_id,
        "status": "DELIVERED",
        "callbackData": "order-42",
    }


def test_a_forged_token_is_refused_and_records_nothing(
    stack: AirflowStack, twin_emulator: TwinEmulator, twin: TwinClient
) -> None:
    forged = callback_url(ASSET, base_url=stack.base_url, secret="a guessed secret")
    message_id = send(twin, forged, "order-43")
    refused = delivery(twin_emulator, message_id)
    assert (refused["result"], refused["last_status"], refused["attempts"]) == ("failed", 403, 1)

    body = {"id": message_id, "newStatus": "DELIVERED"}
    path = f"{stack.base_url}/twin-webhooks/assets/{ASSET}"
    assert httpx.post(path, json=body, trust_env=False).status_code == 403
    assert webhook_events(stack, message_id) == []


def test_a_repeated_webhook_records_one_event(stack: AirflowStack, secret: str) -> None:
    """TWIN may say a change twice (a retry whose first answer was lost): one asset event."""
    body = {
        "id": f"repeat-{secrets.token_hex(4)}",
        "bulkId": "b-1",
        "groupId": "g-1",
        "flowId": "f-1",
        "oldStatus": "PENDING",
        "newStatus": "UNDELIVERED",
        "oldStatusCode": 2,
        "newStatusCode": 7,
        "price": 0,
        "partCount": 1,
        "callbackData": None,
    }
    url = callback_url(ASSET, base_url=stack.base_url, secret=secret)
    answers = [httpx.post(url, json=body, trust_env=False) for _ in range(2)]
    assert [(a.status_code, a.text) for a in answers] == [(200, "ok"), (200, "ok")]
    [event] = webhook_events(stack, body["id"])
    assert event["extra"]["payload"]["status"] == "UNDELIVERED"


def test_the_api_server_log_holds_no_secret(stack: AirflowStack, secret: str) -> None:
    """The master secret never; the token neither where Airflow's access log redacts ``token``."""
    log = (stack.logs / "api-server.log").read_text(errors="replace")
    assert "/twin-webhooks/assets/" in log  # the calls are logged, so the check means something
    assert secret not in log
    token = callback_url(ASSET, base_url=stack.base_url, secret=secret).rpartition("token=")[2]
    if tuple(int(part) for part in airflow_version.split(".")[:2]) >= (3, 3):
        assert token not in log


def test_the_plugin_is_listed_by_airflow(stack: AirflowStack) -> None:
    plugins = stack.api("GET", "/api/v2/plugins")["plugins"]
    [ours] = [plugin for plugin in plugins if plugin["name"] == "twin_webhooks"]
    assert [app["url_prefix"] for app in ours["fastapi_apps"]] == ["/twin-webhooks"]
