"""Campaign settings and recipients, validated before anything is sent: specs, channels, send
windows, addresses, variables, raw messages and the problems list."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pendulum
import pytest

from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.messages import Campaign, MessageSpec, Problems, compile_spec
from airflow_provider_twin.client.messages.addresses import normalize_email, normalize_phone
from airflow_provider_twin.client.messages.campaign import normalize_message, validate_spec
from airflow_provider_twin.client.messages.channels import normalize_channels
from airflow_provider_twin.client.messages.chunks import batch_message
from airflow_provider_twin.client.messages.send_windows import format_send_at, normalize_time_ranges

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
        ({"chat": {"chatId": UUID, "sessionTtl": 600}}, "chat.sessionTtl: unknown channel field"),
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
        "channels.sms.text: nothing to send; set text, template_id or the channel's own text",
        "channels.chat.chatId: required by the chat channel (TWIN's notify guide)",
        "channels.chat.chatSessionName: required by the chat channel (TWIN's notify guide)",
    ]
    assert validate_spec(MessageSpec(channels={"chat": {"chatId": UUID, "chatSessionName": "s"}})) == []
    assert validate_spec(MessageSpec(channels={"whatsapp": {"templateName": "t"}})) == [
        "channels.whatsapp.text: nothing to send; set text, template_id or the channel's own text"
    ]
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
            "chat": {"chatId": UUID, "chatSessionName": "spring"},
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
            "chat": {"chatId": UUID, "chatSessionName": "spring", "text": "Hello {{name}}"},
        },
        "groupId": UUID,
        "sendAt": "2026-02-01T07:00:00+00:00",
        "allowedTimeRanges": [["09:00:00", "21:00:00"]],
        "useShortLinks": True,
        "callbackUrl": "https://hooks.example.com/twin",
        "callbackData": '{"campaign":"spring"}',
    }
    assert spec.channels == ("viber", "sms", "chat")
    message = batch_message(spec.template, [{"phone": "79990000000"}])
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
    checked = Problems(keep=100)
    assert campaign().check([recipient], checked, lambda position: "recipients[3]") == []
    assert checked.first == problems


def test_channels_decide_which_fields_reach_a_recipient() -> None:
    email_only = campaign(channels=["email"])
    assert destination({"email": "a@example.com"}, email_only)[1] == []
    assert destination({"phone": "79990000001"}, email_only)[1] != []
    push = campaign(channels=["push"])
    assert destination({"pushRegistrationId": "tok"}, push)[1] == []
    chat = campaign(channels={"chat": {"chatId": UUID, "chatSessionName": "s"}})
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
    one = Problems()
    one.add("only")
    assert one.error("x").problems == ["only"]
    assert str(one.error("x")).startswith("1 problem in x; nothing was sent:")
    assert str(one.error("its settings", outcome="", source="TwinNotifier")).startswith(
        "TwinNotifier: 1 problem in its settings:\n- only"
    )


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
