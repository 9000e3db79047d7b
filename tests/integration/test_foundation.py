"""The hook and client against the emulator over real HTTP, and Airflow seeing the provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from airflow_provider_twin.client import TwinAuthError, TwinValidationError, notify
from airflow_provider_twin.hooks.twin import TwinHook

pytestmark = pytest.mark.integration

MESSAGE = {
    "destinations": [{"phone": "79990000001"}, {"phone": "79990000002"}],
    "channels": {"sms": {"from": "TwinService", "text": "Hello"}},
}


def test_hook_logs_in_and_sends(twin_emulator: Any, twin_connection_env: Any) -> None:
    hook = TwinHook()
    client = hook.get_client()
    items = client.send(notify.create_messages([MESSAGE], bulk_id="bulk-foundation-1"))
    assert [item["bulkId"] for item in items] == ["bulk-foundation-1"] * 2
    assert client.send(notify.count_messages(bulk_ids=["bulk-foundation-1"])) == 2
    counters = twin_emulator.admin.counters()
    assert counters["logins"] == 1
    assert counters["requests"]["POST /notify/api/v1/messages"] == 1
    hook.close()


def test_expired_token_is_renewed_mid_run(twin_emulator: Any, twin_connection_env: Any) -> None:
    hook = TwinHook()
    client = hook.get_client()
    client.send(notify.count_messages())
    twin_emulator.admin.expire_tokens()
    assert client.send(notify.count_messages()) == 0
    counters = twin_emulator.admin.counters()
    assert counters["refreshes"] + counters["logins"] == 2
    statuses = [entry["status"] for entry in twin_emulator.admin.requests()]
    assert 401 in statuses  # TWIN said "Token is expired." once, and the client recovered
    hook.close()


def test_short_lived_tokens_are_renewed_before_expiry(twin_emulator: Any, twin_connection_env: Any) -> None:
    # Tokens live 5-6 s, so the renewal margin (a tenth of the lifetime, 0.5 s) outlasts a request
    # on a loaded machine; 1 s tokens left 0.1 s, which a busy CI machine's request could exceed.
    twin_emulator.admin.update_settings(token_ttl_cap=5)
    hook = TwinHook()
    client = hook.get_client()
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        client.send(notify.count_messages())
        time.sleep(0.25)
    statuses = [entry["status"] for entry in twin_emulator.admin.requests()]
    assert 401 not in statuses  # renewed ahead of exp, never rejected
    assert twin_emulator.admin.counters()["refreshes"] >= 2
    hook.close()


def test_rate_limit_burst_and_server_errors_are_absorbed(
    twin_emulator: Any, twin_connection_env: Any
) -> None:
    path = "/notify/api/v1/messages"
    twin_emulator.admin.add_fault(
        method="GET", path=path, kind="status", status=429, retry_after=0.2, times=3
    )
    twin_emulator.admin.add_fault(method="GET", path=path, kind="status", status=500, times=1)
    hook = TwinHook()
    assert hook.get_client().send(notify.count_messages()) == 0
    statuses = [entry["status"] for entry in twin_emulator.admin.requests() if entry["path"] == path]
    assert statuses == [429, 429, 429, 500, 200]
    hook.close()


def test_validation_error_is_mapped(twin_emulator: Any, twin_connection_env: Any) -> None:
    bad = {**MESSAGE, "channels": {"sms": {"from": "TwinService", "text": "Hi", "validityPeriod": 5000}}}
    hook = TwinHook()
    with pytest.raises(TwinValidationError) as info:
        hook.get_client().send(notify.create_messages([bad]))
    assert info.value.status == 422
    assert "validityPeriod" in str(info.value)
    hook.close()


def test_wrong_password_is_an_auth_error(twin_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = dict(twin_emulator.connection, password="wrong-password")
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(conn))
    with pytest.raises(TwinAuthError, match="log in as demo@twin.local"):
        TwinHook().get_client().send(notify.count_messages())


def test_static_api_token(twin_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    token = twin_emulator.admin.mint_token(ttl=600)
    conn = {"conn_type": "twin", "extra": {**twin_emulator.connection["extra"], "api_token": token}}
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(conn))
    hook = TwinHook()
    assert hook.get_client().send(notify.count_messages()) == 0
    assert twin_emulator.admin.counters()["logins"] == 0
    hook.close()


async def test_async_client_through_the_hook(twin_emulator: Any, twin_connection_env: Any) -> None:
    hook = TwinHook()
    client = await hook.get_async_client()
    items = await client.send(notify.create_messages([MESSAGE], bulk_id="bulk-async-1"))
    assert len(items) == 2
    assert await client.send(notify.count_messages(bulk_ids="bulk-async-1")) == 2
    await hook.aclose()


def test_test_connection(
    twin_emulator: Any, twin_connection_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, message = TwinHook().test_connection()
    assert ok, message
    assert "demo@twin.local" in message
    assert twin_emulator.admin.counters()["requests"].get("POST /notify/api/v1/messages", 0) == 0
    conn = dict(twin_emulator.connection, password="nope-nope")
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(conn))
    ok, message = TwinHook().test_connection()
    assert not ok
    assert "nope-nope" not in message


def test_providers_manager_sees_the_hook() -> None:
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    assert "airflow-provider-twin" in ProvidersManager().providers
    hook_info = ProvidersManagerTaskRuntime().hooks["twin"]
    assert hook_info is not None
    assert hook_info.hook_class_name == "airflow_provider_twin.hooks.twin.TwinHook"
    assert hook_info.connection_type == "twin"


def test_airflow_providers_list_shows_the_provider() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
        timeout=180,
    )
    start = result.stdout.index("[")
    providers = {item["package_name"]: item for item in json.loads(result.stdout[start:])}
    assert providers["airflow-provider-twin"]["version"] == "0.1.0"
