"""Message composition and validation (pure): specs, recipients, raw messages, files, sources."""

from __future__ import annotations

import gzip
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.messages.compose import (
    Campaign,
    MessageSpec,
    Problems,
    build_message,
    compile_spec,
    format_send_at,
    input_error,
    normalize_channels,
    normalize_email,
    normalize_message,
    normalize_phone,
    normalize_time_ranges,
    validate_recipient,
    validate_spec,
)
from airflow_provider_twin.client.messages.recipient_files import detect_format, iter_recipients_file
from airflow_provider_twin.client.messages.sources import MessageList, RecipientFile, RecipientList

UUID = "6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"


def campaign(**kwargs: Any) -> Campaign:
    kwargs.setdefault("channels", {"viber": {"from": "Shop"}, "sms": {"from": "Shop"}})
    if "template_id" not in kwargs:
        kwargs.setdefault("text", "Hello")
    return compile_spec(MessageSpec(**kwargs))


def destination(recipient: Any, spec: Campaign | None = None) -> tuple[Any, list[str]]:
    problems = Problems(keep=100)
    result = (spec or campaign()).destination(3, recipient, problems)
    return result, problems.first


# -- phones and e-mail ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("79991234567", "79991234567"),
        ("+7 (999) 123-45-67", "79991234567"),
        ("+44 20 7946 0958", "442079460958"),
        ("8\u00a0999\t1234567", "89991234567"),
        (79991234567, "79991234567"),
        ("+1 (415) 555\u20030100", "14155550100"),  # other Unicode spaces go too
        ("123456789", None),  # 9 digits
        ("1234567890123456", None),  # 16 digits
        ("7999123456a", None),
        ("7999.123.4567", None),  # dots are not stripped
        ("٧٩٩٩١٢٣٤٥٦٧", None),  # non-ASCII digits
        (-79991234567, None),
        (True, None),
        (7.9991234567e10, None),
        (None, None),
    ],
)
def test_phone_normalisation(raw: Any, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  Ann.Lee+tag@mail.example.co.uk ", "Ann.Lee+tag@mail.example.co.uk"),
        ("ann@localhost", None),
        ("ann@@example.com", None),
        ("ann example@example.com", None),
        ("@example.com", None),
        ("ann@example.", None),
        ("a" * 65 + "@example.com", None),
        ("a@" + "b" * 250 + ".com", None),
        (42, None),
    ],
)
def test_email_shape(raw: Any, expected: str | None) -> None:
    assert normalize_email(raw) == expected


# -- send time and windows -----------------------------------------------------------------------
def test_send_at_must_be_aware() -> None:
    aware = datetime(2026, 2, 1, 10, 0, tzinfo=timezone(timedelta(hours=3)))
    assert format_send_at(aware) == ("2026-02-01T10:00:00+03:00", None)
    assert format_send_at(pendulum.datetime(2026, 2, 1, 7, tz="UTC")) == ("2026-02-01T07:00:00+00:00", None)
    assert format_send_at("2026-02-01T07:00:00Z") == ("2026-02-01T07:00:00+00:00", None)
    assert format_send_at("2026-02-01T10:00:00.123+03:00")[0] == "2026-02-01T10:00:00+03:00"
    for naive in (datetime(2026, 2, 1, 10), "2026-02-01T10:00:00"):
        iso, problem = format_send_at(naive)
        assert iso is None
        assert "no timezone" in str(problem)
    assert "not an ISO-8601" in str(format_send_at("tomorrow")[1])
    assert "got int" in str(format_send_at(1700000000)[1])


def test_time_ranges() -> None:
    assert normalize_time_ranges(None) == (None, [])
    assert normalize_time_ranges(["9:00:00", "21:00:00"]) == ([["09:00:00", "21:00:00"]], [])
    ranges, problems = normalize_time_ranges([("00:00:00", "03:59:59"), ["06:00:00", "13:59:59"]])
    assert ranges == [["00:00:00", "03:59:59"], ["06:00:00", "13:59:59"]]
    assert not problems
    _, problems = normalize_time_ranges(
        [["22:00:00", "06:00:00"], ["9:00", "10:00:00"], ["24:00:00", "25:00:00"]]
    )
    assert "split a window that crosses midnight" in problems[0]
    assert problems[1].startswith("allowed_time_ranges[1]: times must be HH:MM:SS")
    assert problems[2].startswith("allowed_time_ranges[2]")
    assert normalize_time_ranges("09:00:00-21:00:00")[1][0].startswith("allowed_time_ranges: expected a list")
    assert "expected a [from, to] pair" in normalize_time_ranges([["09:00:00"]])[1][0]


# -- channels ------------------------------------------------------------------------------------
def test_channels_keep_order_and_lower_case_names() -> None:
    channels, problems = normalize_channels({"Viber": {"from": "Shop", "required": True}, "SMS": None})
    assert not problems
    assert list(channels) == ["viber", "sms"]
    assert channels["viber"] == {"from": "Shop", "required": True}
    assert normalize_channels(["whatsapp", "sms"])[0] == {"whatsapp": {}, "sms": {}}
    assert normalize_channels("sms")[0] == {"sms": {}}


def test_every_seed_channel_is_known() -> None:
    names = ["sms", "email", "push", "whatsapp", "viber", "telegram", "vkontakte", "odnoklassniki", "chat"]
    channels, problems = normalize_channels(names)
    assert list(channels) == names
    assert not problems


@pytest.mark.parametrize(
    ("channels", "fragment"),
    [
        (None, "name at least one channel"),
        ({}, "name at least one channel"),
        ({"fax": {}}, "channels.fax: unknown channel"),
        ({"sms": {}, "SMS": {}}, "channels.SMS: channel listed twice"),
        ({"sms": {"form": "Shop"}}, "channels.sms.form: unknown channel field"),
        ({"sms": {"validityPeriod": 0}}, "channels.sms.validityPeriod: 0 is outside 1-2880"),
        ({"sms": {"validityPeriod": 2881}}, "outside 1-2880"),
        ({"sms": {"validityPeriod": "60"}}, "channels.sms.validityPeriod: must be a int"),
        ({"sms": {"required": "yes"}}, "channels.sms.required: must be a bool"),
        ({"sms": {"text": True}}, "channels.sms.text: must not be a boolean"),
        ({"sms": "hello"}, "channels.sms: expected an object"),
        (
            {"vkontakte": {"attachments": [f"photo-1_{i}" for i in range(11)]}},
            "11 attachments, VK allows at most 10",
        ),
        ({"vkontakte": {"attachments": ["picture-1_2"]}}, "is not <type><owner_id>_<media_id>"),
        ({"vkontakte": {"attachments": [1]}}, "must be a list of strings"),
        ({"chat": {"chatId": "chat-1"}}, "channels.chat.chatId: 'chat-1' is not a UUID"),
        ({"chat": {"chatId": UUID, "sessionTtl": 50000}}, "sessionTtl: 50000 is outside 1-43200"),
        (42, "expected a mapping channel -> settings"),
    ],
)
def test_channel_problems(channels: Any, fragment: str) -> None:
    _, problems = normalize_channels(channels)
    assert any(fragment in problem for problem in problems), problems


def test_vk_attachments_within_limit_pass() -> None:
    attachments = ["video-85635407_165186811", "wall-92255884_16"] + [f"photo1_{i}" for i in range(8)]
    assert normalize_channels({"vkontakte": {"attachments": attachments, "text": "x"}})[1] == []


# -- shared settings -----------------------------------------------------------------------------
def test_spec_needs_something_to_send() -> None:
    problems = validate_spec(MessageSpec(channels={"sms": {}, "viber": {"text": "own"}, "chat": {}}))
    assert problems == [
        "channels.sms: nothing to send; set text, template_id or its own text/templateName",
        "channels.chat: nothing to send; set text, template_id or the chat's chatId",
    ]
    assert validate_spec(MessageSpec(channels={"chat": {"chatId": UUID}})) == []
    assert validate_spec(MessageSpec(channels={"whatsapp": {"templateName": "t"}})) == []
    assert validate_spec(MessageSpec(channels=["sms"], template_id=UUID)) == []


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"text": "Hi", "template_id": UUID}, "give text or template_id, not both"),
        ({"template_id": "welcome"}, "template_id: 'welcome' is not a TWIN template id"),
        ({"text": 42}, "text: must be a string"),
        ({"text": "x", "validity_period": 0}, "validity_period: must be 1-2880 minutes"),
        ({"text": "x", "validity_period": True}, "validity_period"),
        ({"text": "x", "send_at": "2026-02-01T10:00:00"}, "send_at: 2026-02-01T10:00:00 has no timezone"),
        ({"text": "x", "allowed_time_ranges": [["21:00:00", "09:00:00"]]}, "allowed_time_ranges[0]"),
        ({"text": "x", "use_short_links": "yes"}, "use_short_links: must be a boolean"),
        ({"text": "x", "callback_url": "ftp://x"}, "callback_url: 'ftp://x' is not an http(s) URL"),
        ({"text": "x", "callback_url": "https://x/" + "a" * 4000}, "callback_url: longer than 4000 bytes"),
        ({"text": "x", "callback_data": "d" * 10241}, "callback_data: longer than 10240 bytes"),
        ({"text": "x", "callback_data": 5}, "callback_data: must be a string or an object"),
        ({"text": "x", "group_id": "campaign-1"}, "group_id: 'campaign-1' is not a UUID"),
        ({"text": "x", "variables": {"a": [1]}}, "variables.a: must be a string, number, boolean or null"),
        ({"text": "x", "variables": "nope"}, "variables: not a JSON object"),
    ],
)
def test_spec_problems(kwargs: dict[str, Any], fragment: str) -> None:
    problems = validate_spec(MessageSpec(channels=["sms"], **kwargs))
    assert any(fragment in problem for problem in problems), problems
    with pytest.raises(TwinInputError) as raised:
        compile_spec(MessageSpec(channels=["sms"], **kwargs))
    assert "nothing was sent" in str(raised.value)


def test_compiled_template_carries_every_setting() -> None:
    spec = campaign(
        channels={
            "viber": {"from": "Shop"},
            "sms": {"from": "Shop", "text": "own", "validityPeriod": 5},
            "chat": {"chatId": UUID},
        },
        text="Hello {{name}}",
        send_at=pendulum.datetime(2026, 2, 1, 7, tz="UTC"),
        allowed_time_ranges=[["9:00:00", "21:00:00"]],
        use_short_links=True,
        validity_period=60,
        callback_url="https://hooks.example.com/twin",
        callback_data={"campaign": "spring"},
        group_id=UUID,
        variables={"shop": "Example"},
    )
    assert spec.template == {
        "channels": {
            "viber": {"from": "Shop", "text": "Hello {{name}}", "validityPeriod": 60},
            "sms": {"from": "Shop", "text": "own", "validityPeriod": 5},
            "chat": {"chatId": UUID},
        },
        "groupId": UUID,
        "sendAt": "2026-02-01T07:00:00+00:00",
        "allowedTimeRanges": [["09:00:00", "21:00:00"]],
        "useShortLinks": True,
        "callbackUrl": "https://hooks.example.com/twin",
        "callbackData": '{"campaign":"spring"}',
    }
    assert spec.channels == ("viber", "sms", "chat")
    message = build_message(spec, [{"phone": "79990000000"}])
    assert message["destinations"] == [{"phone": "79990000000"}]
    assert message["channels"] is spec.template["channels"]


def test_template_id_replaces_text() -> None:
    spec = campaign(template_id=UUID)
    assert spec.template["templateId"] == UUID
    assert "text" not in spec.template["channels"]["sms"]


# -- recipients ----------------------------------------------------------------------------------
def test_recipient_is_normalised() -> None:
    spec = campaign(variables={"shop": "Example", "name": "friend"})
    result, problems = destination(
        {"phone": "+7 (999) 000-00-01", "email": " ann@example.com ", "var_name": "Ann", "clientId": "c-1"},
        spec,
    )
    assert problems == []
    assert result == {
        "phone": "79990000001",
        "email": "ann@example.com",
        "clientId": "c-1",
        "variables": {"shop": "Example", "name": "Ann"},
    }


def test_fast_and_full_paths_agree() -> None:
    """Recipients the fast path takes give the same destination as the full checks."""
    spec = campaign(variables={"shop": "X"})
    recipients = [
        {"phone": "79990000001"},
        {"phone": "+7 999 000-00-02", "variables": {"name": "Bo", "n": 2, "vip": True, "note": None}},
        {"email": "c@example.com", "phone": 79990000003, "var_name": "Cy"},
        {"messengerUserId": "tg-4", "platform": "ios", "pushRegistrationId": "p", "clientId": "c"},
        {"phone": "79990000005", "email": "", "clientId": None},
    ]
    for index, recipient in enumerate(recipients):
        fast, problems = destination(recipient, spec)
        assert problems == []
        full, _ = destination(dict(recipient, variables=recipient.get("variables"), externalId=None), spec)
        assert fast == full, index


def test_recipient_variables_merge_in_order() -> None:
    spec = campaign(variables={"a": "shared", "b": "shared"})
    result, _ = destination({"phone": "79990000001", "var_b": "column", "variables": {"c": 1}}, spec)
    assert result["variables"] == {"a": "shared", "b": "column", "c": 1}
    result, _ = destination({"phone": "79990000001", "variables": {"b": "object"}, "var_b": "column"}, spec)
    assert result["variables"]["b"] == "object"  # the variables object wins over var_ columns
    result, _ = destination({"phone": "79990000001", "variables": '{"b": "json"}'}, spec)
    assert result["variables"]["b"] == "json"
    original = {"name": "Ann"}
    destination({"phone": "79990000001", "variables": original, "var_x": "y"}, spec)
    assert original == {"name": "Ann"}  # never mutated


def test_bare_strings_are_phones_or_emails() -> None:
    spec = campaign(channels=["sms", "email"])
    assert destination("+7 999 000 00 01", spec)[0] == {"phone": "79990000001"}
    assert destination("ann@example.com", spec)[0] == {"email": "ann@example.com"}
    assert destination(79990000001, spec)[0] == {"phone": "79990000001"}


@pytest.mark.parametrize(
    ("recipient", "fragment"),
    [
        ({"phone": "12-34"}, "recipients[3].phone: '12-34' is not a phone number (10-15 digits"),
        ({"email": "ann"}, "recipients[3].email: 'ann' is not an e-mail address"),
        ({"phone": "79990000001", "nmae": "Ann"}, "recipients[3].nmae: unknown recipient field"),
        (
            {"email": "ann@example.com"},
            "recipients[3]: no destination for channel(s) viber, sms; give clientId, messengerUserId, phone",
        ),
        ({"pushRegistrationId": "p"}, "no destination for channel(s) viber, sms"),
        ({}, "recipients[3]: no destination"),
        (
            {"phone": "79990000001", "variables": {"a": {"b": 1}}},
            "recipients[3].variables.a: must be a string",
        ),
        ({"phone": "79990000001", "var_a": [1]}, "recipients[3].var_*.a: must be a string"),
        ({"phone": "79990000001", "variables": ["a"]}, "recipients[3].variables: expected an object"),
        ({"phone": "79990000001", "clientId": 1.5}, "recipients[3].clientId: must be a string, got float"),
        (
            {"phone": "79990000001", "externalId": "x" * 10241},
            "recipients[3].externalId: longer than 10240 bytes",
        ),
        (["79990000001"], "recipients[3]: expected an object with phone, email, ... got list"),
        (None, "recipients[3]: expected an object"),
    ],
)
def test_recipient_problems_name_index_and_field(recipient: Any, fragment: str) -> None:
    result, problems = destination(recipient)
    assert result is None
    assert any(fragment in problem for problem in problems), problems
    assert validate_recipient(3, recipient, campaign()) == problems


def test_channels_decide_which_fields_reach_a_recipient() -> None:
    email_only = campaign(channels=["email"])
    assert destination({"email": "a@example.com"}, email_only)[1] == []
    assert destination({"phone": "79990000001"}, email_only)[1] != []
    push = campaign(channels=["push"])
    assert destination({"pushRegistrationId": "tok"}, push)[1] == []
    chat = campaign(channels={"chat": {"chatId": UUID}})
    assert destination({"externalId": "crm-1"}, chat)[1] == []
    assert destination({"clientId": "c-1"}, email_only)[1] == []  # a platform client: TWIN knows its contacts


def test_problems_keep_twenty_and_count_the_rest() -> None:
    problems = Problems()
    problems.extend(f"p{i}" for i in range(25))
    assert problems.count == 25
    assert problems.lines() == [f"p{i}" for i in range(20)] + ["... and 5 more"]
    error = problems.error("recipients")
    assert error.problems == problems.lines()
    assert str(error).startswith("25 problems in recipients; nothing was sent:\n- p0\n")
    assert input_error(["only"], "x").problems == ["only"]
    assert str(input_error(["only"], "x")).startswith("1 problem in x")


# -- raw messages --------------------------------------------------------------------------------
def test_raw_message_is_validated_and_normalised() -> None:
    problems = Problems()
    message = {
        "destinations": [{"phone": "+7 999 000 00 01", "variables": {"name": "Ann"}}],
        "channels": {"SMS": {"from": "Shop", "text": "Hi {{name}}"}},
        "sendAt": "2026-02-01T10:00:00+03:00",
        "validate": False,
        "groupId": UUID,
    }
    result = normalize_message(0, message, problems)
    assert not problems
    assert result == {
        "destinations": [{"phone": "79990000001", "variables": {"name": "Ann"}}],
        "channels": {"sms": {"from": "Shop", "text": "Hi {{name}}"}},
        "sendAt": "2026-02-01T10:00:00+03:00",
        "validate": False,
        "groupId": UUID,
    }


def test_raw_message_problems() -> None:
    problems = Problems(keep=100)
    assert normalize_message(2, {"destinations": [], "channels": {"sms": {"text": "x"}}}, problems) is None
    assert normalize_message(3, {"channels": {"fax": {}}, "destination": []}, problems) is None
    assert normalize_message(4, "hello", problems) is None
    bad = {
        "destinations": [{"phone": "1"}, {"phone": "79990000001"}, {"email": "x"}],
        "channels": {"sms": {"text": "x"}},
    }
    assert normalize_message(5, bad, problems, first_recipient=10) is None
    assert problems.first == [
        "messages[2].destinations: expected a non-empty list of recipients",
        "messages[3].destination: unknown message field; known fields: allowedTimeRanges, callbackData, "
        "callbackUrl, channels, destinations, groupId, sendAt, templateId, useShortLinks, validate",
        "messages[3]: channels.fax: unknown channel; use one of sms, email, push, whatsapp, viber, "
        "telegram, vkontakte, odnoklassniki, chat",
        "messages[4]: expected a TWIN message object, got str",
        "messages[5].destinations[0] (recipient 10).phone: '1' is not a phone number "
        "(10-15 digits with country code)",
        "messages[5].destinations[2] (recipient 12).email: 'x' is not an e-mail address",
    ]


# -- files ---------------------------------------------------------------------------------------
def rows(path: Path, file_format: str | None = None) -> list[tuple[int, Any, Any]]:
    return [tuple(row) for row in iter_recipients_file(path, file_format)]


def test_csv_columns_and_variables(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "\ufeffPhone,EMAIL,clientid,var_First_Name,variables\n"
        '+7 999 000-00-01,ann@example.com,,Ann,"{""order"": 7}"\n'
        "\n"
        "79990000002,,c-2,Bob,\n",
        encoding="utf-8",
    )
    assert rows(path) == [
        (
            2,
            {
                "phone": "+7 999 000-00-01",
                "email": "ann@example.com",
                "var_First_Name": "Ann",
                "variables": '{"order": 7}',
            },
            None,
        ),
        (4, {"phone": "79990000002", "clientId": "c-2", "var_First_Name": "Bob"}, None),
    ]
    spec = campaign()
    assert destination(rows(path)[0][1], spec)[0] == {
        "phone": "79990000001",
        "email": "ann@example.com",
        "variables": {"First_Name": "Ann", "order": 7},
    }


@pytest.mark.parametrize(("name", "delimiter"), [("a.csv", ";"), ("a.tsv", "\t"), ("a.csv", "\t")])
def test_csv_delimiters(tmp_path: Path, name: str, delimiter: str) -> None:
    path = tmp_path / name
    path.write_text(f"phone{delimiter}var_x\n79990000001{delimiter}a,b\n", encoding="utf-8")
    assert rows(path) == [(2, {"phone": "79990000001", "var_x": "a,b"}, None)]


def test_csv_errors(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("phone,name,age\n1,2,3\n", encoding="utf-8")
    with pytest.raises(TwinInputError, match=r"unknown column\(s\) 'name', 'age'"):
        rows(path)
    path.write_text("phone,Phone\n", encoding="utf-8")
    with pytest.raises(TwinInputError, match="appears twice"):
        rows(path)
    path.write_text("", encoding="utf-8")
    with pytest.raises(TwinInputError, match="empty"):
        rows(path)
    path.write_text("phone\n79990000001,extra\n", encoding="utf-8")
    assert rows(path) == [(2, None, "2 cells but the header has 1 columns")]


def test_jsonl_rows(tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text(
        '{"phone": "79990000001", "variables": {"n": 1}}\n\n{oops\n[1]\n{"email": "a@b.cd"}\n',
        encoding="utf-8",
    )
    assert rows(path) == [
        (1, {"phone": "79990000001", "variables": {"n": 1}}, None),
        (3, None, "not valid JSON (Expecting property name enclosed in double quotes)"),
        (4, None, "expected a JSON object, got list"),
        (5, {"email": "a@b.cd"}, None),
    ]
    path.write_text('[{"phone": "79990000001"}]\n', encoding="utf-8")
    with pytest.raises(TwinInputError, match="JSON array cannot be streamed"):
        rows(path)


def test_gzip_and_formats(tmp_path: Path) -> None:
    path = tmp_path / "people.ndjson.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write('{"phone": "79990000001"}\n')
    assert rows(path) == [(1, {"phone": "79990000001"}, None)]
    assert detect_format("x.CSV") == ("csv", False)
    assert detect_format("x.json.gz") == ("jsonl", True)
    assert detect_format("x.txt", "ndjson") == ("jsonl", False)
    with pytest.raises(TwinInputError, match="cannot tell the format"):
        detect_format("x.txt")
    with pytest.raises(TwinInputError, match="not one of csv, jsonl"):
        detect_format("x.csv", "xlsx")


def test_openable_sources_are_opened_by_themselves() -> None:
    class Remote:
        opened = 0

        def open(self, mode: str = "r") -> io.BytesIO:
            assert mode == "rb"
            Remote.opened += 1
            return io.BytesIO(b"phone\n79990000001\n")

        def __str__(self) -> str:
            return "s3://bucket/people.csv"

    assert [row.recipient for row in iter_recipients_file(Remote())] == [{"phone": "79990000001"}]
    assert Remote.opened == 1


# -- sources -------------------------------------------------------------------------------------
def test_file_source_validates_all_then_streams_chunks(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("phone\n" + "".join(f"7999{i:07d}\n" for i in range(25)), encoding="utf-8")
    source = RecipientFile(campaign(), path)
    problems = Problems()
    source.validate(problems)
    assert (source.total, problems.count) == (25, 0)
    chunks = list(source.chunks(10, lambda index: f"bulk-{index}"))
    assert [(c.index, c.bulk_id, c.first_index, c.size) for c in chunks] == [
        (0, "bulk-0", 0, 10),
        (1, "bulk-1", 10, 10),
        (2, "bulk-2", 20, 5),
    ]
    assert chunks[2].messages[0]["destinations"][0] == {"phone": "79990000020"}


def test_file_source_reports_rows_with_line_and_index(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("phone\n79990000001\nbad\n79990000003,x\n", encoding="utf-8")
    source = RecipientFile(campaign(), path)
    problems = Problems()
    source.validate(problems)
    assert problems.first == [
        "recipients_file line 3 (recipient 1).phone: 'bad' is not a phone number "
        "(10-15 digits with country code)",
        "recipients_file line 4 (recipient 2): 2 cells but the header has 1 columns",
    ]


def test_file_changed_between_passes_stops_the_send(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("phone\n79990000001\n79990000002\n", encoding="utf-8")
    source = RecipientFile(campaign(), path)
    problems = Problems()
    source.validate(problems)
    path.write_text("phone\n79990000001\nbroken\n", encoding="utf-8")
    with pytest.raises(TwinInputError, match="changed while it was being sent"):
        list(source.chunks(1, str))
    path.write_text("phone\n79990000001\n", encoding="utf-8")
    with pytest.raises(TwinInputError, match="1 rows now, 2 before"):
        list(source.chunks(5, str))


def test_empty_sources_are_problems(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("phone\n", encoding="utf-8")
    found = []
    for source in (RecipientList(campaign(), []), RecipientFile(campaign(), path), MessageList([])):
        problems = Problems()
        source.validate(problems)
        found.extend(problems.first)
    assert found == [
        "recipients: the list is empty; there is nobody to send to",
        "recipients_file: the file holds no recipients",
        "messages: the list is empty; there is nothing to send",
    ]


def test_list_sources_accept_json_strings() -> None:
    problems = Problems()
    source = RecipientList(campaign(), json.dumps([{"phone": "79990000001"}]))
    source.validate(problems)
    assert source.total == 1
    with pytest.raises(TwinInputError, match="a string must hold a JSON list"):
        RecipientList(campaign(), "not json").validate(problems)
    with pytest.raises(TwinInputError, match="expected a list, got dict"):
        RecipientList(campaign(), {"phone": "79990000001"}).validate(problems)


def test_message_source_splits_and_packs_by_destinations() -> None:
    channels = {"sms": {"text": "x"}}
    messages = [
        {
            "destinations": [{"phone": f"7999000{i:04d}"} for i in range(3)],
            "channels": channels,
            "groupId": UUID,
        },
        {
            "destinations": [{"phone": f"7998000{i:04d}"} for i in range(15)],
            "channels": channels,
            "groupId": UUID,
        },
    ]
    source = MessageList(messages)
    problems = Problems()
    source.validate(problems)
    assert (source.total, source.group_id, problems.count) == (18, UUID, 0)
    chunks = list(source.chunks(10, str))
    assert [[len(m["destinations"]) for m in c.messages] for c in chunks] == [[3, 7], [8]]
    assert [(c.first_index, c.size) for c in chunks] == [(0, 10), (10, 8)]
    assert chunks[1].destinations[0] == {"phone": "79980000007"}
