"""Behaviour of the TWIN client's auth, retry and error path, for the sync and async clients alike."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from airflow_provider_twin.client import (
    AsyncTwinClient,
    RetryPolicy,
    TwinAuthError,
    TwinClient,
    TwinRateLimited,
    TwinServerError,
    TwinTokenRejected,
    TwinTransportError,
    TwinValidationError,
    notify,
)
from airflow_provider_twin.client.core import async_client as async_module
from airflow_provider_twin.client.core import sync_client as sync_module
from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.core.engine import RENEWALS_PER_CALL
from tests.unit.core.scripted_twin import FakeTwin, config, make_jwt

MESSAGES = "GET /notify/api/v1/messages"
CREATE = "POST /notify/api/v1/messages"
LOGIN = "POST /iam/api/v1/auth/login"
REFRESH = "POST /iam/api/v1/auth/refresh"


class Runner:
    """Drives one sync or async client so a test body can be written once for both."""

    def __init__(self, mode: str, fake: FakeTwin, cfg: Any) -> None:
        self.mode = mode
        transport = httpx.MockTransport(fake)
        if mode == "sync":
            self.client: Any = TwinClient(cfg, transport=transport)
        else:
            self.loop = asyncio.new_event_loop()
            self.client = AsyncTwinClient(cfg, transport=transport)

    def send(self, call: ApiCall[Any]) -> Any:
        if self.mode == "sync":
            return self.client.send(call)
        return self.loop.run_until_complete(self.client.send(call))

    def close(self) -> None:
        if self.mode == "sync":
            self.client.close()
        else:
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()


@pytest.fixture
def fake() -> FakeTwin:
    return FakeTwin()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the client's backoff sleeps instead of sleeping."""
    recorded: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(sync_module, "_sleep", recorded.append)
    monkeypatch.setattr(async_module, "_sleep", fake_async_sleep)
    return recorded


@pytest.fixture(params=["sync", "async"])
def make_runner(request: pytest.FixtureRequest, fake: FakeTwin) -> Iterator[Any]:
    runners: list[Runner] = []

    def make(cfg: Any = None) -> Runner:
        runner = Runner(request.param, fake, cfg or config())
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.close()


def test_logs_in_once_and_sends_bearer_token(make_runner: Any, fake: FakeTwin) -> None:
    twin = make_runner()
    for _ in range(3):
        assert twin.send(notify.count_messages(bulk_ids=["b1"])) == 0
    assert len(fake.calls(LOGIN)) == 1
    login = fake.calls(LOGIN)[0]
    assert "Authorization" not in login.headers
    body = httpx.Response(200, content=login.content).json()
    assert body == {"email": "ops@example.com", "password": "s3cret-pass", "ttl": 3600, "companyId": 7}
    for request in fake.calls(MESSAGES):
        assert request.headers["Authorization"] == f"Bearer {fake.issued[0]}"
        assert request.headers["User-Agent"].startswith("airflow-provider-twin/")
        assert request.url.params["withoutItems"] == "1"
        assert request.url.params["bulkId"] == "b1"


def test_renews_proactively_with_raw_token_header(make_runner: Any, fake: FakeTwin) -> None:
    fake.token_lifetime = 0.3  # renewal is due at 90 % of the lifetime
    twin = make_runner()
    twin.send(notify.count_messages())
    time.sleep(0.3)
    twin.send(notify.count_messages())
    refreshes = fake.calls(REFRESH)
    assert len(refreshes) == 1
    assert refreshes[0].headers["Authorization"] == fake.issued[0]  # raw token, no "Bearer " prefix
    assert fake.calls(MESSAGES)[-1].headers["Authorization"] == f"Bearer {fake.issued[1]}"


def test_expired_token_answer_renews_and_repeats_once(make_runner: Any, fake: FakeTwin) -> None:
    expired = httpx.Response(401, json={"error": "Token is expired."})
    fake.script(MESSAGES, expired)
    twin = make_runner()
    assert twin.send(notify.count_messages()) == 0
    assert len(fake.calls(MESSAGES)) == 2
    assert len(fake.calls(REFRESH)) == 1


def test_repeated_rejection_is_an_auth_error_not_a_loop(make_runner: Any, fake: FakeTwin) -> None:
    expired = httpx.Response(401, json={"error": "Token is expired."})
    fake.script(MESSAGES, *[expired] * (RENEWALS_PER_CALL + 2))
    twin = make_runner()
    with pytest.raises(TwinTokenRejected, match="Token is expired") as info:
        twin.send(notify.count_messages())
    assert isinstance(info.value, TwinAuthError)
    assert f"after {RENEWALS_PER_CALL} renewal(s)" in str(info.value)
    assert len(fake.calls(MESSAGES)) == 1 + RENEWALS_PER_CALL


def test_a_renewed_token_refused_again_is_renewed_again(make_runner: Any, fake: FakeTwin) -> None:
    # A renewal raced another expiry: TWIN refuses the new token too; the call renews once more.
    expired = httpx.Response(401, json={"error": "Token is expired."})
    fake.script(MESSAGES, expired, expired)
    twin = make_runner()
    assert twin.send(notify.count_messages()) == 0
    assert len(fake.calls(MESSAGES)) == 3
    assert len(fake.calls(LOGIN)) + len(fake.calls(REFRESH)) == 3, "one login, two renewals"


def test_forbidden_renews_once(make_runner: Any, fake: FakeTwin) -> None:
    fake.script(MESSAGES, httpx.Response(403, json={"error": "Forbidden"}))
    twin = make_runner()
    assert twin.send(notify.count_messages()) == 0
    assert len(fake.calls(MESSAGES)) == 2


def test_refused_refresh_falls_back_to_login(make_runner: Any, fake: FakeTwin) -> None:
    fake.refresh_fails = True
    fake.script(MESSAGES, httpx.Response(401, json={"error": "Token is expired."}))
    twin = make_runner()
    assert twin.send(notify.count_messages()) == 0
    assert len(fake.calls(LOGIN)) == 2
    assert len(fake.calls(REFRESH)) == 1


def test_other_401_is_a_plain_auth_error(make_runner: Any, fake: FakeTwin) -> None:
    fake.script(LOGIN, httpx.Response(401, json={"error": "Invalid credentials."}))
    twin = make_runner()
    with pytest.raises(TwinAuthError, match=r"log in as ops@example.com.*HTTP 401: Invalid credentials"):
        twin.send(notify.count_messages())


def test_static_token_is_used_without_login(make_runner: Any, fake: FakeTwin) -> None:
    token = make_jwt(time.time() + 86400)
    fake.issued.append(token)
    twin = make_runner(config(api_token=token))
    twin.send(notify.count_messages())
    assert fake.calls(LOGIN) == []
    assert fake.calls(MESSAGES)[0].headers["Authorization"] == f"Bearer {token}"


def test_rejected_static_token_explains_what_to_do(make_runner: Any, fake: FakeTwin) -> None:
    token = make_jwt(time.time() + 86400)
    fake.script(MESSAGES, httpx.Response(401, json={"error": "Token is expired."}))
    twin = make_runner(config(api_token=token))
    with pytest.raises(TwinAuthError, match="API help") as info:
        twin.send(notify.count_messages())
    assert token not in str(info.value)
    assert fake.calls(LOGIN) == []


def test_expired_static_token_fails_before_any_request(make_runner: Any, fake: FakeTwin) -> None:
    twin = make_runner(config(api_token=make_jwt(time.time() - 10)))
    with pytest.raises(TwinAuthError, match="api_token .* has expired"):
        twin.send(notify.count_messages())
    assert fake.seen == []


def test_rate_limit_honours_retry_after(make_runner: Any, fake: FakeTwin, sleeps: list[float]) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "Too Many Requests"})
    fake.script(CREATE, limited, limited)
    twin = make_runner()
    items = twin.send(notify.create_messages([{"destinations": [{"phone": "79990000000"}]}], bulk_id="b"))
    assert items[0]["bulkId"] == "b"
    assert sleeps == [2.0, 2.0]  # a 429 was not processed, so even a POST is retried
    assert len(fake.calls(CREATE)) == 3


def test_retry_after_beyond_budget_raises_rate_limited(
    make_runner: Any, fake: FakeTwin, sleeps: list[float]
) -> None:
    fake.script(MESSAGES, httpx.Response(429, headers={"Retry-After": "3600"}, json={"error": "slow down"}))
    twin = make_runner()
    with pytest.raises(TwinRateLimited) as info:
        twin.send(notify.count_messages())
    assert info.value.retry_after == 3600
    assert sleeps == []


def test_server_errors_on_reads_are_retried_with_backoff(
    make_runner: Any, fake: FakeTwin, sleeps: list[float]
) -> None:
    fake.script(MESSAGES, httpx.Response(500), httpx.Response(502), httpx.Response(503, text="busy"))
    twin = make_runner()
    assert twin.send(notify.count_messages()) == 0
    assert len(sleeps) == 3
    assert all(0 <= s <= 0.005 for s in sleeps)


def test_attempts_are_bounded(make_runner: Any, fake: FakeTwin, sleeps: list[float]) -> None:
    fake.script(MESSAGES, *[httpx.Response(500, json={"error": "boom"})] * 10)
    twin = make_runner(config(retry=RetryPolicy(max_attempts=3, backoff_initial=0.001)))
    with pytest.raises(TwinServerError, match="HTTP 500: boom"):
        twin.send(notify.count_messages())
    assert len(fake.calls(MESSAGES)) == 3
    assert len(sleeps) == 2


def test_server_error_on_unsafe_post_is_not_retried(
    make_runner: Any, fake: FakeTwin, sleeps: list[float]
) -> None:
    fake.script(CREATE, httpx.Response(500, json={"error": "boom"}))
    twin = make_runner()
    with pytest.raises(TwinServerError):
        twin.send(notify.create_messages([{"destinations": [{"phone": "79990000000"}]}]))
    assert len(fake.calls(CREATE)) == 1


def test_server_error_on_idempotent_post_is_retried(
    make_runner: Any, fake: FakeTwin, sleeps: list[float]
) -> None:
    fake.script(CREATE, httpx.Response(500, json={"error": "boom"}))
    twin = make_runner()
    call = notify.create_messages([{"destinations": [{"phone": "1"}]}], bulk_id="b", idempotent=True)
    twin.send(call)
    assert len(fake.calls(CREATE)) == 2


def test_connect_errors_are_retried_even_for_posts(
    make_runner: Any, fake: FakeTwin, sleeps: list[float]
) -> None:
    fake.script(CREATE, httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"))
    twin = make_runner()
    twin.send(notify.create_messages([{"destinations": [{"phone": "1"}]}]))
    assert len(fake.calls(CREATE)) == 3


def test_lost_response_to_unsafe_post_is_ambiguous(
    make_runner: Any, fake: FakeTwin, sleeps: list[float]
) -> None:
    fake.script(CREATE, httpx.ReadTimeout("no answer"))
    twin = make_runner()
    with pytest.raises(TwinTransportError, match="could act twice") as info:
        twin.send(notify.create_messages([{"destinations": [{"phone": "1"}]}]))
    assert info.value.ambiguous is True
    assert len(fake.calls(CREATE)) == 1


def test_lost_response_to_read_is_retried(make_runner: Any, fake: FakeTwin, sleeps: list[float]) -> None:
    fake.script(MESSAGES, httpx.RemoteProtocolError("peer closed"), httpx.ReadError("reset"))
    twin = make_runner()
    assert twin.send(notify.count_messages()) == 0


def test_validation_error_names_fields(make_runner: Any, fake: FakeTwin) -> None:
    details = {"messages[0].channels.sms.validityPeriod": ["must be between 1 and 2880"]}
    fake.script(CREATE, httpx.Response(422, json={"error": "Validation failed", "details": details}))
    twin = make_runner()
    with pytest.raises(TwinValidationError) as info:
        twin.send(notify.create_messages([{"destinations": [{"phone": "1"}]}]))
    error = info.value
    assert error.status == 422
    assert error.details == details
    assert "messages[0].channels.sms.validityPeriod: must be between 1 and 2880" in str(error)


def test_non_json_error_body_is_reported_verbatim(make_runner: Any, fake: FakeTwin) -> None:
    fake.script(MESSAGES, httpx.Response(400, text="bad filter"))
    twin = make_runner()
    with pytest.raises(TwinValidationError, match="HTTP 400: bad filter"):
        twin.send(notify.count_messages())


def test_secrets_never_reach_logs_or_errors(
    make_runner: Any, fake: FakeTwin, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.script(MESSAGES, httpx.Response(401, json={"error": "Token is expired."}), httpx.Response(500))
    twin = make_runner()
    twin.send(notify.count_messages())
    fake.script(MESSAGES, *[httpx.Response(403, json={"error": "Forbidden"})] * (RENEWALS_PER_CALL + 2))
    with pytest.raises(TwinAuthError) as info:
        twin.send(notify.count_messages())
    text = caplog.text + str(info.value) + repr(twin.client.engine.tokens) + repr(config())
    for secret in [*fake.issued, "s3cret-pass", "r-1", "r-2"]:
        assert secret not in text


def test_paginate_walks_every_page(fake: FakeTwin) -> None:
    pages = [
        {"count": 5, "items": [{"id": "1"}, {"id": "2"}]},
        {"count": 5, "items": [{"id": "3"}, {"id": "4"}]},
        {"count": 5, "items": [{"id": "5"}]},
    ]
    fake.script(MESSAGES, *[httpx.Response(200, json=p) for p in pages])
    with TwinClient(config(), transport=httpx.MockTransport(fake)) as twin:
        ids = [item["id"] for item in twin.paginate(notify.list_messages(limit=2, bulk_ids="b"))]
    assert ids == ["1", "2", "3", "4", "5"]
    assert [r.url.params["offset"] for r in fake.calls(MESSAGES)] == ["0", "2", "4"]


async def test_async_paginate_and_single_login_under_concurrency(fake: FakeTwin) -> None:
    async with AsyncTwinClient(config(), transport=httpx.MockTransport(fake)) as twin:
        counts = await asyncio.gather(*(twin.send(notify.count_messages()) for _ in range(25)))
        assert counts == [0] * 25
        assert len(fake.calls(LOGIN)) == 1
        items = [item async for item in twin.paginate(notify.list_messages(limit=10))]
    assert items == []


def test_concurrent_threads_log_in_once(fake: FakeTwin) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with TwinClient(config(), transport=httpx.MockTransport(fake)) as twin, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: twin.send(notify.count_messages()), range(32)))
    assert results == [0] * 32
    assert len(fake.calls(LOGIN)) == 1
