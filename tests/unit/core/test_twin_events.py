"""TWIN event times: every process reads the same epoch from the same text."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from airflow_provider_twin.client.core.twin_events import TwinEvent, epoch_of

NOON_UTC = 1769601600.0  # 2026-01-28T12:00:00+00:00


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The reading machine's local time is UTC+9, so a local reading would be 9 hours off."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_from_utc")
@pytest.mark.parametrize(
    "text",
    [
        "2026-01-28T12:00:00",
        "2026-01-28T12:00:00.000",
        "2026-01-28T12:00:00Z",
        "2026-01-28T12:00:00+00:00",
        "2026-01-28T15:00:00+03:00",
    ],
)
def test_times_without_offset_are_utc_like_those_with_one(text: str) -> None:
    assert epoch_of(text) == NOON_UTC
    assert TwinEvent("e", "t", text).epoch == NOON_UTC


def test_absent_or_unreadable_times_give_the_default_or_now() -> None:
    assert epoch_of(None, 5.0) == 5.0
    assert epoch_of("yesterday", 7.0) == 7.0
    before = time.time()
    assert before <= epoch_of("") <= time.time()
