"""An approval conversation's approvers, session names, texts and Notify messages."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from airflow_provider_twin.client import (
    AsyncTwinClient,
    TwinClient,
    TwinInputError,
    chat_message_procedure,
    send_chat,
)
from airflow_provider_twin.client.chat import (
    MAX_CHAT_TEXT,
    MAX_SESSION_NAME,
    Approver,
    approver_from_json,
    chat_message,
    check_language,
    conversation_bulk_id,
    help_text,
    outcome_text,
    outcome_texts,
    parse_approvers,
    question_text,
    request_tag,
    session_lifetime_warning,
    session_name,
)
from airflow_provider_twin.client.chat.approval_texts import MAX_SUBJECT
from airflow_provider_twin.client.core.problems import Problems
from airflow_provider_twin.client.messages.campaign import normalize_message
from airflow_provider_twin.emulator import TwinEmulator
from tests.unit.chat.chat_fixtures import CHAT_ID, emulator_config

BOT_ID = "0b7e6c1a-2f3d-4e5a-9b8c-7d6e5f4a3b2c"


# -- approvers -------------------------------------------------------------------------------------
def test_approvers_are_phones_or_objects_with_a_chat_destination() -> None:
    approvers = parse_approvers(
        [
            "+7 (900) 123-45-67",
            {"messengerUserId": " tg-42 ", "name": "  Ann   Lee "},
            {"clientId": "c-1", "phone": "79007654321"},
            {"externalId": 1234},
        ]
    )
    assert [a.key for a in approvers] == [
        "phone:79001234567",
        "messengerUserId:tg-42",
        "phone:79007654321",
        "externalId:1234",
    ]
    assert [a.name for a in approvers] == ["+79001234567", "Ann Lee", "+79007654321", "1234"]
    assert approvers[0].destination == {"phone": "79001234567"}
    assert approvers[2].destination == {"clientId": "c-1", "phone": "79007654321"}
    assert [a.client_id for a in approvers] == [None, None, "c-1", None]


def test_approvers_come_from_a_rendered_list_or_a_comma_separated_string() -> None:
    assert [a.key for a in parse_approvers('["79001234567", {"clientId": "x"}]')] == [
        "phone:79001234567",
        "clientId:x",
    ]
    assert [a.key for a in parse_approvers("+79001234567; 8 900 765 43 21")] == [
        "phone:79001234567",
        "phone:89007654321",
    ]
    assert [a.key for a in parse_approvers({"phone": 79001234567})] == ["phone:79001234567"]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (None, "approvers: name at least one"),
        ([], "approvers: name at least one"),
        (["12"], "approvers[0].phone"),
        (["79001234567", "bad phone"], "approvers[1].phone"),
        ([{"email": "a@example.com"}], "approvers[0].email"),
        (["79001234567", "ann@example.com"], "approvers[1].email"),
        ([{"phone": "79001234567", "nick": "x"}], "approvers[0].nick"),
        ([{"name": "Ann"}], "approvers[0]: give one of phone"),
        ([{"clientId": True}], "approvers[0].clientId"),
        ([{"phone": "79001234567", "name": 5}], "approvers[0].name"),
        ([3.5], "approvers[0]: expected a phone"),
        (["+7 900 123 45 67", "79001234567"], "approvers[1]: the same approver as approvers[0]"),
        ([{"externalId": "x" * 10241}], "approvers[0].externalId"),
    ],
)
def test_bad_approvers_are_refused_naming_the_approver_and_field(value: Any, field: str) -> None:
    with pytest.raises(TwinInputError) as caught:
        parse_approvers(value)
    assert any(problem.startswith(field) for problem in caught.value.problems), caught.value.problems


def test_every_problem_of_the_approvers_is_listed_at_once() -> None:
    with pytest.raises(TwinInputError) as caught:
        parse_approvers(["1", {"email": "x@y.z"}, "79001234567"])
    assert [p.split(":")[0] for p in caught.value.problems] == ["approvers[0].phone", "approvers[1].email"]


def test_an_approver_round_trips_as_json() -> None:
    approver = parse_approvers([{"clientId": "c-1", "phone": "79001234567", "name": "Ann"}])[0]
    data = approver.to_json()
    assert json.loads(json.dumps(data)) == data
    assert approver_from_json(data) == approver
    assert approver_from_json(json.dumps(data)) == approver
    with pytest.raises(TwinInputError, match="approver"):
        approver_from_json({"key": "phone:1"})
    with pytest.raises(TwinInputError, match="approver"):
        approver_from_json({**data, "destination": {"phone": 1}})


# -- names and ids ---------------------------------------------------------------------------------
def test_a_session_name_is_the_approvers_own_and_the_same_on_every_try() -> None:
    ann, bob = parse_approvers(["79001234567", "79007654321"])
    name = session_name("ti-1", ann, "deploy, prod")
    assert name == session_name("ti-1", ann, "deploy, prod")
    assert name.startswith("Airflow approval · deploy prod · ")
    assert "," not in name
    assert len(name.rsplit(" · ", 1)[1]) == 12
    assert name != session_name("ti-1", bob, "deploy, prod")
    assert name != session_name("ti-2", ann, "deploy, prod")
    long = session_name("ti-1", ann, "x" * 1000)
    assert len(long) == MAX_SESSION_NAME
    assert long.endswith(name[-12:])
    assert session_name("ti-1", ann, "") == f"Airflow approval · {name[-12:]}"


def test_a_conversation_bulk_id_is_a_deterministic_uuid_per_request_approver_and_purpose() -> None:
    ann, bob = parse_approvers(["79001234567", "79007654321"])
    first = conversation_bulk_id("ti-1", ann, "question")
    assert first == conversation_bulk_id("ti-1", ann, "question")
    assert (
        len(
            {
                first,
                conversation_bulk_id("ti-1", bob, "question"),
                conversation_bulk_id("ti-1", ann, "outcome"),
            }
        )
        == 3
    )


# -- texts -----------------------------------------------------------------------------------------
def test_a_request_tag_is_short_starts_with_a_letter_and_is_the_request_s_own() -> None:
    tags = {request_tag(f"ti-{n}#1") for n in range(300)}
    assert len(tags) > 290
    assert all(re.fullmatch(r"#[A-Z][A-Z2-7]{3}", tag) for tag in tags)
    assert request_tag("ti-1#1") == request_tag("ti-1#1")
    assert request_tag("ti-1#1") != request_tag("ti-1#2")  # each try is its own request


def test_the_question_shows_subject_and_tag_body_numbered_options_and_the_link() -> None:
    tag = request_tag("ti-1#1")
    text = question_text(
        "Deploy?", "Build 42 passed.", ["Approve", "Reject"], False, "http://af/ui", "en", tag=tag
    )
    assert text == (
        f"Deploy? (ref {tag})\n\nBuild 42 passed.\n\nReply with the number or the text of an option:\n"
        "1. Approve\n2. Reject\n\n"
        f'If several questions are open, start the answer with the reference, e.g. "{tag} 1".\n\n'
        "Or answer in Airflow: http://af/ui"
    )
    russian = question_text("Выкатить?", None, ["Да", "Нет"], True, None, "RU", tag=tag).split("\n")
    assert russian[0] == f"Выкатить? (запрос {tag})"
    assert russian[2].startswith("Ответьте номерами или текстами одного или нескольких вариантов")
    assert russian[3:] == [
        "1. Да",
        "2. Нет",
        "",
        f"Если открыто несколько вопросов, укажите в начале ответа номер запроса, например: «{tag} 1».",
    ]


def test_help_and_outcomes_name_the_request_in_english_and_russian() -> None:
    ref = {"subject": "Deploy?", "tag": "#K7QZ"}
    assert help_text(["A", "B"], False, "en", **ref) == (
        "Deploy? (ref #K7QZ)\nPlease answer with the number or the text of an option:\n1. A\n2. B"
    )
    assert help_text(["A"], True, "ru", **ref).split("\n")[1].startswith("Пожалуйста, ответьте номерами")
    assert outcome_text("chat", ["Approve"], None, "en", **ref) == (
        "Deploy? (ref #K7QZ)\nRecorded: Approve. Thank you."
    )
    outcomes = [
        (("chat", ["A", "B"], None, "ru"), "Записано: A, B. Спасибо."),
        (("airflow", ["Reject"], "admin", "en"), "Already decided in Airflow by admin: Reject"),
        (("airflow", ["Reject"], None, "en"), "Already decided in Airflow: Reject"),
        (("airflow", ["Reject"], "admin", "ru"), "Уже решено в Airflow (admin): Reject"),
        (("timeout", ["Reject"], None, "en"), "No answer in time: Reject taken by default."),
        (("timeout", [], None, "ru"), "Ответ не получен вовремя."),
    ]
    for arguments, line in outcomes:
        assert outcome_text(*arguments, **ref).split("\n") == [
            "Deploy? (запрос #K7QZ)" if arguments[3] == "ru" else "Deploy? (ref #K7QZ)",
            line,
        ]
    assert (
        outcome_text("timeout", [], None, "en", subject=" ", tag="#K7QZ") == "ref #K7QZ\nNo answer in time."
    )
    with pytest.raises(TwinInputError, match="^kind"):
        outcome_text("later", [], None, "en", **ref)
    with pytest.raises(TwinInputError, match="^language"):
        check_language("de")
    assert check_language(" RU ") == "ru"


def test_each_approver_is_told_the_outcome_that_concerns_them() -> None:
    everyone = {"phone:1": "Anna", "phone:2": "Boris", "phone:3": "Vera"}
    ref: dict[str, Any] = {"approvers": everyone, "language": "en", "subject": "Deploy?", "tag": "#K7QZ"}
    told = outcome_texts("twin_chat", ["Approve"], "Boris (TWIN chat)", decided_by="phone:2", **ref)
    assert {key: text.split("\n")[1] for key, text in told.items()} == {
        "phone:1": "Already decided in TWIN chat by Boris: Approve",
        "phone:2": "Recorded: Approve. Thank you.",
        "phone:3": "Already decided in TWIN chat by Boris: Approve",
    }
    unknown = outcome_texts("twin_chat", ["Approve"], None, decided_by=None, **ref)  # a restarted wait
    assert set(unknown.values()) == {"Deploy? (ref #K7QZ)\nAlready decided in TWIN chat: Approve"}
    airflow = outcome_texts("airflow", ["Reject"], "admin", decided_by=None, **ref)
    assert set(airflow.values()) == {"Deploy? (ref #K7QZ)\nAlready decided in Airflow by admin: Reject"}
    russian: dict[str, Any] = {**ref, "language": "ru", "approvers": {"phone:1": "Анна", "phone:2": "Борис"}}
    timeout = outcome_texts("timeout", ["Нет"], None, decided_by=None, **russian)
    assert set(timeout.values()) == {
        outcome_text("timeout", ["Нет"], None, "ru", subject="Deploy?", tag="#K7QZ")
    }
    told_ru = outcome_texts("twin_chat", ["Да"], None, decided_by="phone:1", **russian)
    assert told_ru["phone:2"].split("\n")[1] == "Уже решено в чате TWIN (Анна): Да"
    with pytest.raises(TwinInputError, match="^answered_in"):
        outcome_texts("somewhere", [], None, decided_by=None, **ref)


def test_a_wait_longer_than_a_chat_session_lives_is_warned_of() -> None:
    assert session_lifetime_warning(1800) is None
    assert session_lifetime_warning(3600) is None
    two_hours = session_lifetime_warning(7200) or ""
    assert two_hours.startswith("a response_timeout of 2 h: longer than a chat session lives by default.")
    assert "1 h after their last activity by default, 12 h at most" in two_hours
    assert "not read: the approver answers in Airflow then" in two_hours
    assert (session_lifetime_warning(None) or "").startswith(
        "no response_timeout: longer than any chat session lives."
    )
    assert "longer than any chat session lives" in (session_lifetime_warning(13 * 3600) or "")


# -- the Notify message ----------------------------------------------------------------------------
def _message(approver: Approver, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "chat_id": CHAT_ID,
        "session_name": "Airflow approval · x · 0123456789ab",
        "text": "Deploy?",
        "continue_session": False,
        **overrides,
    }
    return chat_message(approver, **arguments)


def test_a_chat_message_is_one_chat_channel_message_the_send_checks_accept_unchanged() -> None:
    ann = parse_approvers([{"phone": "+7 900 123 45 67", "clientId": "c-1"}])[0]
    message = _message(ann, messenger_type=" WHATSAPP ", bot_id=BOT_ID, continue_session=True)
    assert message == {
        "destinations": [{"phone": "79001234567", "clientId": "c-1"}],
        "channels": {
            "chat": {
                "chatId": CHAT_ID,
                "chatSessionName": "Airflow approval · x · 0123456789ab",
                "text": "Deploy?",
                "continueLastOrStartNewSession": True,
                "messengerType": "WHATSAPP",
                "botId": BOT_ID,
            }
        },
    }
    problems = Problems()
    assert normalize_message(0, message, problems) == message
    assert not problems
    assert _message(ann)["channels"]["chat"]["continueLastOrStartNewSession"] is False


def test_a_long_text_is_cut_to_what_the_chat_carries() -> None:
    ann = parse_approvers(["79001234567"])[0]
    text = _message(ann, text="x" * 10000)["channels"]["chat"]["text"]
    assert len(text) == MAX_CHAT_TEXT
    assert text.endswith("…")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"chat_id": "chat-1"}, "chat_id"),
        ({"bot_id": "bot"}, "bot_id"),
        ({"messenger_type": " "}, "messenger_type"),
        ({"session_name": ""}, "session_name"),
        ({"session_name": "x" * 256}, "session_name"),
        ({"text": "  "}, "text"),
    ],
)
def test_a_bad_chat_message_is_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    ann = parse_approvers(["79001234567"])[0]
    with pytest.raises(TwinInputError) as caught:
        _message(ann, **overrides)
    assert [problem.split(":")[0] for problem in caught.value.problems] == [field]


def test_the_send_procedure_holds_the_message_to_the_send_checks() -> None:
    ann = parse_approvers(["79001234567"])[0]
    message = _message(ann)
    message["channels"]["chat"]["chatSessionName"] = " "
    with pytest.raises(TwinInputError, match="chatSessionName"):
        next(chat_message_procedure(message, "bulk"))


def test_a_chat_message_is_sent_once_by_either_client(twin_emulator: TwinEmulator) -> None:
    ann = parse_approvers(["79001234567"])[0]
    message = _message(ann)
    bulk_id = conversation_bulk_id("ti-1", ann, "question")
    config = emulator_config(twin_emulator)
    with TwinClient(config) as twin:
        first = twin.run(chat_message_procedure(message, bulk_id))
    assert first.status == "sent"
    assert not first.rejected

    async def again() -> str:
        client = AsyncTwinClient(config)
        try:
            return (await send_chat(client, message, bulk_id)).status
        finally:
            await client.aclose()

    assert asyncio.run(again()) == "already_sent"
    assert twin_emulator.admin.messages(bulkId=bulk_id)["count"] == 1


def test_a_long_subject_or_body_is_cut_never_the_tag_or_the_options() -> None:
    tag = request_tag("ti-1#1")
    text = question_text("Deploy " * 2000, "notes " * 2000, ["Approve", "Reject"], False, None, "en", tag=tag)
    assert len(text) <= MAX_CHAT_TEXT
    first = text.split("\n")[0]
    assert first.endswith(f"… (ref {tag})")
    assert len(first) <= MAX_SUBJECT + len(f" (ref {tag})")
    assert "\n1. Approve\n2. Reject\n" in text
    assert text.endswith(f'e.g. "{tag} 1".')
    assert (
        chat_message(
            parse_approvers(["79001234567"])[0],
            chat_id=CHAT_ID,
            session_name="s",
            text=text,
            continue_session=False,
        )["channels"]["chat"]["text"]
        == text
    )  # nothing more to cut
    helped = help_text(["Approve", "Reject"], False, "en", subject="Deploy " * 2000, tag=tag)
    assert helped.split("\n")[0].endswith(f"(ref {tag})")
