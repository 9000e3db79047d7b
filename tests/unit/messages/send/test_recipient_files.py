"""Recipients files read a row at a time: CSV and JSON Lines, gzip, and files that open themselves."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.messages.recipient_files import detect_format, iter_recipients_file
from tests.unit.messages.send.test_campaign import campaign, destination


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
