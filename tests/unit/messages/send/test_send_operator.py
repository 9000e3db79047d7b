"""TwinSendMessagesOperator against the emulator: validation, exactly once, concurrency, summary."""

from __future__ import annotations

import itertools
import json
import statistics
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_twin.client.messages import bulk_id_for
from airflow_provider_twin.client.messages.chunks import BULK_ID_NAMESPACE
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator
from tests.unit.messages.send.conftest import Twin
from tests.unit.messages.send.operator_runs import context, logged, operator, people
from tests.unit.messages.twin_wire import DELETE, GET, POST, reject

UUID = "6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"


def twin_requests(twin: Twin) -> int:
    """Requests to TWIN's own routes (not the emulator's admin API)."""
    return sum(count for route, count in twin.requests.items() if "/_emulator" not in route)


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


def test_retries_reuse_bulk_ids_and_group(twin: Twin) -> None:
    first = operator(recipients=people(25), batch_size=10).execute(context(try_number=1))
    twin.admin.reset()  # TWIN forgot the first try: the retry sends again, under the same ids
    second = operator(recipients=people(25), batch_size=10).execute(context(try_number=3))
    assert first["bulk_ids"] == second["bulk_ids"]
    assert first["bulk_ids"][0] == bulk_id_for("campaign", "manual__1", "send", -1, 0)
    assert (
        first["group_id"] == second["group_id"] == bulk_id_for("campaign", "manual__1", "send", -1, "group")
    )
    mapped = operator(recipients=people(25), batch_size=10).execute(context(map_index=2))
    assert set(mapped["bulk_ids"]).isdisjoint(first["bulk_ids"])


# -- the happy path -------------------------------------------------------------------------------
def test_send_summary(twin: Twin) -> None:
    summary = operator(recipients=people(2500), batch_size=1000, max_message_ids_in_xcom=1200).execute(
        context()
    )
    assert twin.requests[POST] == 3
    assert twin.requests[GET] == 0  # a first try does not check
    assert twin.counter("destinations_created") == 2500
    body = twin.wire.bodies[POST][0]
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


def test_group_id_given_is_used(twin: Twin) -> None:
    summary = operator(recipients=people(3), group_id=UUID).execute(context())
    assert summary["group_id"] == UUID
    assert summary["own_group"] is False, "a given group may hold other sends too"
    assert twin.wire.bodies[POST][0]["messages"][0]["groupId"] == UUID


def test_raw_messages(twin: Twin) -> None:
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
    assert [[len(m["destinations"]) for m in body["messages"]] for body in twin.wire.bodies[POST]] == [
        [1, 1],
        [2],
    ]
    assert summary["per_channel"] == {"EMAIL": 3, "SMS": 1}


def test_recipients_file(twin: Twin, tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text("".join(f'{{"phone": "7999{i:07d}"}}\n' for i in range(30)), encoding="utf-8")
    summary = operator(recipients_file=str(path), batch_size=7).execute(context())
    assert (summary["total"], summary["accepted"], summary["chunks"]) == (30, 30, 5)


def test_remote_recipients_file_goes_through_object_storage(twin: Twin, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("phone\n79990000001\n", encoding="utf-8")
    summary = operator(recipients_file=f"file://{path}").execute(context())
    assert summary["accepted"] == 1


# -- validation -----------------------------------------------------------------------------------
def test_bad_input_fails_before_any_request(twin: Twin) -> None:
    recipients = [{"phone": "79990000000"}] + [{"phone": f"bad-{i}"} for i in range(24)] + [{"email": "x"}]
    with pytest.raises(AirflowFailException) as raised:
        operator(recipients=recipients, retries=3).execute(context())
    text = str(raised.value)
    assert text.startswith("25 problems in recipients; nothing was sent:\n- recipients[1].phone: 'bad-0'")
    assert "- recipients[20].phone" in text
    assert "recipients[21]" not in text
    assert text.endswith("- ... and 5 more")
    assert twin_requests(twin) == 0


def test_bad_settings_fail_before_any_request(twin: Twin) -> None:
    with pytest.raises(AirflowFailException, match="channels.fax: unknown channel"):
        operator(recipients=people(1), channels={"fax": {}}).execute(context())
    with pytest.raises(AirflowFailException, match="send_at: 2026-02-01T10:00:00 has no timezone"):
        operator(recipients=people(1), send_at="2026-02-01T10:00:00").execute(context())
    assert twin_requests(twin) == 0


def test_send_at_in_the_past_is_a_warning(twin: Twin, log: mock.MagicMock) -> None:
    operator(recipients=people(1), send_at="2020-01-01T00:00:00+00:00").execute(context())
    assert any("is in the past" in line for line in logged(log, "warning"))


# -- rejected items -------------------------------------------------------------------------------
def test_rejected_items_are_reported_and_redacted(twin: Twin) -> None:
    twin.wire.rewrite(POST, reject(lambda d: "Invalid destination" if d["phone"].endswith("3") else None))
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
def test_fail_on_rejected(twin: Twin, threshold: bool | float, fails: bool) -> None:
    twin.wire.rewrite(POST, reject(lambda d: "nope" if d["phone"][-1] in "37" else None))  # 20 %
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


# -- exactly once ---------------------------------------------------------------------------------
def test_lost_answer_is_checked_and_not_resent(twin: Twin) -> None:
    twin.fault("POST", "drop", times=1)
    summary = operator(recipients=people(30), batch_size=10, max_in_flight=1).execute(context())
    assert twin.requests[POST] == 3
    assert twin.requests[GET] == 1
    assert twin.counter("duplicate_pairs") == 0
    assert (summary["accepted"], summary["skipped"], summary["skipped_chunks"]) == (20, 10, 1)


def test_server_error_without_creation_is_resent_after_check(twin: Twin) -> None:
    twin.fault("POST", status=500, times=1)
    twin.fault("POST", status=503, times=1)
    summary = operator(recipients=people(10)).execute(context())
    assert twin.requests[POST] == 3
    assert twin.requests[GET] == 2
    assert summary["accepted"] == 10
    assert twin.counter("destinations_created") == 10


def test_rate_limited_post_is_retried_by_the_engine(twin: Twin) -> None:
    twin.fault("POST", status=429, retry_after=0, times=1)
    summary = operator(recipients=people(10)).execute(context())
    assert (twin.requests[POST], twin.requests[GET], summary["accepted"]) == (2, 0, 10)


def test_persistent_server_errors_fail_for_a_retry(twin: Twin) -> None:
    twin.fault("POST", status=500, times=10)
    with pytest.raises(AirflowException) as raised:
        operator(recipients=people(10)).execute(context())
    assert not isinstance(raised.value, AirflowFailException)
    assert twin.requests[POST] == 4  # the connection's retry budget
    assert twin.requests[GET] == 3  # checked before every resend


def test_twin_validation_error_fails_for_good(twin: Twin) -> None:
    twin.fault(
        "POST", status=422, body={"error": "Validation failed", "details": {"messages": ["bad"]}}, times=1
    )
    with pytest.raises(AirflowFailException, match="HTTP 422"):
        operator(recipients=people(10)).execute(context())


def test_refused_credentials_fail_for_good(twin: Twin) -> None:
    # a 403 survives every renewal of the call (1 + 3 renewals): missing rights, not an old token
    twin.fault("POST", status=403, body={"error": "Forbidden"}, times=4)
    with pytest.raises(AirflowFailException, match="HTTP 403"):
        operator(recipients=people(10)).execute(context())


def test_conflict_means_the_chunk_exists(twin: Twin) -> None:
    twin.fault("POST", status=409, body={"error": "bulkId already exists"}, times=1)
    summary = operator(recipients=people(10)).execute(context())
    assert (summary["skipped_chunks"], summary["accepted"]) == (1, 0)


def test_retry_skips_chunks_twin_holds(twin: Twin, log: mock.MagicMock) -> None:
    def fail_after_the_first_chunk(message: str, *args: Any) -> None:
        if message == "TWIN send: %s" and not twin.admin.faults():
            twin.fault("POST", status=500, times=4)  # chunk 1 exhausts the retry budget

    log.info.side_effect = fail_after_the_first_chunk
    op = operator(recipients=people(30), batch_size=10, max_in_flight=1, progress_interval=0)
    with pytest.raises(AirflowException):
        op.execute(context())
    assert twin.counter("messages_created") == 1, "the first try sent chunk 0 only"
    log.info.side_effect = None
    summary = operator(recipients=people(30), batch_size=10, max_in_flight=1).execute(context(try_number=2))
    assert twin.requests[GET] >= 3
    assert (summary["skipped_chunks"], summary["skipped"], summary["accepted"]) == (1, 10, 20)
    assert twin.counter("duplicate_pairs") == 0
    assert twin.counter("destinations_created") == 30


def test_check_existing_can_be_forced_or_disabled(twin: Twin) -> None:
    operator(recipients=people(20), batch_size=10, check_existing=True).execute(context())
    assert twin.requests[GET] == 2
    operator(recipients=people(20), batch_size=10, check_existing=False).execute(context(try_number=2))
    assert twin.requests[GET] == 2
    assert (
        twin.counter("duplicate_pairs") == 20
    )  # turning the check off on a retry re-sends: that is the point of it


# -- concurrency, pacing, progress ----------------------------------------------------------------
def test_max_in_flight_bounds_concurrency(twin: Twin) -> None:
    twin.fault("POST", "latency", latency_ms=20)
    operator(recipients=people(200), batch_size=10, max_in_flight=3).execute(context())
    assert twin.wire.max_in_flight == 3


def test_rate_limit_spaces_requests(twin: Twin, monkeypatch: pytest.MonkeyPatch) -> None:
    # A ready-made token: no login holds up the first request, so every gap is the limiter's.
    connection = twin.emulator.connection
    connection.update(login=None, password=None)
    connection["extra"]["api_token"] = twin.admin.mint_token()
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(connection))
    operator(recipients=people(60), batch_size=10, max_in_flight=6, max_requests_per_second=25).execute(
        context()
    )
    posted = twin.wire.times[POST]
    gaps = [b - a for a, b in itertools.pairwise(posted)]
    # paced one by one (a single late request on a busy machine may close one gap: the median)
    assert statistics.median(gaps) >= 0.03
    assert posted[-1] - posted[0] >= 5 / 25 - 0.01


def test_progress_is_logged(twin: Twin, log: mock.MagicMock) -> None:
    operator(recipients=people(30), batch_size=10, progress_interval=0).execute(context())
    lines = [line for line in logged(log, "info") if "TWIN send: sent" in line]
    assert len(lines) == 4  # after each chunk, then the final line
    assert lines[-1].startswith("TWIN send: sent 30/30 recipients (100.0%) in 3 chunk(s)")


def test_unused_routes_stay_unused(twin: Twin) -> None:
    operator(recipients=people(1)).execute(context())
    assert twin.requests[DELETE] == 0
