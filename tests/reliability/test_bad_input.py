"""Bad-input catalogue: every invalid configuration fails clearly, naming the field, sending nothing.

Each case builds an operator or sensor (parse time) and, when construction accepts it, runs it
the way a worker would (``execute`` / ``poke`` with the values templates and XCom resolved to).
It must raise an error that Airflow does not retry (``AirflowFailException``) or that fails
the DAG at parse time (``ValueError``/``TypeError``), whose text names the offending field, and
the emulator's request log must stay empty: not even a login.

The wrong-types-from-XCom cases also run in a real DAG (``dag.test()``, upstream tasks returning
bad values): every such task fails on its first try despite ``retries=2``, and TWIN sees no
request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytestmark = pytest.mark.integration

UUID = "6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"
PHONE = {"phone": "79990000001"}


@dataclass(frozen=True)
class Case:
    """One invalid configuration: what to build, and what the error must say."""

    id: str
    kind: str  # "send", "cancel", "status", "chat_start", "chat_closed"
    kwargs: dict[str, Any]
    names: tuple[str, ...]  # every fragment must appear in the error text

    def __str__(self) -> str:
        return self.id


def send(case_id: str, names: str | tuple[str, ...], **kwargs: Any) -> Case:
    kwargs.setdefault("channels", {"sms": {"from": "Shop"}})
    if "messages" not in kwargs and "recipients_file" not in kwargs:
        kwargs.setdefault("recipients", [PHONE])
    if "messages" not in kwargs and "template_id" not in kwargs:
        kwargs.setdefault("text", "Hello")
    for key in [key for key, value in kwargs.items() if value is _DROP]:
        del kwargs[key]
    return Case(case_id, "send", kwargs, (names,) if isinstance(names, str) else names)


_DROP = object()

CATALOGUE: list[Case] = [
    # -- recipients --------------------------------------------------------------------------------
    send("phone_with_dashes_too_short", "recipients[0].phone", recipients=[{"phone": "12-34"}]),
    send("phone_with_letters", "recipients[0].phone", recipients=[{"phone": "7999123456a"}]),
    send("phone_with_dots", "recipients[1].phone", recipients=[PHONE, {"phone": "7999.123.4567"}]),
    send("phone_of_16_digits", "recipients[0].phone", recipients=[{"phone": "1234567890123456"}]),
    send("phone_as_boolean", "recipients[0].phone", recipients=[{"phone": True}]),
    send(
        "malformed_email",
        "recipients[0].email",
        channels={"email": {"subject": "Hi"}},
        recipients=[{"email": "not-an-address"}],
    ),
    send("unknown_recipient_field", "recipients[0].nmae", recipients=[{**PHONE, "nmae": "Ann"}]),
    send(
        "nobody_the_channel_reaches",
        ("recipients[0]", "email"),
        channels={"email": {"subject": "Hi"}},
        recipients=[PHONE],
    ),
    send(
        "nested_variable",
        "recipients[0].variables.order",
        recipients=[{**PHONE, "variables": {"order": {"id": 1}}}],
    ),
    send(
        "email_with_a_zero_width_space",
        ("recipients[0].email", "invisible"),
        channels={"email": {"subject": "Hi"}},
        recipients=[{"email": "ann\u200b@example.com"}],
    ),
    send(
        "nan_variable",
        ("recipients[0].variables.n", "finite"),
        recipients=[{**PHONE, "variables": {"n": float("nan")}}],
    ),
    send("infinite_shared_variable", ("variables.n", "finite"), variables={"n": float("inf")}),
    send(
        "variable_the_text_uses_missing",
        ("recipients[1]", "var_name"),
        recipients=[{**PHONE, "var_name": "Ann"}, PHONE],
        text="{% raw %}Hi {{name}}{% endraw %}",
    ),
    send("empty_recipients", "recipients", recipients=[]),
    send("recipient_as_list", "recipients[0]", recipients=[["79990000001"]]),
    # -- wrong types from XCom (the values templates and XCom resolve to) --------------------------
    send("recipients_xcom_is_an_object", "recipients", recipients={"phone": "79990000001"}),
    send("recipients_xcom_is_a_number", "recipients", recipients=42),
    send("recipients_xcom_is_not_json", "recipients", recipients="79990000001;79990000002"),
    send("text_xcom_is_a_number", "text", text=5),
    send("send_at_xcom_is_a_number", "send_at", send_at=1767225600),
    send("validity_period_xcom_is_a_string", "validity_period", validity_period="120"),
    send("variables_xcom_is_a_list", "variables", variables=["Ann"]),
    # -- content and channels ----------------------------------------------------------------------
    send("text_and_template_both_missing", ("channels.sms", "text"), text=_DROP),
    send("text_and_template_both_given", ("text", "template_id"), template_id=UUID, text="Hello"),
    send("template_id_not_a_uuid", "template_id", template_id="order-ready", text=_DROP),
    send("no_channels", "channels", channels=None),
    send("unknown_channel", "channels.pigeon", channels={"pigeon": {}}),
    send("channel_listed_twice", "channels.SMS", channels={"sms": {}, "SMS": {}}),
    send("channel_field_typo", "channels.sms.form", channels={"sms": {"form": "Shop"}}),
    send("channel_field_wrong_type", "channels.sms.from", channels={"sms": {"from": 42}}),
    send(
        "eleven_vk_attachments",
        "channels.vkontakte.attachments",
        channels={"vkontakte": {"attachments": [f"photo-1_{i}" for i in range(11)]}},
    ),
    send(
        "malformed_vk_attachment",
        "channels.vkontakte.attachments",
        channels={"vkontakte": {"attachments": ["picture-1_2"]}},
    ),
    send(
        "chat_channel_session_ttl",
        "channels.chat.sessionTtl",
        channels={"chat": {"chatId": UUID, "chatSessionName": "s", "sessionTtl": 600}},
        text=_DROP,
    ),
    send(
        "chat_channel_without_chat_id",
        ("channels.chat.chatId", "channels.chat.chatSessionName"),
        channels={"chat": {}},
    ),
    send("vkontakte_without_template_name", "channels.vkontakte.templateName", channels={"vkontakte": {}}),
    send(
        "messenger_template_name_is_no_text",
        "channels.whatsapp.text",
        channels={"whatsapp": {"templateName": "t"}},
        text=_DROP,
    ),
    send("empty_sender", "channels.sms.from", channels={"sms": {"from": ""}}),
    send("chat_id_not_a_uuid", "channels.chat.chatId", channels={"chat": {"chatId": "support"}}, text=_DROP),
    send(
        "channel_validity_period_5000",
        "channels.sms.validityPeriod",
        channels={"sms": {"validityPeriod": 5000}},
    ),
    send("validity_period_zero", "validity_period", validity_period=0),
    send("validity_period_3000", "validity_period", validity_period=3000),
    # -- timing --------------------------------------------------------------------------------------
    send("naive_send_at_datetime", ("send_at", "timezone"), send_at=datetime(2026, 2, 1, 10, 0)),
    send("naive_send_at_string", ("send_at", "timezone"), send_at="2026-02-01T10:00:00"),
    send("unreadable_send_at", "send_at", send_at="tomorrow at ten"),
    send(
        "window_crossing_midnight", "allowed_time_ranges[0]", allowed_time_ranges=[["21:00:00", "09:00:00"]]
    ),
    send("window_not_hh_mm_ss", "allowed_time_ranges", allowed_time_ranges=[["9am", "9pm"]]),
    # -- callbacks and ids -------------------------------------------------------------------------
    send("callback_url_not_http", "callback_url", callback_url="ftp://hooks.example.com/twin"),
    send("callback_data_too_long", "callback_data", callback_data="x" * 10_241),
    send("group_id_not_a_uuid", "group_id", group_id="campaign-7"),
    send("use_short_links_not_boolean", "use_short_links", use_short_links="yes"),
    # -- raw messages --------------------------------------------------------------------------------
    send(
        "raw_message_naive_send_at",
        ("messages[0]", "send_at"),
        channels=_DROP,
        messages=[
            {"destinations": [PHONE], "channels": {"sms": {"text": "Hi"}}, "sendAt": "2026-02-01T10:00"}
        ],
    ),
    send(
        "raw_message_without_destinations",
        "messages[0].destinations",
        channels=_DROP,
        messages=[{"destinations": [], "channels": {"sms": {"text": "Hi"}}}],
    ),
    send(
        "raw_message_unknown_field",
        "messages[0].bulkID",
        channels=_DROP,
        messages=[{"destinations": [PHONE], "channels": {"sms": {"text": "Hi"}}, "bulkID": "x"}],
    ),
    send(
        "raw_messages_with_shared_settings",
        "text",
        channels=_DROP,
        messages=[{"destinations": [PHONE], "channels": {"sms": {"text": "Hi"}}}],
        text="Hello",
    ),
    # -- what and how to send ---------------------------------------------------------------------
    send(
        "recipients_and_file_both",
        ("recipients", "recipients_file"),
        recipients=[PHONE],
        recipients_file="people.csv",
    ),
    send("batch_size_zero", "batch_size", batch_size=0),
    send("max_in_flight_zero", "max_in_flight", max_in_flight=0),
    send("fail_on_rejected_above_one", "fail_on_rejected", fail_on_rejected=1.5),
    send(
        "file_format_unknown",
        "recipients_file_format",
        recipients=_DROP,
        recipients_file="x.csv",
        recipients_file_format="xml",
    ),
    # -- cancel ----------------------------------------------------------------------------------------
    Case("cancel_without_ids", "cancel", {}, ("message_ids", "bulk_ids")),
    Case("cancel_ids_as_object", "cancel", {"bulk_ids": {"id": "x"}}, ("bulk_ids",)),
    Case(
        "cancel_ids_per_request_zero",
        "cancel",
        {"bulk_ids": ["x"], "max_ids_per_request": 0},
        ("max_ids_per_request",),
    ),
    # -- status sensor ---------------------------------------------------------------------------------
    Case("status_without_targets", "status", {}, ("targets", "bulk_ids")),
    Case(
        "status_two_kinds_of_ids",
        "status",
        {"bulk_ids": ["a"], "group_ids": ["b"]},
        ("bulk_ids", "group_ids"),
    ),
    Case("status_targets_xcom_is_a_number", "status", {"targets": 42}, ("targets",)),
    Case("status_unreadable_id_list", "status", {"bulk_ids": "['a', "}, ("bulk_ids",)),
    Case(
        "status_min_success_ratio_above_one",
        "status",
        {"bulk_ids": ["a"], "min_success_ratio": 1.5},
        ("min_success_ratio",),
    ),
    Case(
        "status_negative_failure_ratio",
        "status",
        {"bulk_ids": ["a"], "max_failure_ratio": -0.1},
        ("max_failure_ratio",),
    ),
    Case(
        "status_in_both_lists",
        "status",
        {"bulk_ids": ["a"], "success_statuses": ["DELIVERED"], "failure_statuses": ["DELIVERED", "ERROR"]},
        ("DELIVERED",),
    ),
    Case(
        "status_expected_total_not_a_number",
        "status",
        {"bulk_ids": ["a"], "expected_total": "many"},
        ("expected_total",),
    ),
    # -- chat --------------------------------------------------------------------------------------------
    Case(
        "chat_session_ttl_50000",
        "chat_start",
        {"chat_id": UUID, "session_ttl": 50_000},
        ("session_ttl", "43200"),
    ),
    Case("chat_session_id_not_a_uuid", "chat_start", {"chat_id": UUID, "session_id": "s-1"}, ("session_id",)),
    Case("chat_empty_chat_id", "chat_start", {"chat_id": ""}, ("chat_id",)),
    Case(
        "chat_wait_unknown_event",
        "chat_closed",
        {"session_id": UUID, "events": ["sessionClozed"]},
        ("sessionClozed",),
    ),
]


def _build(case: Case, tmp_path: Path) -> Any:
    from airflow.sdk import DAG

    kwargs = dict(case.kwargs)
    if case.kind == "send" and isinstance(kwargs.get("recipients_file"), str):
        path = tmp_path / kwargs["recipients_file"]
        path.write_text("phone\n79990000001\n", encoding="utf-8")
        kwargs["recipients_file"] = str(path)
    with DAG("test_reliability_bad_input", schedule=None):
        if case.kind == "send":
            from airflow_provider_twin.operators.messages import TwinSendMessagesOperator

            return TwinSendMessagesOperator(task_id="task", **kwargs)
        if case.kind == "cancel":
            from airflow_provider_twin.operators.messages import TwinCancelMessagesOperator

            return TwinCancelMessagesOperator(task_id="task", **kwargs)
        if case.kind == "status":
            from airflow_provider_twin.sensors.messages import TwinMessageStatusSensor

            return TwinMessageStatusSensor(task_id="task", deferrable=False, **kwargs)
        if case.kind == "chat_start":
            from airflow_provider_twin.operators.chat import TwinStartChatSessionOperator

            return TwinStartChatSessionOperator(task_id="task", **kwargs)
        from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor

        return TwinChatSessionClosedSensor(task_id="task", deferrable=False, **kwargs)


def _run(task: Any) -> None:
    ti = SimpleNamespace(map_index=-1, try_number=1, xcom_push=lambda **_: None)
    context = {"ti": ti, "dag_run": SimpleNamespace(run_id="bad_input"), "task_instance": ti}
    if hasattr(task, "poke"):
        task.poke(context)
    else:
        task.execute(context)


def _raise_for(case: Case, tmp_path: Path) -> BaseException:
    from airflow.sdk.exceptions import AirflowFailException

    try:
        task = _build(case, tmp_path)
    except (ValueError, TypeError) as exc:  # refused at DAG parse time
        return exc
    try:
        _run(task)
    except AirflowFailException as exc:  # refused at run time, for good (no retry)
        return exc
    except Exception as exc:  # noqa: BLE001 - reported below with the case
        pytest.fail(f"{case}: {type(exc).__name__} is not a clear, final refusal: {exc}")
    pytest.fail(f"{case}: accepted")


def test_the_catalogue_is_large_enough() -> None:
    assert len(CATALOGUE) >= 30
    assert len({case.id for case in CATALOGUE}) == len(CATALOGUE)


#: Cases the product does not refuse yet: kept (strict xfail) so that the fix is noticed.
KNOWN_GAPS: dict[str, str] = {}


def _params() -> list[Any]:
    return [
        pytest.param(case, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[case.id]))
        if case.id in KNOWN_GAPS
        else case
        for case in CATALOGUE
    ]


@pytest.mark.parametrize("case", _params(), ids=str)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_sent(
    case: Case, twin_emulator: Any, twin_connection_env: str, tmp_path: Path
) -> None:
    error = _raise_for(case, tmp_path)
    text = str(error)
    for name in case.names:
        assert name in text, f"{case}: the error does not name {name!r}: {text}"
    assert len(text) < 4000, f"{case}: the error is not short: {text[:200]}…"
    assert twin_emulator.admin.requests() == [], f"{case}: TWIN was called"
    assert twin_emulator.admin.counters()["requests"] == {}, f"{case}: TWIN was called"


def test_a_broken_connection_is_named_before_any_request(
    twin_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    connection = twin_emulator.connection
    connection["extra"]["notify_urls"] = connection["extra"].pop("notify_url")
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(connection))
    task = _build(send("connection", "-"), Path("."))
    with pytest.raises(AirflowFailException, match="notify_urls"):
        _run(task)
    assert twin_emulator.admin.requests() == []


# -- the same mistakes arriving through XCom in a real DAG run -----------------------------------------
XCOM_TASKS = {
    "send_recipients_object": "recipients",
    "send_recipients_number": "recipients",
    "send_text_number": "text",
    "send_send_at_naive": "send_at",
    "wait_targets_number": "targets",
    "cancel_ids_object": "bulk_ids",
}


def test_wrong_types_from_xcom_fail_on_the_first_try_without_requests(airflow_twin: Any) -> None:
    from airflow.utils.session import create_session

    from tests.integration.dags.reliability_bad_input import dag

    dag_run = dag.test()
    with create_session() as session:
        tasks = {ti.task_id: (ti.state, ti.try_number) for ti in dag_run.get_task_instances(session=session)}
    for task_id in XCOM_TASKS:
        assert tasks[task_id] == ("failed", 1), f"{task_id}: {tasks[task_id]} (retries=2 must not be used)"
    assert tasks["bad_values"] == ("success", 1)
    assert airflow_twin.admin.requests() == []
