"""Sends hold to what TWIN's notify guide (seed 000) makes explicit, checked against the strict
emulator: per-channel required fields, the default sender, finite numbers, clean addresses."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.core.calls import ApiCall
from airflow_provider_twin.client.messages import MessageSpec, compile_spec, plan_send
from tests.unit.messages.send.conftest import Twin
from tests.unit.messages.send.operator_runs import cancel, context, logged, operator
from tests.unit.messages.twin_wire import POST

UUID = "6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"
IDENTITY = ("campaign", "manual__1", "send", -1)
PHONE = {"phone": "79990000001"}


def refused(**settings: Any) -> str:
    """The error text of a send of ``settings`` to one phone (``recipients`` may override)."""
    recipients = settings.pop("recipients", [PHONE])
    with pytest.raises(TwinInputError) as caught:
        plan_send(IDENTITY, settings, recipients=recipients)
    return str(caught.value)


# -- 1. per-channel required fields --------------------------------------------------------------
def test_chat_channel_needs_chat_id_and_session_name() -> None:
    text = refused(channels={"chat": {}}, text="hi")
    assert "channels.chat.chatId" in text
    assert "channels.chat.chatSessionName" in text


def test_chat_channel_needs_them_with_a_template_too() -> None:
    text = refused(channels={"chat": {"chatId": UUID}}, template_id=UUID)
    assert "channels.chat.chatSessionName" in text


def test_a_messenger_template_name_is_no_text() -> None:
    assert "channels.whatsapp.text" in refused(channels={"whatsapp": {"templateName": "order"}})


def test_vkontakte_needs_its_template_name() -> None:
    assert "channels.vkontakte.templateName" in refused(channels={"vkontakte": {}}, text="hi")


def test_session_ttl_is_no_field_of_the_notify_chat_channel() -> None:
    chat = {"chatId": UUID, "chatSessionName": "orders", "sessionTtl": 600}
    assert "channels.chat.sessionTtl: unknown channel field" in refused(channels={"chat": chat}, text="hi")


@pytest.mark.twin_strict
def test_a_chat_send_is_accepted_by_strict_twin_and_carries_the_text(twin: Twin) -> None:
    chat = {"chatId": UUID, "chatSessionName": "orders"}
    summary = operator(recipients=[PHONE], channels={"chat": chat, "sms": {}}, text="hi").execute(context())
    assert summary["accepted"] == 1
    [body] = twin.wire.bodies[POST]
    assert body["messages"][0]["channels"]["chat"] == {**chat, "text": "hi"}


# -- 2. the sender ---------------------------------------------------------------------------------
@pytest.mark.twin_strict
def test_from_defaults_to_twin_service(twin: Twin) -> None:
    operator(recipients=[PHONE], channels={"viber": {}, "sms": {"from": "Shop"}}).execute(context())
    [body] = twin.wire.bodies[POST]
    channels = body["messages"][0]["channels"]
    assert channels["viber"]["from"] == "TwinService"
    assert channels["sms"]["from"] == "Shop"


def test_an_empty_from_is_refused() -> None:
    assert "channels.sms.from" in refused(channels={"sms": {"from": " "}}, text="hi")


# -- 3. non-finite numbers --------------------------------------------------------------------------
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_variables_are_refused_naming_recipient_and_variable(value: float) -> None:
    clean = [{"phone": f"7999000000{i}", "var_n": 1.5} for i in range(5)]
    text = refused(channels={"sms": {}}, text="hi", recipients=[*clean, {**PHONE, "var_n": value}])
    assert "recipients[5]" in text
    assert "n" in text
    assert "finite" in text
    text = refused(channels={"sms": {}}, text="hi", recipients=[{**PHONE, "variables": {"n": value}}])
    assert "recipients[0].variables.n" in text
    text = refused(channels={"sms": {}}, text="hi", variables={"n": value})
    assert "variables.n" in text


def test_nan_from_a_recipients_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text('{"phone": "79990000001", "var_n": 1}\n{"phone": "79990000002", "var_n": NaN}\n')
    with pytest.raises(TwinInputError, match=r"line 2 \(recipient 1\).*n.*finite"):
        plan_send(IDENTITY, {"channels": {"sms": {}}, "text": "hi"}, recipients_file=path)


def test_the_request_encoder_refuses_non_finite_numbers(twin: Twin) -> None:
    config = twin.config()
    from airflow_provider_twin.client import TwinClient

    call: ApiCall[Any] = ApiCall(
        "POST", "notify", "/messages", description="x", parse=lambda body: body, json={"n": math.nan}
    )
    with TwinClient(config) as client, pytest.raises(TwinInputError, match="finite"):
        client.engine.build_request(call, None)


# -- 4. invisible characters in e-mail addresses ----------------------------------------------------
@pytest.mark.parametrize("char", ["\u200b", "\u2060", "\ufeff", "\u00ad"])
def test_an_email_with_an_invisible_character_is_refused(char: str) -> None:
    clean = [{"email": f"user{i}@example.com"} for i in range(5)]
    bad = {"email": f"ann{char}@example.com"}
    for recipients, index in (([bad], 0), ([*clean, bad], 5)):
        text = refused(channels={"email": {"subject": "Hi"}}, text="hi", recipients=recipients)
        assert f"recipients[{index}].email" in text
        assert "invisible" in text


def test_compile_spec_still_accepts_clean_settings() -> None:
    campaign = compile_spec(MessageSpec(channels={"sms": {}}, text="hi"))
    assert campaign.template["channels"] == {"sms": {"from": "TwinService", "text": "hi"}}
    assert json.dumps(campaign.template)


# -- 9. missing files fail for good ------------------------------------------------------------------
def test_a_missing_recipients_file_fails_without_retry(twin: Twin, tmp_path: Path) -> None:
    task = operator(recipients_file=str(tmp_path / "absent.csv"))
    with pytest.raises(AirflowFailException, match="absent.csv"):
        task.execute(context())
    assert twin.requests[POST] == 0


def _without_credentials(twin: Twin, monkeypatch: pytest.MonkeyPatch) -> None:
    connection = twin.emulator.connection
    connection.pop("login", None)
    connection.pop("password", None)
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(connection))


def test_a_connection_without_credentials_fails_a_send_without_retry(
    twin: Twin, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_credentials(twin, monkeypatch)
    with pytest.raises(AirflowFailException, match="twin_default"):
        operator(recipients=[PHONE]).execute(context())
    assert twin.admin.requests() == []


def test_a_connection_without_credentials_fails_a_cancel_without_retry(
    twin: Twin, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_credentials(twin, monkeypatch)
    with pytest.raises(AirflowFailException, match="twin_default"):
        cancel(bulk_ids=[UUID]).execute(context())
    assert twin.admin.requests() == []


# -- 8. non-finite numbers in operator arguments ------------------------------------------------------
@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"max_requests_per_second": math.nan}, "max_requests_per_second"),
        ({"progress_interval": math.inf}, "progress_interval"),
        ({"settle_seconds": math.nan}, "settle_seconds"),
        ({"validity_period": math.nan}, "validity_period"),
        ({"batch_size": math.nan}, "batch_size"),
        ({"variables": {"amount": math.nan}}, "variables.amount"),
        ({"recipients": [PHONE, {**PHONE, "var_n": -math.inf}]}, "recipients[1].var_n"),
    ],
)
def test_non_finite_send_arguments_are_refused_at_construction(arguments: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named) + ".*finite"):
        operator(**{"recipients": [PHONE], **arguments})


@pytest.mark.parametrize("name", ["max_ids_per_request", "max_message_ids_in_xcom"])
def test_non_finite_cancel_arguments_are_refused_at_construction(name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}.*finite"):
        cancel(bulk_ids=[UUID], **{name: math.nan})


@pytest.mark.parametrize("name", ["connect_timeout", "read_timeout"])
def test_non_finite_notifier_timeouts_are_refused_at_construction(name: str) -> None:
    from airflow_provider_twin.notifications.twin import TwinNotifier

    with pytest.raises(ValueError, match=name):
        TwinNotifier(recipients=[PHONE], channels={"sms": {}}, **{name: math.nan})


# -- 6. TWIN variables the text uses ----------------------------------------------------------------
def test_a_recipient_without_a_value_for_a_used_variable_is_refused() -> None:
    clean = [{"phone": f"7999000000{i}", "var_name": f"P{i}"} for i in range(5)]
    for recipients in (
        [*clean, PHONE],
        [*clean, {**PHONE, "var_name": ""}],
        [*clean, {**PHONE, "variables": {}}],
    ):
        text = refused(
            channels={"sms": {}},
            text="Hi {{ name }}, {{order}}",
            variables={"order": "A-1"},
            recipients=recipients,
        )
        assert "recipients[5]" in text
        assert "name" in text
        assert "order" not in text.split("recipients[5]")[1].split("\n")[0]


def test_a_variable_no_recipient_has_is_refused_for_each_and_in_raw_messages() -> None:
    assert "recipients[0]" in refused(channels={"sms": {"text": "Hi {{name}}"}}, recipients=[PHONE])
    message = {"destinations": [PHONE], "channels": {"sms": {"text": "Hi {{name}}"}}}
    with pytest.raises(TwinInputError, match=r"messages\[0\]\.destinations\[0\].*name"):
        plan_send(IDENTITY, {}, messages=[message])


def test_variable_default_fills_what_a_recipient_lacks(twin: Twin) -> None:
    recipients = [{**PHONE, "var_name": "Ann"}, {"phone": "79990000002"}]
    operator(recipients=recipients, text="Hi {{name}}", variable_default="friend").execute(context())
    [body] = twin.wire.bodies[POST]
    destinations = body["messages"][0]["destinations"]
    assert [d["variables"] for d in destinations] == [{"name": "Ann"}, {"name": "friend"}]


def test_clean_lists_with_used_variables_stay_on_the_column_wise_path() -> None:
    campaign = compile_spec(MessageSpec(channels={"sms": {}}, text="Hi {{name}}"))
    recipients = [{"phone": f"7999000000{i}", "var_name": f"P{i}"} for i in range(5)]
    assert campaign.columns(recipients) is not None
    assert campaign.columns([*recipients, PHONE]) is None


# -- 5. the same address written in different formats ----------------------------------------------
SAME_PHONE = ["+7 999 000-00-01", "79990000001", "7 (999) 000 00 01"]


@pytest.mark.parametrize("extra", [0, 5])
def test_the_same_phone_in_other_formats_is_sent_once_and_counted(twin: Twin, log: Any, extra: int) -> None:
    others = [f"7999111111{i}" for i in range(extra)]
    summary = operator(recipients=[*SAME_PHONE, *others, "79990000002"]).execute(context())
    assert summary["total"] == summary["accepted"] == 2 + extra
    assert summary["duplicates_merged"] == 2
    phones = [
        d["phone"] for body in twin.wire.bodies[POST] for m in body["messages"] for d in m["destinations"]
    ]
    assert sorted(phones) == sorted(["79990000001", *others, "79990000002"])
    assert any("2 recipient(s)" in line and "merged" in line for line in logged(log, "warning"))


def test_deduplicate_false_sends_every_recipient(twin: Twin) -> None:
    summary = operator(recipients=SAME_PHONE, deduplicate=False).execute(context())
    assert summary["total"] == 3
    assert summary["duplicates_merged"] == 0


def test_a_file_is_deduplicated_across_blocks(twin: Twin, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    rows = [f"7999{i:07d}" for i in range(2500)] + ["+7 999 000-00-07", "+7 999 000 24 99"]
    path.write_text("phone\n" + "\n".join(rows) + "\n")
    summary = operator(recipients_file=str(path)).execute(context())
    assert (summary["total"], summary["duplicates_merged"]) == (2500, 2)
    assert twin.counter("destinations_created") == 2500


# -- 7. text and request sizes ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("channels", "text", "named"),
    [
        ({"sms": {}}, "x" * 1522, "channels.sms.text"),  # over 10 GSM-7 parts
        ({"sms": {}}, "я" * 662, "channels.sms.text"),  # over 10 UCS-2 parts
        ({"viber": {}}, "x" * 1001, "channels.viber.text"),
        ({"telegram": {}}, "x" * 4097, "channels.telegram.text"),
        ({"email": {"subject": "Hi"}}, "x" * 3_000_000, "channels.email.text"),
        ({"sms": {"text": "x" * 2000}, "viber": {}}, "short", "channels.sms.text"),
    ],
)
def test_texts_over_a_channel_limit_are_refused(channels: dict[str, Any], text: str, named: str) -> None:
    recipients = [{"email": "a@example.com"}] if "email" in channels else [PHONE]
    assert named in refused(channels=channels, text=text, recipients=recipients)


def test_texts_at_the_limit_are_sent() -> None:
    compile_spec(MessageSpec(channels={"sms": {}}, text="x" * 1521))
    compile_spec(MessageSpec(channels={"viber": {}}, text="x" * 1000))


def test_chunks_are_cut_below_the_request_size_cap(twin: Twin) -> None:
    from airflow_provider_twin.client.messages.chunks import MAX_REQUEST_BYTES

    recipients = [{"phone": f"7999{i:07d}", "var_note": f"{i:04d}" + "n" * 2000} for i in range(1200)]
    first = operator(recipients=recipients).execute(context())
    sizes = [len(json.dumps(body, ensure_ascii=False).encode()) for body in twin.wire.bodies[POST]]
    assert max(sizes) <= MAX_REQUEST_BYTES
    assert len(sizes) > 2
    assert twin.counter("destinations_created") == 1200
    again = operator(recipients=recipients).execute(context(try_number=2))
    assert again["bulk_ids"] == first["bulk_ids"]
    assert again["skipped"] == 1200


def test_an_email_channel_gets_no_sender_name() -> None:
    campaign = compile_spec(MessageSpec(channels={"email": {"subject": "Hi"}, "sms": {}}, text="hi"))
    assert "from" not in campaign.template["channels"]["email"]
    assert campaign.template["channels"]["sms"]["from"] == "TwinService"
