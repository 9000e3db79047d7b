"""The webhook receiver: who may call it, what it accepts, and that a repeat records nothing.

The app's parts that reach Airflow (the secret, the recorder) are replaced by plain ones here;
tests/unit/webhooks/test_receiver_airflow.py runs the same app on Airflow's metadata database.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.testclient import TestClient

from airflow_provider_twin.webhooks import webhook_token
from airflow_provider_twin.webhooks.callback_urls import URL_PREFIX, asset_path
from airflow_provider_twin.webhooks.receiver import (
    MAX_BODY_BYTES,
    RecentEvents,
    _capped_body,
    create_app,
)

SECRET = "s3cret-for-tests"
ASSET = "twin/campaign delivered"
BODY = {
    "id": "m-1",
    "bulkId": "b-1",
    "groupId": "g-1",
    "flowId": "f-1",
    "oldStatus": "PENDING",
    "newStatus": "DELIVERED",
    "oldStatusCode": 2,
    "newStatusCode": 6,
    "price": 0,
    "partCount": 1,
    "callbackData": "order-42",
}


@dataclass
class Recorder:
    """Records asset events in a list; knows the assets in ``assets``; fails ``failures`` times."""

    assets: set[str] = field(default_factory=lambda: {ASSET})
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failures: int = 0

    def __call__(self, asset_name: str, extra: dict[str, Any]) -> bool:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database is locked")
        if asset_name not in self.assets:
            return False
        self.events.append((asset_name, extra))
        return True


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def served(receiver: FastAPI) -> TestClient:
    """The receiver mounted as Airflow's API server mounts a plugin's app."""
    server = FastAPI()
    server.mount(URL_PREFIX, receiver)
    return TestClient(server, raise_server_exceptions=False)


@pytest.fixture
def client(recorder: Recorder) -> TestClient:
    return served(create_app(secret=lambda: SECRET, recorder=recorder))


def post(
    client: TestClient, body: Any = BODY, asset: str = ASSET, token: str | None = None, *, signed: bool = True
) -> Any:
    """POST ``body`` to ``asset``'s URL with ``token`` (default: the asset's own), none if not ``signed``."""
    params = {"token": webhook_token(SECRET, asset) if token is None else token} if signed else {}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    return client.post(asset_path(asset), params=params, content=content, headers=headers)


def test_a_webhook_becomes_one_asset_event_with_the_event_as_payload(
    client: TestClient, recorder: Recorder
) -> None:
    response = post(client)
    assert (response.status_code, response.text) == (200, "ok")
    [(asset, extra)] = recorder.events
    assert asset == ASSET
    assert extra["from_webhook"] is True
    payload = extra["payload"]
    assert payload["event_id"] == "message:m-1:DELIVERED"
    assert payload["type"] == "message.status"
    assert {k: payload[k] for k in ("id", "bulkId", "status", "oldStatus", "callbackData")} == {
        "id": "m-1",
        "bulkId": "b-1",
        "status": "DELIVERED",
        "oldStatus": "PENDING",
        "callbackData": "order-42",
    }


def test_a_repeat_answers_ok_without_a_second_event(client: TestClient, recorder: Recorder) -> None:
    assert post(client).status_code == 200
    assert post(client).text == "ok"
    assert post(client, {**BODY, "newStatus": "READ"}).status_code == 200
    assert [extra["payload"]["status"] for _, extra in recorder.events] == ["DELIVERED", "READ"]


def test_the_same_event_for_another_asset_is_that_assets_event(
    client: TestClient, recorder: Recorder
) -> None:
    recorder.assets.add("other")
    assert post(client).status_code == 200
    assert post(client, asset="other").status_code == 200
    assert [asset for asset, _ in recorder.events] == [ASSET, "other"]


@pytest.mark.parametrize(
    "token", [None, "", "forged", webhook_token(SECRET, "other")], ids=["none", "empty", "forged", "other"]
)
def test_a_missing_or_forged_token_is_refused_before_the_body_is_read(
    client: TestClient, recorder: Recorder, token: str | None
) -> None:
    response = post(client, b"not even json", token=token, signed=token is not None)
    assert (response.status_code, response.json()) == (403, {"detail": "forbidden"})
    assert recorder.events == []


def test_a_token_made_with_another_secret_is_refused(client: TestClient) -> None:
    assert post(client, token=webhook_token("another secret", ASSET)).status_code == 403


def test_without_a_configured_secret_nothing_is_accepted(recorder: Recorder) -> None:
    client = served(create_app(secret=lambda: None, recorder=recorder))
    response = post(client)
    assert response.status_code == 503
    assert "not configured" in response.json()["detail"]
    assert recorder.events == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b"{not json", ["body"]),
        ({"id": "m-1"}, ["newStatus"]),
        ({**BODY, "id": None, "callbackData": 42}, ["id", "callbackData"]),
        ([BODY], ["body"]),
    ],
)
def test_a_bad_body_is_422_naming_each_field(
    client: TestClient, recorder: Recorder, body: Any, fields: list[str]
) -> None:
    response = post(client, body)
    assert response.status_code == 422
    assert [problem.partition(":")[0] for problem in response.json()["detail"]] == fields
    assert recorder.events == []


def test_an_oversized_body_is_refused(client: TestClient) -> None:
    body = {**BODY, "padding": "x" * MAX_BODY_BYTES}
    assert post(client, body).status_code == 413


def streamed_request(chunks: list[bytes], content_length: int | None) -> tuple[Request, list[int]]:
    """A request whose body arrives in ``chunks``; the list returned counts the chunks read."""
    read: list[int] = []

    async def receive() -> dict[str, Any]:
        index = len(read)
        read.append(index)
        more = index + 1 < len(chunks)
        return {"type": "http.request", "body": chunks[index], "more_body": more}

    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""}
    return Request(scope, receive), read


def test_a_declared_oversized_body_is_refused_before_anything_is_read() -> None:
    request, read = streamed_request([b"{}"], MAX_BODY_BYTES + 1)
    with pytest.raises(HTTPException) as refused:
        asyncio.run(_capped_body(request))
    assert refused.value.status_code == 413
    assert read == []


def test_an_undeclared_body_is_read_only_up_to_the_cap() -> None:
    chunk = b"x" * (16 * 1024)
    request, read = streamed_request([chunk] * 100, None)
    with pytest.raises(HTTPException) as refused:
        asyncio.run(_capped_body(request))
    assert refused.value.status_code == 413
    assert len(read) == MAX_BODY_BYTES // len(chunk) + 1


def test_a_body_within_the_cap_is_read_whole_in_chunks() -> None:
    request, _ = streamed_request([b'{"a":', b" 1}"], None)
    assert asyncio.run(_capped_body(request)) == b'{"a": 1}'


def test_a_chunked_oversized_webhook_is_413_and_records_nothing(
    client: TestClient, recorder: Recorder
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 16 * 1024

    params = {"token": webhook_token(SECRET, ASSET)}
    answer = client.post(asset_path(ASSET), params=params, content=chunks())
    assert answer.status_code == 413
    assert recorder.events == []


def test_an_unknown_asset_is_404_and_a_later_retry_is_recorded(
    client: TestClient, recorder: Recorder
) -> None:
    recorder.assets.clear()
    response = post(client)
    assert response.status_code == 404
    assert ASSET in response.json()["detail"]
    recorder.assets.add(ASSET)  # the DAG defining it has been deployed since
    assert post(client).status_code == 200
    assert len(recorder.events) == 1


def test_a_failed_recording_is_an_error_and_the_retry_is_recorded(
    client: TestClient, recorder: Recorder
) -> None:
    recorder.failures = 1
    assert post(client).status_code == 500
    assert post(client).status_code == 200
    assert len(recorder.events) == 1


def test_the_receiver_has_no_api_docs(client: TestClient) -> None:
    assert client.get(f"{URL_PREFIX}/openapi.json").status_code == 404
    assert client.get(f"{URL_PREFIX}/docs").status_code == 404


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_recent_events_forget_after_the_window() -> None:
    clock = Clock()
    recent = RecentEvents(window_seconds=60, clock=clock)
    assert recent.claim("a", "e1")
    clock.now += 59
    assert not recent.claim("a", "e1")
    clock.now += 2
    assert recent.claim("a", "e1")


def test_recent_events_are_bounded_oldest_first() -> None:
    recent = RecentEvents(max_events=3, clock=Clock())
    for n in range(5):
        assert recent.claim("a", f"e{n}")
    assert len(recent) == 3
    assert recent.claim("a", "e0")  # forgotten: the oldest went first
    assert not recent.claim("a", "e4")


def test_a_released_claim_can_be_claimed_again() -> None:
    recent = RecentEvents()
    assert recent.claim("a", "e")
    recent.release("a", "e")
    assert recent.claim("a", "e")


@pytest.mark.parametrize("kwargs", [{"window_seconds": 0}, {"max_events": 0}])
def test_recent_events_need_positive_bounds(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        RecentEvents(**kwargs)  # type: ignore[arg-type]
