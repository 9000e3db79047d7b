"""TwinSendMessagesOperator and the bulk sender against an in-memory TWIN."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_twin.client import AsyncTwinClient, RetryPolicy
from airflow_provider_twin.client.messages.bulk import (
    BULK_ID_NAMESPACE,
    BulkSender,
    BulkSendError,
    Chunk,
    Progress,
    SendReport,
    TokenBucket,
    bulk_id_for,
    redact_destination,
)
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator, run_coroutine
from tests.unit.fake_twin import config
from tests.unit.test_send_operator_support import DELETE, GET, POST, BulkTwin, Fault, install

UUID = "6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"


@pytest.fixture
def twin(monkeypatch: pytest.MonkeyPatch) -> BulkTwin:
    fake = BulkTwin()
    install(monkeypatch, fake)
    return fake


def people(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"phone": f"+7 999 {i:07d}", "var_name": f"P{i}"} for i in range(start, start + count)]


def operator(**kwargs: Any) -> TwinSendMessagesOperator:
    if "messages" not in kwargs:
        kwargs.setdefault("channels", {"viber": {"from": "Shop"}, "sms": {"from": "Shop"}})
        kwargs.setdefault("text", "Hello")
    kwargs.setdefault("settle_seconds", 0.0)
    with DAG("campaign", schedule=None):
        return TwinSendMessagesOperator(task_id=kwargs.pop("task_id", "send"), **kwargs)


def context(try_number: int = 1, map_index: int = -1, run_id: str = "manual__1") -> dict[str, Any]:
    ti = mock.MagicMock(try_number=try_number, map_index=map_index)
    return {"ti": ti, "dag_run": mock.MagicMock(run_id=run_id)}


# -- construction ---------------------------------------------------------------------------------
def test_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one of messages, recipients or recipients_file$"):
        operator()
    with pytest.raises(ValueError, match="got messages, recipients"):
        operator(messages=[{}], recipients=[{}], channels=None, text=None)
    with pytest.raises(ValueError, match="text apply to recipients sends"):
        operator(messages=[{}], text="Hello")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"max_in_flight": 0}, "max_in_flight must be at least 1"),
        ({"max_requests_per_second": 0}, "max_requests_per_second must be positive"),
        ({"fail_on_rejected": 1.5}, "fail_on_rejected must be a bool or a share"),
    ],
)
def test_arguments_are_checked_at_parse_time(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        operator(recipients=people(1), **kwargs)


def test_templated_fields_and_renderers() -> None:
    fields = set(TwinSendMessagesOperator.template_fields)
    assert {
        "messages",
        "recipients",
        "recipients_file",
        "channels",
        "text",
        "template_id",
        "variables",
    } <= fields
    assert {"send_at", "allowed_time_ranges", "callback_url", "callback_data", "group_id"} <= fields
    assert TwinSendMessagesOperator.template_fields_renderers["recipients"] == "json"
    assert operator(recipients=people(1)).multiple_outputs is True
    assert operator(recipients=people(1), multiple_outputs=False).multiple_outputs is False


def test_strings_without_template_syntax_skip_jinja() -> None:
    op = operator(recipients=people(1))
    with mock.patch("airflow.sdk.definitions._internal.templater.Templater.render_template") as render:
        assert op.render_template("plain +7 999", {}) == "plain +7 999"  # type: ignore[arg-type]
        render.assert_not_called()
        op.render_template("Hello {{ ds }}", {})  # type: ignore[arg-type]
        render.assert_called_once()


# -- bulk ids -------------------------------------------------------------------------------------
def test_bulk_ids_are_deterministic_uuid5() -> None:
    expected = str(uuid.uuid5(BULK_ID_NAMESPACE, "d|r|t|-1|0"))
    assert bulk_id_for("d", "r", "t", -1, 0) == expected
    assert bulk_id_for("d", "r", "t", -1, 1) != expected
    assert bulk_id_for("d", "r", "t", 0, 0) != expected
    assert str(BULK_ID_NAMESPACE) == "7cd85aa5-62b6-5caa-a343-bc96e9632609"


def test_retries_reuse_bulk_ids_and_group(twin: BulkTwin) -> None:
    first = operator(recipients=people(25), batch_size=10).execute(context(try_number=1))
    twin.batches.clear()
    second = operator(recipients=people(25), batch_size=10).execute(context(try_number=3))
    assert first["bulk_ids"] == second["bulk_ids"]
    assert first["bulk_ids"][0] == bulk_id_for("campaign", "manual__1", "send", -1, 0)
    assert (
        first["group_id"] == second["group_id"] == bulk_id_for("campaign", "manual__1", "send", -1, "group")
    )
    mapped = operator(recipients=people(25), batch_size=10).execute(context(map_index=2))
    assert set(mapped["bulk_ids"]).isdisjoint(first["bulk_ids"])


# -- the happy path -------------------------------------------------------------------------------
def test_send_summary(twin: BulkTwin) -> None:
    summary = operator(recipients=people(2500), batch_size=1000, max_message_ids_in_xcom=1200).execute(
        context()
    )
    assert twin.requests[POST] == 3
    assert twin.requests[GET] == 0  # a first try does not check
    assert len(twin.destinations()) == 2500
    body = twin.bodies[0]
    assert body["bulkId"] == summary["bulk_ids"][0]
    [message] = body["messages"]
    assert message["channels"] == {
        "viber": {"from": "Shop", "text": "Hello"},
        "sms": {"from": "Shop", "text": "Hello"},
    }
    assert message["groupId"] == summary["group_id"]
    assert summary["own_group"] is True, "the derived group holds this send's messages only"
    assert message["destinations"][1] == {"phone": "79990000001", "variables": {"name": "P1"}}
    assert summary["total"] == summary["accepted"] == 2500
    assert (summary["rejected"], summary["skipped"], summary["skipped_chunks"], summary["chunks"]) == (
        0,
        0,
        0,
        3,
    )
    assert summary["per_channel"] == {"VIBER": 2500}
    assert len(summary["message_ids"]) == 1200
    assert summary["message_ids_truncated"] is True
    assert summary["rejected_items"] == []
    assert set(summary["timing"]) == {"validation_seconds", "send_seconds", "recipients_per_second"}


def test_group_id_given_is_used(twin: BulkTwin) -> None:
    summary = operator(recipients=people(3), group_id=UUID).execute(context())
    assert summary["group_id"] == UUID
    assert summary["own_group"] is False, "a given group may hold other sends too"
    assert twin.bodies[0]["messages"][0]["groupId"] == UUID


def test_raw_messages(twin: BulkTwin) -> None:
    messages = [
        {"destinations": [{"phone": "79990000001"}], "channels": {"sms": {"text": "a"}}},
        {
            "destinations": [{"email": "b@example.com"}] * 3,
            "channels": {"email": {"text": "b", "subject": "s"}},
        },
    ]
    summary = operator(messages=messages, batch_size=2).execute(context())
    assert summary["total"] == summary["accepted"] == 4
    assert summary["group_id"] is None
    assert [[len(m["destinations"]) for m in body["messages"]] for body in twin.bodies] == [[1, 1], [2]]
    assert summary["per_channel"] == {"EMAIL": 3, "SMS": 1}


def test_recipients_file(twin: BulkTwin, tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text("".join(f'{{"phone": "7999{i:07d}"}}\n' for i in range(30)), encoding="utf-8")
    summary = operator(recipients_file=str(path), batch_size=7).execute(context())
    assert (summary["total"], summary["accepted"], summary["chunks"]) == (30, 30, 5)


def test_remote_recipients_file_goes_through_object_storage(twin: BulkTwin, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("phone\n79990000001\n", encoding="utf-8")
    summary = operator(recipients_file=f"file://{path}").execute(context())
    assert summary["accepted"] == 1


# -- validation -----------------------------------------------------------------------------------
def test_bad_input_fails_before_any_request(twin: BulkTwin) -> None:
    recipients = [{"phone": "79990000000"}] + [{"phone": f"bad-{i}"} for i in range(24)] + [{"email": "x"}]
    with pytest.raises(AirflowFailException) as raised:
        operator(recipients=recipients, retries=3).execute(context())
    text = str(raised.value)
    assert text.startswith("25 problems in recipients; nothing was sent:\n- recipients[1].phone: 'bad-0'")
    assert "- recipients[20].phone" in text
    assert "recipients[21]" not in text
    assert text.endswith("- ... and 5 more")
    assert sum(twin.requests.values()) == 0


def test_bad_settings_fail_before_any_request(twin: BulkTwin) -> None:
    with pytest.raises(AirflowFailException, match="channels.fax: unknown channel"):
        operator(recipients=people(1), channels={"fax": {}}).execute(context())
    with pytest.raises(AirflowFailException, match="send_at: 2026-02-01T10:00:00 has no timezone"):
        operator(recipients=people(1), send_at="2026-02-01T10:00:00").execute(context())
    assert sum(twin.requests.values()) == 0


def logged(log: mock.MagicMock, level: str) -> list[str]:
    return [call.args[0] % call.args[1:] for call in getattr(log, level).call_args_list]


@pytest.fixture
def log() -> Any:
    with mock.patch.object(TwinSendMessagesOperator, "log", new_callable=mock.PropertyMock) as prop:
        prop.return_value = mock.MagicMock()
        yield prop.return_value


def test_send_at_in_the_past_is_a_warning(twin: BulkTwin, log: mock.MagicMock) -> None:
    operator(recipients=people(1), send_at="2020-01-01T00:00:00+00:00").execute(context())
    assert any("is in the past" in line for line in logged(log, "warning"))


# -- rejected items -------------------------------------------------------------------------------
def test_rejected_items_are_reported_and_redacted(twin: BulkTwin) -> None:
    twin.reject = lambda d: "Invalid destination" if d["phone"].endswith("3") else None
    summary = operator(recipients=people(25), batch_size=10).execute(context())
    assert (summary["accepted"], summary["rejected"]) == (22, 3)
    assert summary["rejected_items"][1] == {
        "index": 13,
        "bulk_id": summary["bulk_ids"][1],
        "destination": {"phone": "79*******13"},
        "error": "Invalid destination",
    }
    plain = operator(recipients=people(5), redact_rejected=False).execute(context(run_id="r2"))
    assert plain["rejected_items"][0]["destination"] == {"phone": "79990000003"}


@pytest.mark.parametrize(("threshold", "fails"), [(True, True), (0.1, True), (0.2, False), (False, False)])
def test_fail_on_rejected(twin: BulkTwin, threshold: bool | float, fails: bool) -> None:
    twin.reject = lambda d: "nope" if d["phone"][-1] in "37" else None  # 20 %
    op = operator(recipients=people(10), fail_on_rejected=threshold)
    ctx = context()
    if not fails:
        assert op.execute(ctx)["rejected"] == 2
        return
    with pytest.raises(AirflowFailException, match=r"rejected 2 of 10 message\(s\) \(20.0%\)"):
        op.execute(ctx)
    pushed = ctx["ti"].xcom_push.call_args.kwargs
    assert pushed["key"] == "summary"
    assert pushed["value"]["rejected"] == 2


def test_redaction() -> None:
    assert redact_destination(
        {"phone": "79991234567", "email": "ann@example.com", "variables": {"a": 1}}
    ) == {
        "phone": "79*******67",
        "email": "a***@example.com",
    }
    assert redact_destination({"clientId": "abc"}) == {"clientId": "***"}


# -- exactly once ---------------------------------------------------------------------------------
def test_lost_answer_is_checked_and_not_resent(twin: BulkTwin) -> None:
    twin.fault(POST, Fault("drop"))
    summary = operator(recipients=people(30), batch_size=10, max_in_flight=1).execute(context())
    assert twin.requests[POST] == 3
    assert twin.requests[GET] == 1
    assert twin.duplicate_pairs() == 0
    assert (summary["accepted"], summary["skipped"], summary["skipped_chunks"]) == (20, 10, 1)


def test_server_error_without_creation_is_resent_after_check(twin: BulkTwin) -> None:
    twin.fault(POST, Fault("status", 500), Fault("status", 503))
    summary = operator(recipients=people(10)).execute(context())
    assert twin.requests[POST] == 3
    assert twin.requests[GET] == 2
    assert summary["accepted"] == 10
    assert len(twin.destinations()) == 10


def test_rate_limited_post_is_retried_by_the_engine(twin: BulkTwin) -> None:
    twin.fault(POST, Fault("status", 429, {"error": "Too Many Requests"}, {"Retry-After": "0"}))
    summary = operator(recipients=people(10)).execute(context())
    assert (twin.requests[POST], twin.requests[GET], summary["accepted"]) == (2, 0, 10)


def test_persistent_server_errors_fail_for_a_retry(twin: BulkTwin) -> None:
    twin.fault(POST, *[Fault("status", 500)] * 10)
    with pytest.raises(AirflowException) as raised:
        operator(recipients=people(10)).execute(context())
    assert not isinstance(raised.value, AirflowFailException)
    assert twin.requests[POST] == 4  # the connection's retry budget
    assert twin.requests[GET] == 3  # checked before every resend


def test_twin_validation_error_fails_for_good(twin: BulkTwin) -> None:
    twin.fault(POST, Fault("status", 422, {"error": "Validation failed", "details": {"messages": ["bad"]}}))
    with pytest.raises(AirflowFailException, match="HTTP 422"):
        operator(recipients=people(10)).execute(context())


def test_refused_credentials_fail_for_good(twin: BulkTwin) -> None:
    twin.fault(
        POST, Fault("status", 403, {"error": "Forbidden"}), Fault("status", 403, {"error": "Forbidden"})
    )
    with pytest.raises(AirflowFailException, match="HTTP 403"):
        operator(recipients=people(10)).execute(context())


def test_conflict_means_the_chunk_exists(twin: BulkTwin) -> None:
    twin.fault(POST, Fault("status", 409, {"error": "bulkId already exists"}))
    summary = operator(recipients=people(10)).execute(context())
    assert (summary["skipped_chunks"], summary["accepted"]) == (1, 0)


def test_retry_skips_chunks_twin_holds(twin: BulkTwin) -> None:
    ctx = context()
    twin.fault(POST, Fault("status", 500), Fault("status", 500), Fault("status", 500), Fault("status", 500))
    op = operator(recipients=people(30), batch_size=10, max_in_flight=1)
    # The first try: chunk 0 goes through, chunk 1 exhausts the retry budget.
    twin.faults[POST].insert(0, Fault("pass-through"))
    with pytest.raises(AirflowException):
        op.execute(ctx)
    assert len(twin.batches) == 1
    summary = operator(recipients=people(30), batch_size=10, max_in_flight=1).execute(context(try_number=2))
    assert twin.requests[GET] >= 3
    assert (summary["skipped_chunks"], summary["skipped"], summary["accepted"]) == (1, 10, 20)
    assert twin.duplicate_pairs() == 0
    assert len(twin.destinations()) == 30


def test_check_existing_can_be_forced_or_disabled(twin: BulkTwin) -> None:
    operator(recipients=people(20), batch_size=10, check_existing=True).execute(context())
    assert twin.requests[GET] == 2
    operator(recipients=people(20), batch_size=10, check_existing=False).execute(context(try_number=2))
    assert twin.requests[GET] == 2
    assert twin.duplicate_pairs() == 20  # turning the check off on a retry re-sends: that is the point of it


# -- concurrency, pacing, progress ----------------------------------------------------------------
def test_max_in_flight_bounds_concurrency(twin: BulkTwin) -> None:
    twin.latency = 0.02
    operator(recipients=people(200), batch_size=10, max_in_flight=3).execute(context())
    assert twin.max_in_flight == 3


def test_rate_limit_spaces_requests(twin: BulkTwin) -> None:
    operator(recipients=people(60), batch_size=10, max_in_flight=6, max_requests_per_second=25).execute(
        context()
    )
    gaps = [b - a for a, b in zip(twin.post_times, twin.post_times[1:], strict=False)]
    assert min(gaps) >= 0.03
    assert twin.post_times[-1] - twin.post_times[0] >= 5 / 25 - 0.01


def test_token_bucket_allows_a_burst_then_paces() -> None:
    async def main() -> list[float]:
        bucket = TokenBucket(rate=50, burst=3)
        stamps = []
        for _ in range(6):
            await bucket.acquire()
            stamps.append(time.monotonic())
        return stamps

    stamps = asyncio.run(main())
    assert stamps[2] - stamps[0] < 0.01
    assert stamps[5] - stamps[2] >= 3 / 50 - 0.005
    with pytest.raises(ValueError, match="rate must be positive"):
        TokenBucket(0)


def test_progress_is_logged(twin: BulkTwin, log: mock.MagicMock) -> None:
    operator(recipients=people(30), batch_size=10, progress_interval=0).execute(context())
    lines = [line for line in logged(log, "info") if "TWIN send: sent" in line]
    assert len(lines) == 4  # after each chunk, then the final line
    assert lines[-1].startswith("TWIN send: sent 30/30 recipients (100.0%) in 3 chunk(s)")


def test_progress_text() -> None:
    progress = Progress(done=2500, total=10000, chunks_done=3, elapsed=2.0)
    assert progress.rate == 1250
    assert progress.eta == 6
    assert progress.describe() == "sent 2500/10000 recipients (25.0%) in 3 chunk(s), 1250/s, ETA 6 s"
    assert Progress(0, 10, 0, 0.0).eta is None


def test_chunks_are_built_only_as_slots_free_up(twin: BulkTwin) -> None:
    """At most max_in_flight chunks (plus the one being built) exist at once: memory stays flat."""
    twin.latency = 0.01
    built: list[int] = []
    done: list[int] = []
    peak = 0

    def chunks() -> Any:
        nonlocal peak
        for index in range(40):
            built.append(index)
            peak = max(peak, len(built) - len(done))
            yield Chunk(
                index,
                f"b{index}",
                [{"destinations": [{"phone": "79990000001"}], "channels": {"sms": {"text": "x"}}}],
                index,
                [{"phone": "79990000001"}],
            )

    async def main() -> SendReport:
        client = AsyncTwinClient(config(), transport=__import__("httpx").MockTransport(twin))
        sender = BulkSender(client, max_in_flight=4, progress=lambda p: done.append(p.chunks_done))
        sender.progress_interval = 0
        try:
            return await sender.run(chunks(), SendReport(total=40))
        finally:
            await client.aclose()

    report = asyncio.run(main())
    assert report.chunks_done == 40
    assert peak <= 5


def test_a_failure_stops_new_chunks_and_keeps_the_report(twin: BulkTwin) -> None:
    twin.fault(POST, Fault("pass-through"), Fault("status", 400, {"error": "bad"}))

    async def main() -> None:
        client = AsyncTwinClient(config(), transport=__import__("httpx").MockTransport(twin))
        chunks = (
            Chunk(
                i,
                f"b{i}",
                [{"destinations": [{"phone": "79990000001"}], "channels": {"sms": {"text": "x"}}}],
                i,
                [{"phone": "79990000001"}],
            )
            for i in range(50)
        )
        try:
            await BulkSender(client, max_in_flight=1).run(chunks, SendReport(total=50))
        finally:
            await client.aclose()

    with pytest.raises(BulkSendError) as raised:
        asyncio.run(main())
    assert raised.value.report.chunks_done == 1
    assert twin.requests[POST] == 2
    assert "HTTP 400" in str(raised.value)


def test_run_coroutine_works_inside_a_running_loop() -> None:
    async def inner() -> int:
        return 7

    async def outer() -> int:
        return run_coroutine(inner())

    assert run_coroutine(inner()) == 7
    assert asyncio.run(outer()) == 7


def test_engine_retry_policy_paces_resends() -> None:
    client = AsyncTwinClient(config(retry=RetryPolicy(max_attempts=2)))
    try:
        assert BulkSender(client).retry_policy.max_attempts == 2
    finally:
        asyncio.run(client.aclose())
    with pytest.raises(ValueError, match="max_in_flight"):
        BulkSender(client, max_in_flight=0)


def test_unused_routes_stay_unused(twin: BulkTwin) -> None:
    operator(recipients=people(1)).execute(context())
    assert twin.requests[DELETE] == 0


def test_frozen_heap_leaves_an_existing_freeze_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_twin.operators import messages

    calls: list[str] = []
    frozen = [0]
    monkeypatch.setattr(messages.gc, "get_freeze_count", lambda: frozen[0])
    monkeypatch.setattr(messages.gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(messages.gc, "unfreeze", lambda: calls.append("unfreeze"))
    with messages.frozen_heap():
        assert calls == ["freeze"]
    assert calls == ["freeze", "unfreeze"]

    calls.clear()
    frozen[0] = 1000  # the process froze objects itself (a pre-fork optimisation)
    with messages.frozen_heap():
        pass
    assert calls == []
