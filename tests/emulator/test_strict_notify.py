"""Strict mode on the notify API (seed 000, twin-api.md §3.3): lenient and strict side by side."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from emulator_testkit import CHAT_ID, TwinApi, sms

from airflow_provider_twin.emulator import TwinEmulator

TEMPLATE_ID = "7b0c6f0e-3f55-4f0e-a9a8-4e2a1f7c9d10"
STRICT_NOTE = "X-Twin-Emulator-Strict"


def message(channels: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"messages": [{"destinations": [{"phone": "79990000001"}], "channels": channels, **extra}]}


def in_mode(emulator: TwinEmulator, strict: bool) -> None:
    emulator.admin.update_settings(strict=strict)


# -- rule 3: channel fields seed 000 asks for- -------------------------------------------------------
#: Bodies the lenient emulator accepts and seed 000 rules out, with the field strict mode names.
RULED_OUT_BY_SEED_000: dict[str, tuple[dict[str, Any], str]] = {
    "chat-without-chatId": (
        message({"chat": {"text": "Hi", "chatSessionName": "order 42"}}),
        "messages[0].channels.chat.chatId",
    ),
    "chat-without-chatSessionName": (
        message({"chat": {"chatId": CHAT_ID}}),
        "messages[0].channels.chat.chatSessionName",
    ),
    "whatsapp-templateName-without-text": (
        message({"whatsapp": {"templateName": "greeting", "from": "TwinService"}}),
        "messages[0].channels.whatsapp.text",
    ),
    "vkontakte-without-templateName": (
        message({"vkontakte": {"text": "Hi", "from": "TwinService"}}),
        "messages[0].channels.vkontakte.templateName",
    ),
    "empty-from": (
        message({"sms": {"text": "Hi", "from": ""}}),
        "messages[0].channels.sms.from",
    ),
}


@pytest.mark.parametrize("case", sorted(RULED_OUT_BY_SEED_000))
def test_lenient_accepts_what_seed_000_rules_out(
    api: TwinApi, twin_emulator: TwinEmulator, case: str
) -> None:
    in_mode(twin_emulator, strict=False)
    body, _field = RULED_OUT_BY_SEED_000[case]
    assert api.send(body).status_code == 201


@pytest.mark.parametrize("case", sorted(RULED_OUT_BY_SEED_000))
def test_strict_refuses_it_naming_the_field(api: TwinApi, twin_emulator: TwinEmulator, case: str) -> None:
    in_mode(twin_emulator, strict=True)
    body, field = RULED_OUT_BY_SEED_000[case]
    response = api.send(body)
    assert response.status_code == 422
    answer = response.json()
    assert answer["error"] == "Validation failed"
    assert list(answer["details"]) == [field]
    assert twin_emulator.admin.counters()["messages_created"] == 0


#: Bodies that follow seed 000, accepted in both modes.
FOLLOWING_SEED_000: dict[str, dict[str, Any]] = {
    # No "from": TWIN's default sender is TwinService (seed 000).
    "sms-without-from": message({"sms": {"text": "Hi"}}),
    "sms-from-TwinService": message({"sms": {"text": "Hi", "from": "TwinService"}}),
    # Seed 000's own chat block: no text, no from.
    "chat-block-of-seed-000": message(
        {
            "chat": {
                "chatId": CHAT_ID,
                "botId": "bce7d22e-dde6-4427-b391-ebbdfda44de6",
                "messengerType": "WHATSAPP",
                "chatSessionName": "string",
                "provider": "APN",
                "continueLastOrStartNewSession": True,
            }
        }
    ),
    # Seed 000's own vkontakte block.
    "vkontakte-block-of-seed-000": message(
        {
            "vkontakte": {
                "from": "string",
                "templateName": "string",
                "templateData": ["string"],
                "text": "string",
                "provider": "APN",
                "attachments": ["video-85635407_165186811", "wall-92255884_16"],
            }
        }
    ),
    # With a notify template the text is ignored (seed 000), so it need not be there.
    "template-without-text": message({"sms": {}, "vkontakte": {}}, templateId=TEMPLATE_ID),
}


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize("case", sorted(FOLLOWING_SEED_000))
def test_both_modes_accept_what_follows_seed_000(
    api: TwinApi, twin_emulator: TwinEmulator, case: str, strict: bool
) -> None:
    in_mode(twin_emulator, strict)
    response = api.send(FOLLOWING_SEED_000[case])
    assert response.status_code == 201, response.text


def test_strict_lists_every_missing_field_of_a_chat_channel(
    api: TwinApi, twin_emulator: TwinEmulator
) -> None:
    in_mode(twin_emulator, strict=True)
    response = api.send(message({"sms": {"text": "Hi"}, "chat": {"botId": CHAT_ID}}))
    assert response.status_code == 422
    assert set(response.json()["details"]) == {
        "messages[0].channels.chat.chatId",
        "messages[0].channels.chat.chatSessionName",
    }


# -- rule 4: GET /messages status (and channel) is one string- ----------------------------------------
def _pending_and_delayed(api: TwinApi) -> None:
    """Two PENDING messages and one DELAYED one in the bulk "filters"."""
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    api.send_ok(sms("79990000001", "79990000002", bulk_id="filters"))
    api.send_ok(sms("79990000003", bulk_id="filters", sendAt=later))


@pytest.mark.parametrize(
    "params",
    [{"status": "PENDING,DELAYED"}, {"status[0]": "PENDING", "status[1]": "DELAYED"}],
    ids=["comma-joined", "php-array"],
)
def test_status_filter_lenient_list_strict_one_value(
    api: TwinApi, twin_emulator: TwinEmulator, params: dict[str, str]
) -> None:
    twin_emulator.admin.update_settings(delivery_seconds=3600)
    _pending_and_delayed(api)
    in_mode(twin_emulator, strict=False)
    lenient = api.messages(bulkId="filters", **params)
    assert lenient.json()["count"] == 3
    assert STRICT_NOTE not in lenient.headers

    in_mode(twin_emulator, strict=True)
    strict = api.messages(bulkId="filters", **params)
    assert strict.status_code == 200
    assert strict.json() == {"count": 0, "items": []}  # no message has the status "PENDING,DELAYED"
    assert strict.headers[STRICT_NOTE] == "status takes one value; 2 values match no message"
    assert api.count(bulkId="filters", status="PENDING") == 2  # one value: as in lenient mode
    assert api.count(bulkId="filters", status="delayed") == 1


def test_channel_filter_lenient_list_strict_one_value(api: TwinApi, twin_emulator: TwinEmulator) -> None:
    api.send_ok(sms("79990000001", bulk_id="filters"))
    in_mode(twin_emulator, strict=False)
    assert api.count(bulkId="filters", channel="SMS,VIBER") == 1
    in_mode(twin_emulator, strict=True)
    response = api.messages(bulkId="filters", channel="SMS,VIBER", withoutItems=1)
    assert response.json()["count"] == 0
    assert response.headers[STRICT_NOTE] == "channel takes one value; 2 values match no message"
    assert api.count(bulkId="filters", channel="sms") == 1
