"""Fault injection: status answers, latency, dropped connections, probability and scope."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from emulator_testkit import CHAT_ID, TwinApi, sms

from airflow_provider_twin.emulator import TwinEmulator

MESSAGES = "/notify/api/v1/messages"


def test_status_fault_with_retry_after_and_times(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    token = api.token
    fault_id = twin_emulator.admin.add_fault(method="POST", path=MESSAGES, kind="status", status=429, times=2)
    for _ in range(2):
        response = api.send(sms("79990000001"), token=token)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "1"
        assert response.json() == {"error": "Too Many Requests"}
    assert api.send(sms("79990000001"), token=token).status_code == 201
    counters = twin_emulator.admin.counters()
    assert counters["destinations_created"] == 1  # status faults do not process the request
    assert counters["responses_by_status"]["429"] == 2
    [rule] = twin_emulator.admin.faults()
    assert rule["id"] == fault_id
    assert rule["hits"] == 2
    assert rule["remaining"] == 0


def test_status_fault_custom_body_and_glob(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.add_fault(path="/notify/*", kind="status", status=503, body={"error": "maintenance"})
    response = api.messages()
    assert response.status_code == 503
    assert response.json() == {"error": "maintenance"}
    assert "retry-after" not in response.headers
    assert api.login().status_code == 200  # other services are untouched


def test_latency_fault(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    token = api.token
    twin_emulator.admin.add_fault(method="GET", path=MESSAGES, kind="latency", latency_ms=300, times=1)
    started = time.monotonic()
    assert api.messages(token=token).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert api.messages(token=token).status_code == 200
    assert time.monotonic() - started < 0.3


def test_drop_fault_processes_then_breaks_the_connection(
    api: TwinApi, twin_emulator: TwinEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    token = api.token
    twin_emulator.admin.add_fault(method="POST", path=MESSAGES, kind="drop", times=1)
    with caplog.at_level(logging.ERROR), pytest.raises(httpx.TransportError) as caught:
        api.send(sms("79990000001", "79990000002", bulk_id="dropped"), token=token)
    assert isinstance(caught.value, httpx.RemoteProtocolError)
    counters = twin_emulator.admin.counters()
    assert counters["destinations_created"] == 2  # the request WAS processed
    assert counters["dropped_responses"] == 1
    assert api.count(bulkId="dropped") == 2
    # A retry with the same bulkId creates duplicates, which the counters expose.
    assert api.send(sms("79990000001", "79990000002", bulk_id="dropped"), token=token).status_code == 201
    assert twin_emulator.admin.counters()["duplicate_pairs"] == 2
    assert not [r for r in caplog.records if "Exception in ASGI application" in r.getMessage()]


def test_probability_zero_never_fires_and_faults_can_be_removed(
    api: TwinApi, twin_emulator: TwinEmulator
) -> None:
    twin_emulator.admin.add_fault(path="*", kind="status", status=500, probability=0.0)
    assert api.login().status_code == 200
    fault_id = twin_emulator.admin.add_fault(path="/iam/*", kind="status", status=500)
    assert api.login().status_code == 500
    twin_emulator.admin.remove_fault(fault_id)
    assert api.login().status_code == 200
    twin_emulator.admin.clear_faults()
    assert twin_emulator.admin.faults() == []


def test_seeded_probability_is_reproducible(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    def run() -> list[int]:
        twin_emulator.admin.reset()
        twin_emulator.admin.update_settings(seed=99)
        twin_emulator.admin.add_fault(path="/iam/*", kind="status", status=502, probability=0.5)
        return [api.login().status_code for _ in range(12)]

    first = run()
    assert set(first) == {200, 502}
    assert run() == first


def test_faults_apply_to_chat_and_not_to_admin(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.add_fault(path="*", kind="status", status=500)
    assert api.http.post(f"/chat/api/v1/chats/{CHAT_ID}/sessions", json={}).status_code == 500
    assert twin_emulator.admin.counters()["responses_by_status"] == {"500": 1}


def test_invalid_fault_rules(twin_emulator: TwinEmulator) -> None:
    admin = httpx.Client(base_url=f"{twin_emulator.base_url}/_emulator")
    for rule in ({"kind": "explode"}, {"status": 99}, {"times": 0}, {"probability": 2}, {"kind": "latency"}):
        response = admin.post("/faults", json=rule)
        assert response.status_code == 422, rule
    assert admin.delete("/faults/12345").status_code == 404
    admin.close()
