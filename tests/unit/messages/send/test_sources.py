"""Where a send's destinations come from: lists, files and raw messages, validated in full, then
handed out in chunks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.messages import Problems
from airflow_provider_twin.client.messages.sources import MessageList, RecipientFile, RecipientList
from tests.unit.messages.send.test_campaign import UUID, campaign


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
