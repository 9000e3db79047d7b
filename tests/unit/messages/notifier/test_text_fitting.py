"""Fitting a notification's text: SMS encodings, parts and cuts, and plain length limits."""

from __future__ import annotations

import pytest

from airflow_provider_twin.client.messages.text_fitting import (
    TRUNCATION_MARKER,
    fit_sms,
    sms_capacity,
    sms_encoding,
    sms_parts,
    sms_units,
    truncate,
)


@pytest.mark.parametrize(
    ("text", "encoding", "units"),
    [
        ("Task failed", "GSM-7", 11),
        ("a{b}", "GSM-7", 6),  # braces are escape + character
        ("line\nbreak", "GSM-7", 10),
        ("use `code`", "UCS-2", 10),  # no backtick in GSM-7
        ("Загрузка", "UCS-2", 8),
        ("café", "UCS-2", 4),  # counted as UCS-2 on purpose (some routes do)
        ("ok 🚨", "UCS-2", 5),  # an emoji is a surrogate pair
    ],
)
def test_encoding_and_units(text: str, encoding: str, units: int) -> None:
    assert sms_encoding(text) == encoding
    assert sms_units(text) == units


@pytest.mark.parametrize(
    ("text", "parts"),
    [("x" * 160, 1), ("x" * 161, 2), ("x" * 305, 2), ("x" * 306, 3), ("я" * 70, 1), ("я" * 71, 2)],
)
def test_parts(text: str, parts: int) -> None:
    assert sms_parts(text) == parts


def test_capacity_keeps_one_unit_per_boundary() -> None:
    assert sms_capacity(1, "GSM-7") == 160
    assert sms_capacity(3, "GSM-7") == 457
    assert sms_capacity(3, "UCS-2") == 199


def test_fit_sms_keeps_short_texts_and_cuts_long_ones_within_budget() -> None:
    assert fit_sms("short", 1) == "short"
    assert fit_sms("x" * 457, 3) == "x" * 457
    cut = fit_sms("word " * 200, 3)
    assert cut.endswith("word" + TRUNCATION_MARKER)
    assert sms_units(cut) <= 457
    one = fit_sms("y" * 500, 1)
    assert len(one) == 160
    assert sms_parts(one) == 1
    braces = fit_sms("{" * 500, 1)
    assert sms_units(braces) <= 160


def test_fit_sms_keeps_the_encoding_of_the_whole_text() -> None:
    # The Cyrillic letter at the end is cut away, yet the budget stays UCS-2's: never more parts.
    cut = fit_sms("x" * 300 + "я", 2)
    assert sms_units(cut, "UCS-2") <= sms_capacity(2, "UCS-2")
    assert cut.endswith(TRUNCATION_MARKER)


def test_truncate() -> None:
    assert truncate("abc", 40) == "abc"
    cut = truncate("a" * 100, 40)
    assert len(cut) == 40
    assert cut.endswith(TRUNCATION_MARKER)
    assert (
        truncate("alpha beta gamma delta epsilon zeta eta theta", 40)
        == "alpha beta gamma delta" + TRUNCATION_MARKER
    )
