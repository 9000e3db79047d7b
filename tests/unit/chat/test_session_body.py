"""The chat session start request: deterministic session ids, field mapping and checks."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.chat import BODY_FIELDS, build_body, session_id_for, start_request

BOT_ID = "0d4e2c9a-1b3f-4a5e-8c7d-6f5e4d3c2b1a"


# -- session ids --------------------------------------------------------------------------------------
def test_session_id_is_deterministic_per_task_instance_and_key() -> None:
    base = session_id_for("dag", "run", "task", -1)
    assert base == session_id_for("dag", "run", "task", -1)
    assert uuid.UUID(base).version == 5
    others = {
        session_id_for("dag", "run2", "task", -1),
        session_id_for("dag", "run", "task2", -1),
        session_id_for("dag", "run", "task", 0),
        session_id_for("dag", "run", "task", -1, "lead-7"),
    }
    assert base not in others
    assert len(others) == 4


# -- request body -------------------------------------------------------------------------------------
def test_every_documented_field_maps_to_its_twin_name() -> None:
    values = {
        "name": "Lead 1",
        "bot_id": BOT_ID,
        "session_ttl": "7200",
        "messenger_type": "WHATSAPP",
        "messenger_user_id": "u-1",
        "message_body": "Hi",
        "message_attachments": ["a1"],
        "client_name_for_operator": "Ann",
        "client_id": "c-1",
        "client_external_id": "crm-1",
        "client_phone": "79990000001",
        "client_email": "ann@example.com",
        "client_device_id": "dev",
        "client_timezone": "180",
        "client_metadata": '{"plan": "gold"}',
        "return_answer_async": "true",
        "client_name": "Ann Lee",
        "client_first_name": "Ann",
        "client_middle_name": "M",
        "client_last_name": "Lee",
        "channel": "web",
        "referer": "https://example.com",
        "variables": {"x": 1},
        "callback_url": "https://hooks.example.com",
        "callback_data": "cb",
        "bot_node_id": "node-1",
        "event_callback_url": "https://hooks.example.com/events",
        "event_callback_data": "ev",
        "notify_on_events": "sessionClosed",
        "reply_to_message_id": "m-1",
    }
    assert set(values) == set(BODY_FIELDS)
    body = build_body(values, extra_body={"futureField": 1})
    assert body["sessionTtl"] == 7200
    assert body["clientTimezone"] == 180
    assert body["clientMetadata"] == {"plan": "gold"}
    assert body["returnAnswerAsync"] is True
    assert body["notifyOnEvents"] == ["sessionClosed"]
    assert body["futureField"] == 1
    assert build_body({"callback_data": {"lead": 7}})["callbackData"] == '{"lead":7}'
    assert {twin for twin, _ in BODY_FIELDS.values()} | {"futureField"} == set(body)


def test_empty_and_none_values_are_left_out() -> None:
    assert build_body({"name": None, "message_body": "", "session_ttl": None}) == {}


def test_every_problem_is_listed() -> None:
    with pytest.raises(TwinInputError) as info:
        build_body(
            {
                "session_ttl": 50000,
                "bot_id": "not-a-uuid",
                "client_email": "nope",
                "client_timezone": 1000,
                "client_metadata": [1, 2],
                "return_answer_async": "maybe",
                "message_attachments": "a1",  # a single id is fine
                "notify_on_events": [1],
            },
            extra_body={"sessionId": "x", "clientEmail": "ann@example.com"},
        )
    problems = "\n".join(info.value.problems)
    for expected in (
        "session_ttl: must be an integer from 1 to 43200",
        "bot_id: must be a UUID",
        "client_email: must be an e-mail",
        "client_timezone: must be an integer from -720 to 840",
        "client_metadata: must be an object",
        "return_answer_async: must be true or false",
        "notify_on_events: must be a list of strings",
        "extra_body: set the session id with session_id",
        "extra_body: clientEmail is also given",
    ):
        assert expected in problems
    assert len(info.value.problems) == 9


def test_the_request_checks_chat_and_session_ids_with_the_body() -> None:
    session_id = session_id_for("dag", "run", "task", -1)
    assert start_request("chat-1", session_id, {"name": "Lead"}) == (
        "chat-1",
        {"sessionId": session_id, "name": "Lead"},
    )
    with pytest.raises(TwinInputError) as info:
        start_request("", "not-a-uuid", {"session_ttl": 0})
    fields = [problem.split(":")[0] for problem in info.value.problems]
    assert fields == ["chat_id", "session_id", "session_ttl"]
    assert str(info.value).startswith("invalid chat session request: chat_id: must be a non-empty string; ")


def test_many_problems_list_the_first_twenty_then_a_count() -> None:
    wrong = {argument: 1 for argument in BODY_FIELDS}  # a number where most fields want text
    with pytest.raises(TwinInputError) as info:
        build_body(wrong, extra_body={"sessionId": "x"})
    problems = info.value.problems
    assert len(problems) == 21
    assert problems[-1].startswith("... and ")
    assert str(info.value).endswith(problems[-1])
