"""TwinNotifier against the emulator: settings checks, rendering, secrets, limits, delivery."""

from __future__ import annotations

import asyncio
import time
import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.messages import recipient_list
from airflow_provider_twin.client.messages.text_fitting import TRUNCATION_MARKER, sms_parts, sms_units
from airflow_provider_twin.hooks.secret_masking import redact
from airflow_provider_twin.notifications import TwinNotifier, send_twin_notification
from airflow_provider_twin.notifications.templates import DEFAULT_TEXT, NotificationError
from tests.unit.messages.notifier.callback_contexts import (
    dag_context,
    deadline_context,
    lines,
    logged,
    task_context,
)
from tests.unit.messages.notifier.conftest import Twin
from tests.unit.messages.twin_wire import GET, LOGIN, POST, reject

TEMPLATE_ID = "6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"
SMS = {"sms": {"from": "TwinService"}}


def notifier(**kwargs: Any) -> TwinNotifier:
    kwargs.setdefault("recipients", ["+7 999 123-45-67"])
    kwargs.setdefault("channels", SMS)
    return TwinNotifier(**kwargs)


def texts(twin: Twin, channel: str = "sms") -> list[str]:
    return [message["channels"][channel]["text"] for message in twin.messages()]


# -- settings are checked when the DAG is parsed ----------------------------------------------------
def test_valid_settings_build_and_the_default_text_applies() -> None:
    plain = notifier()
    assert plain.text == DEFAULT_TEXT
    assert notifier(template_id=TEMPLATE_ID).text is None
    assert send_twin_notification is TwinNotifier


def test_every_problem_is_listed_with_field_and_recipient_index() -> None:
    with pytest.raises(TwinInputError) as info:
        notifier(
            recipients=["+7 999 123-45-67", "12", {"email": "not-an-address"}, {"fax": "1"}],
            channels={"sms": {"from": "X"}, "pigeon": {}},
        )
    message = str(info.value)
    assert isinstance(info.value, ValueError)  # a DAG import error, not a silent 3 a.m. failure
    assert message.startswith("TwinNotifier: 1 problem in its settings")
    assert "channels.pigeon: unknown channel" in message

    with pytest.raises(TwinInputError) as info:
        notifier(recipients=["+7 999 123-45-67", "12", {"email": "not-an-address"}, {"fax": "1"}])
    problems = info.value.problems
    assert problems[0].startswith("recipients[1].phone: '12' is not a phone number")
    assert problems[1].startswith("recipients[2].email: 'not-an-address' is not an e-mail address")
    assert problems[2].startswith("recipients[3].fax: unknown recipient field")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"recipients": []}, "recipients: name at least one recipient"),
        ({"text": "x", "template_id": TEMPLATE_ID}, "give text or template_id, not both"),
        ({"template_id": "nope"}, "template_id: 'nope' is not a TWIN template id"),
        ({"text": "{{ dag_id "}, "text: Jinja syntax error on line 1"),
        ({"channels": {"sms": {"text": "{% if %}"}}}, "channels.sms.text: Jinja syntax error"),
        ({"channels": {"sms": {"form": "X"}}}, "channels.sms.form: unknown channel field"),
        ({"channels": ["telegram"], "recipients": [{"email": "a@b.co"}]}, "no destination for channel"),
        ({"max_sms_parts": 0}, "max_sms_parts: must be an integer from 1 to 10"),
        ({"max_length": 10}, "max_length: must be an integer of at least 40"),
        ({"max_attempts": 9}, "max_attempts: must be an integer from 1 to 5"),
        ({"read_timeout": 0}, "read_timeout: must be a positive number"),
        ({"variables": {"a": [1]}}, "variables.a: must be a string, number, boolean or null"),
    ],
)
def test_bad_settings_fail_at_construction(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(TwinInputError, match="TwinNotifier") as info:
        notifier(**kwargs)
    assert any(expected in problem for problem in info.value.problems), info.value.problems


def test_templated_values_are_checked_once_rendered() -> None:
    built = notifier(
        recipients="{{ var.value.on_call }}",
        channels="{{ var.json.channels }}",
        template_id="{{ var.value.template }}",
    )
    assert built.text is None
    notifier(recipients=[{"phone": "{{ var.value.phone }}"}, "+7 999 123-45-67"])


def test_deadline_callback_checks_at_parse_time_and_names_the_notifier() -> None:
    from airflow.sdk.definitions.callback import AsyncCallback

    callback = TwinNotifier.deadline_callback(recipients=["+79991234567"], channels=["sms"], text="late")
    assert isinstance(callback, AsyncCallback)
    assert callback.path == "airflow_provider_twin.notifications.twin.TwinNotifier"
    assert callback.kwargs == {"recipients": ["+79991234567"], "channels": ["sms"], "text": "late"}
    with pytest.raises(TwinInputError):
        TwinNotifier.deadline_callback(recipients=["12"], channels=["sms"])
    with pytest.raises(TypeError, match="context"):
        TwinNotifier.deadline_callback(recipients=["+79991234567"], channels=["sms"], context={})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('["+79991234567", "ops@example.com"]', ["+79991234567", "ops@example.com"]),
        ("['+79991234567']", ["+79991234567"]),
        ("+79991234567, ops@example.com;x@y.co", ["+79991234567", "ops@example.com", "x@y.co"]),
        ('{"phone": "79991234567"}', [{"phone": "79991234567"}]),
        ({"phone": "79991234567"}, [{"phone": "79991234567"}]),
        (79991234567, [79991234567]),
        ("", []),
        (None, []),
    ],
)
def test_recipient_lists_from_rendered_templates(value: Any, expected: list[Any]) -> None:
    assert recipient_list(value) == expected


# -- rendering ------------------------------------------------------------------------------------
def test_text_renders_with_context_and_event_names_without_changing_the_notifier() -> None:
    template = (
        "{{ dag_id }}.{{ task_id }} {{ event }} (try {{ try_number }}): {{ exception }} {{ ti.log_url }}"
    )
    n = notifier(text=template)
    first = n.rendered(task_context(error=ValueError("CRM export is empty")))
    assert first.text == (
        "nightly_crm.load failed (try 1): CRM export is empty "
        "http://airflow.example.com/dags/nightly_crm/runs/r/tasks/load?try_number=1"
    )
    assert n.text == template  # one instance serves every task and run
    second = n.rendered(task_context(state="up_for_retry", try_number=2, error=RuntimeError("503")))
    assert second.text.startswith("nightly_crm.load failed and will be retried (try 2): 503")


def test_default_text_in_each_kind_of_callback() -> None:
    n = notifier()
    failed = n.rendered(task_context(error=ValueError("empty export"), map_index=3))
    assert failed.text == (
        "Airflow: nightly_crm.load[3] failed (try 1, run scheduled__2026-01-28T02:00:00+00:00) "
        "http://airflow.example.com/dags/nightly_crm/runs/r/tasks/load?try_number=1 ValueError: empty export"
    )
    succeeded = n.rendered(task_context(state="success", error=None))
    assert "load succeeded" in succeeded.text
    assert "None" not in succeeded.text
    dag_failed = n.rendered(dag_context("task_failure"))
    assert dag_failed.text.startswith("Airflow: DAG nightly_crm failed (run scheduled__")
    late = n.rendered(deadline_context())
    assert late.text == (
        "Airflow: DAG nightly_crm missed its deadline (run scheduled__2026-01-28T02:00:00+00:00, "
        "deadline 2026-01-28T04:00:00+00:00) "
        "http://localhost:8080/dags/nightly_crm/runs/scheduled__2026-01-28T02%3A00%3A00%2B00%3A00"
    )


def test_recipients_channels_and_variables_are_templated_too() -> None:
    n = notifier(
        recipients="{{ on_call }}",
        channels={"email": {"subject": "{{ dag_id }} {{ event }}"}, "sms": {"from": "TwinService"}},
        template_id=TEMPLATE_ID,
        variables={"dag": "{{ dag_id }}", "error": "{{ error }}"},
    )
    context = {**task_context(error=ValueError("x")), "on_call": ["ops@example.com", "+79991234567"]}
    rendered = n.rendered(context)
    assert recipient_list(rendered.recipients) == ["ops@example.com", "+79991234567"]
    assert rendered.channels["email"]["subject"] == "nightly_crm failed"
    assert rendered.variables == {"dag": "nightly_crm", "error": "ValueError: x"}


def test_connections_are_not_available_to_templates(twin: Twin) -> None:
    n = notifier(text="pw={{ conn.twin_default.password }}")
    log = logged(n)
    n(task_context(error=ValueError("boom")))
    # The text did not render, so the default text went out instead: the alert is not lost.
    [text] = texts(twin)
    assert text.startswith("Airflow: nightly_crm.load failed")
    assert "pw=" not in text
    assert "the text template failed to render" in lines(log, "error")[0]


def test_a_field_that_does_not_render_is_logged_not_raised(twin: Twin) -> None:
    n = notifier(recipients="{{ missing.phones }}")
    log = logged(n)
    n(task_context())
    assert twin.requests[POST] == 0
    [error] = lines(log, "error")
    assert "TWIN notification NOT sent for nightly_crm.load failed" in error
    assert "NotificationError: recipients could not be rendered" in error
    with pytest.raises(NotificationError):
        n.rendered(task_context())


# -- secrets and length ----------------------------------------------------------------------------
def test_connection_password_and_masked_secrets_never_reach_the_message(twin: Twin) -> None:
    from airflow.sdk.log import mask_secret

    mask_secret("crm-api-key-4f8a9c")
    n = notifier(
        channels={"telegram": {}, "sms": {"from": "TwinService"}},
        text="login failed with {{ exception }}",
        variables=None,
    )
    n(task_context(error=RuntimeError(f"password={twin.password} key=crm-api-key-4f8a9c")))
    [message] = twin.messages()
    for channel in ("telegram", "sms"):
        text = message["channels"][channel]["text"]
        assert text == "login failed with password=*** key=***"


def test_redact_walks_nested_values_and_keeps_other_types() -> None:
    value = {"a": ["x s3cret-pass y", 3, None], "b": {"c": "s3cret-pass"}}
    assert redact(value, ["s3cret-pass", "abc"]) == {"a": ["x *** y", 3, None], "b": {"c": "***"}}


def test_long_texts_are_cut_per_channel(twin: Twin) -> None:
    n = notifier(
        channels={"telegram": {}, "sms": {"from": "TwinService"}, "email": {"text": "{{ error }}"}},
        text="{{ error }}",
        max_length=1000,
    )
    n(task_context(error=ValueError("x" * 5000)))
    [message] = twin.messages()
    sms, telegram = message["channels"]["sms"]["text"], message["channels"]["telegram"]["text"]
    assert sms.endswith(TRUNCATION_MARKER)
    assert telegram.endswith(TRUNCATION_MARKER)
    assert sms_parts(sms) == 3
    assert sms_units(sms) == 457
    assert len(telegram) == 1000
    assert len(message["channels"]["email"]["text"]) == 1000


def test_cyrillic_sms_fits_three_ucs2_parts(twin: Twin) -> None:
    notifier(text="Загрузка CRM упала: {{ error }}")(task_context(error=ValueError("ошибка " * 100)))
    [text] = texts(twin)
    assert sms_parts(text) == 3
    assert sms_units(text) <= 199
    assert text.endswith(TRUNCATION_MARKER)


def test_template_id_sends_variables_not_text(twin: Twin) -> None:
    n = notifier(
        template_id=TEMPLATE_ID,
        channels={"whatsapp": {"templateName": "alert"}, "sms": {"from": "TwinService"}},
        variables={"dag": "{{ dag_id }}", "secret": twin.password},
    )
    n(task_context())
    [message] = twin.messages()
    assert message["templateId"] == TEMPLATE_ID
    assert "text" not in message["channels"]["sms"]
    assert message["destination"]["variables"] == {"dag": "nightly_crm", "secret": "***"}


@pytest.mark.twin_strict
def test_chat_channel_gets_the_text(twin: Twin) -> None:
    chat = {"chatId": str(uuid.uuid4()), "chatSessionName": "alerts"}
    notifier(channels={"chat": chat, "sms": {"from": "T"}})(task_context())
    [message] = twin.messages()
    assert message["channels"]["chat"] == {**chat, "text": message["channels"]["sms"]["text"]}
    assert message["channels"]["sms"]["text"].startswith("Airflow:")


# -- at most once per event ------------------------------------------------------------------------
def test_one_event_gets_one_bulk_id_and_different_events_or_notifiers_get_others() -> None:
    n = notifier()

    def bulk(context: dict[str, Any], target: TwinNotifier = n) -> str:
        from airflow_provider_twin.notifications.event import callback_event

        bulk_id, check = target.bulk_id(callback_event(context))
        assert check
        return bulk_id

    first = bulk(task_context())
    assert first == bulk(task_context()) == bulk(task_context(), notifier())
    uuid.UUID(first)
    others = {
        bulk(task_context(try_number=2)),
        bulk(task_context(state="up_for_retry")),
        bulk(task_context(map_index=0)),
        bulk(task_context(run_id="manual__2")),
        bulk(dag_context("task_failure")),
        bulk(dag_context("task_failure", try_number=2)),
        bulk(deadline_context()),
        bulk(deadline_context("other")),
        bulk(task_context(), notifier(recipients=["+7 999 000-00-02"])),
        bulk(task_context(), notifier(text="other")),
    }
    assert first not in others
    assert len(others) == 10


def test_repeated_callback_for_the_same_event_is_not_sent_twice(twin: Twin) -> None:
    n = notifier()
    log = logged(n)
    n(task_context(error=ValueError("boom")))
    n(task_context(error=ValueError("boom")))
    assert twin.requests[POST] == 1
    assert twin.counter("destinations_created") == 1
    sent, again = lines(log, "info")
    assert sent.startswith("TWIN notification sent for nightly_crm.load failed (try 1, run scheduled__")
    assert "1 recipient(s) via sms (bulkId" in sent
    assert "was already sent" in again
    assert "not sending it again" in again
    # The next try is a new event.
    n(task_context(error=ValueError("boom"), try_number=2))
    assert twin.requests[POST] == 2


def test_an_unidentifiable_context_gets_a_random_bulk_id_and_no_check(twin: Twin) -> None:
    n = notifier(text="hello")
    n({})
    n({})
    assert twin.requests[GET] == 0
    assert twin.requests[POST] == 2
    assert twin.counter("messages_created") == 2


def test_lost_answer_is_confirmed_not_resent(twin: Twin) -> None:
    twin.fault(POST, "drop", times=1)
    n = notifier()
    log = logged(n)
    n(task_context())
    assert twin.requests[POST] == 1
    assert twin.requests[GET] == 2
    assert twin.counter("destinations_created") == 1
    assert twin.pauses == [1.0], "the settle time before asking TWIN"
    [info] = lines(log, "info")
    assert "attempt 2; the answer was lost, TWIN confirmed the bulkId" in info


@pytest.mark.parametrize("fault", ["503", "timeout", "429"])
def test_transient_failure_is_retried_once(twin: Twin, fault: str) -> None:
    if fault == "timeout":  # the request never reached TWIN
        twin.wire.fail(POST, httpx.ReadTimeout)
    else:
        twin.fault(POST, status=int(fault), times=1)
    n = notifier()
    log = logged(n)
    n(task_context())
    assert twin.requests[POST] == 2
    assert twin.counter("destinations_created") == 1
    assert "attempt 2)" in lines(log, "info")[0]


# -- never raises, bounded ------------------------------------------------------------------------
def test_outage_is_logged_with_the_message_and_bounded(twin: Twin) -> None:
    twin.wire.fail(LOGIN, *[httpx.ConnectError] * 10)
    n = notifier(max_attempts=3)
    log = logged(n)
    started = time.monotonic()
    assert n(task_context(error=ValueError("boom"))) is None
    assert time.monotonic() - started < 5
    assert twin.requests[LOGIN] == 3
    assert twin.requests[POST] == 0
    [error] = lines(log, "error")
    assert error.startswith("TWIN notification NOT sent for nightly_crm.load failed (try 1")
    assert "TwinTransportError" in error
    assert "could not connect" in error
    assert "Task and DAG states are not affected" in error
    assert "Message: 'Airflow: nightly_crm.load failed" in error


@pytest.mark.parametrize(
    ("route", "fault", "expected"),
    [
        (LOGIN, {"status": 401, "body": {"error": "Invalid credentials."}}, "TwinAuthError"),
        (POST, {"status": 422, "body": {"error": "Validation failed"}}, "TwinValidationError"),
    ],
)
def test_errors_retrying_cannot_fix_are_not_retried(
    twin: Twin, route: str, fault: dict[str, Any], expected: str
) -> None:
    twin.fault(route, times=1, **fault)
    n = notifier()
    log = logged(n)
    n(task_context())
    assert twin.requests[route] == 1
    assert expected in lines(log, "error")[0]


def test_rendered_recipients_that_are_invalid_are_logged(twin: Twin) -> None:
    n = notifier(recipients="{{ phones }}")
    log = logged(n)
    n({**task_context(), "phones": "+7999, ops@example.com"})
    assert twin.requests[POST] == 0
    assert "recipients[0].phone: '+7999' is not a phone number" in lines(log, "error")[0]


def test_broken_connection_settings_are_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_twin.client import TwinConfigError
    from airflow_provider_twin.hooks.twin import TwinHook

    def broken(self: Any) -> Any:
        raise TwinConfigError("connection 'twin_default': unknown extra field(s) colour")

    monkeypatch.setattr(TwinHook, "client_config", property(broken))
    n = notifier()
    log = logged(n)
    n(task_context())
    assert "unknown extra field(s) colour" in lines(log, "error")[0]


@pytest.mark.parametrize("call", ["sync", "async"])
def test_a_connection_without_credentials_is_logged_once_without_requests(
    twin: Twin, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    import asyncio
    import json

    connection = twin.emulator.connection
    del connection["login"], connection["password"]
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(connection))
    n = notifier()
    log = logged(n)
    if call == "sync":
        n(task_context())
    else:
        asyncio.run(n.async_notify(task_context()))
    [error] = lines(log, "error")
    assert "TwinConfigError" in error
    assert "twin_default" in error
    assert twin.emulator.admin.requests() == []


def test_rejected_recipients_are_warned_about(twin: Twin) -> None:
    twin.wire.rewrite(POST, reject(lambda d: "phone is blacklisted" if d["phone"].endswith("67") else None))
    n = notifier(recipients=["+79991234567", "+79991234568"])
    log = logged(n)
    n(task_context())
    [warning] = lines(log, "warning")
    assert "TWIN refused 1 of 2 recipient(s)" in warning
    assert "phone is blacklisted" in warning


# -- async path --------------------------------------------------------------------------------------
async def test_awaiting_the_notifier_sends_once_per_event(twin: Twin) -> None:
    kwargs = {"recipients": ["+79991234567"], "channels": ["sms"], "text": "{{ summary }}"}
    log = logged(first := TwinNotifier(**kwargs, context=deadline_context()))
    await first
    await TwinNotifier(**kwargs, context=deadline_context())
    assert twin.requests[POST] == 1
    [text] = texts(twin)
    assert text.startswith("DAG nightly_crm missed its deadline (run scheduled__2026-01-28T02:00:00+00:00")
    assert "bulkId" in lines(log, "info")[0]


async def test_async_outage_is_logged_not_raised(twin: Twin) -> None:
    twin.fault(GET, status=503, times=5)
    twin.fault(POST, status=503, times=5)
    n = TwinNotifier(recipients=["+79991234567"], channels=["sms"], context=task_context())
    log = logged(n)
    await n
    assert twin.requests[POST] == 2
    assert "TwinServerError" in lines(log, "error")[0]


async def test_async_notify_uses_fields_as_they_are(twin: Twin) -> None:
    n = notifier(text="plain text")
    await n.async_notify(task_context())
    assert texts(twin) == ["plain text"]


def test_sync_call_inside_a_running_event_loop(twin: Twin) -> None:
    async def inside() -> None:
        notifier()(task_context())

    asyncio.run(inside())
    assert twin.requests[POST] == 1


def test_legacy_positional_arguments_do_not_raise(twin: Twin) -> None:
    n = notifier(text="x")
    log = logged(n)
    n(SimpleNamespace(dag_id="d", render_template_as_native_obj=False), [], [], [])
    assert twin.requests[POST] == 1
    assert not lines(log, "error")


@pytest.mark.twin_strict
@pytest.mark.parametrize("name", ["on_call", "crm_owner", "retry_warning"])
def test_the_docs_examples_are_valid_sends_for_strict_twin(twin: Twin, name: str) -> None:
    from tests.integration.dags import notifier_example

    example = getattr(notifier_example, name)
    log = logged(example)
    example({**task_context(), "var": {"value": {}}})  # no Airflow Variables: the default applies
    assert lines(log, "error") == []
    assert twin.counter("messages_created") == 1
