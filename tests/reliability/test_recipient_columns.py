"""The column-wise recipient check agrees with the recipient-by-recipient one, on random lists.

``Campaign.columns`` is the fast way through a clean recipient list; it must never accept a
list the one-by-one checks refuse, and must build exactly the destinations they build. Each
seed generates lists mixing valid values, odd-but-valid ones (spaces, empty cells, numbers)
and invalid ones; a failure prints the seed.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_twin.client.messages import Campaign, MessageSpec, Problems, compile_spec
from airflow_provider_twin.client.messages.recipient_columns import RecipientColumns
from airflow_provider_twin.client.messages.sources import RecipientList

SEEDS = range(300)

CHANNEL_SETS: list[dict[str, Any]] = [
    {"sms": {}},
    {"viber": {}, "sms": {}},
    {"email": {"subject": "Hi"}},
    {"push": {}},
    {"telegram": {}},
    {"chat": {"chatId": "6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f", "chatSessionName": "s"}},
]

PHONES = [
    "79990000001",
    "+7 (999) 000-00-02",
    "+44 20 7946 0958",
    "8\u00a0999\t1234567",
    "+1 (415) 555\u20030100",  # another Unicode space: valid, but not on the column-wise path
    "7999,0000001",  # the column separator inside a value
    "7999000000\n1",
    "123456789",
    "1234567890123456",
    "7999.123.4567",
    "٧٩٩٩١٢٣٤٥٦٧",
    79990000003,
    "",
    None,
    True,
]
EMAILS = [
    "ann@example.com",
    " bob@example.com ",
    "c.d@mail.example.org",
    "x" * 64 + "@example.com",
    "x" * 65 + "@example.com",
    "a@" + "b" * 250 + ".com",
    "no-at.example.com",
    "two@@example.com",
    "sp ace@example.com",
    "ann@example.com\nbob@example.com",
    "ann\u200b@example.com",
    "\ufeffbob@example.com",
    "c\u3164@example.com",
    "",
    None,
    42,
]
IDS = ["c-1", " c-2", "c-3 ", "   ", "", None, 17, "tg-" + "9" * 20, "\u00a0x"]
VARIABLES: list[Any] = [
    {"name": "Ann"},
    {"name": "Bo", "n": 2, "vip": True, "note": None, "ratio": 0.5},
    {},
    None,
    "",
    '{"name": "json"}',
    {"": "empty name"},
    {"nested": {"a": 1}},
    {"amount": float("nan")},
    {"amount": float("-inf"), "name": "Ann"},
    {1: "int name"},
    ["not", "an", "object"],
]
SCALARS: list[Any] = ["Ann", "", None, 0, False, 1.5, "x y", ["list"], float("nan"), float("inf")]


def _recipient(rng: random.Random, shape: list[str], clean: bool) -> Any:
    if not clean and rng.random() < 0.05:
        return rng.choice(["79990000009", "ann@example.com", 79990000009, ["phone"], None])
    recipient: dict[str, Any] = {}
    for position, key in enumerate(shape):
        if key == "phone":
            value: Any = rng.choice(PHONES[:4] if clean else PHONES)
        elif key == "email":
            value = rng.choice(EMAILS[:1] + EMAILS[2:4] if clean else EMAILS)
        elif key == "variables":
            value = rng.choice(VARIABLES[:4] if clean else VARIABLES)
        elif key.startswith("var_"):
            value = rng.choice(SCALARS[:7] if clean else SCALARS)
        elif key == "nmae":
            value = "typo"
        else:
            value = rng.choice(IDS[:1] + IDS[7:8] if clean else IDS)
        if clean and rng.random() < (0.02 if position == 0 else 0.1):
            value = rng.choice(["", None])  # an empty cell: absent
        recipient[key] = value
    return recipient


def _recipients(rng: random.Random, campaign: Campaign) -> list[Any]:
    keys = ["phone", "email", "clientId", "externalId", "messengerUserId", "pushRegistrationId", "platform"]
    shape = rng.sample(keys, rng.randint(1, 3))
    clean = rng.random() < 0.6
    if clean:  # mostly somebody a channel can reach, first
        reachable = rng.choice(sorted(campaign.reachable))
        shape = [reachable, *(key for key in shape if key != reachable)]
    roll = rng.random()
    if roll < 0.4:
        shape.append("variables")
    elif roll < 0.7:
        shape.extend(rng.sample(["var_name", "var_order", "var_n"], rng.randint(1, 2)))
    elif roll < 0.75:
        shape.extend(["variables", "var_name"])
    elif roll < 0.78:
        shape.append("nmae")
    if not clean:
        rng.shuffle(shape)
    count = rng.randint(1, 40)
    return [_recipient(rng, shape if rng.random() < 0.9 else shape[:1], clean) for _ in range(count)]


def _campaign(rng: random.Random) -> Campaign:
    shared = rng.choice([None, {}, {"shop": "Example", "name": "friend"}])
    text = rng.choice(["Hi", "Hi {{name}}", "Hi {{ name }}, {{shop}}"])
    default = rng.choice([None, None, "friend"])
    return compile_spec(
        MessageSpec(channels=rng.choice(CHANNEL_SETS), text=text, variables=shared, variable_default=default)
    )


def _one_by_one(campaign: Campaign, recipients: list[Any]) -> tuple[list[Any], int]:
    problems = Problems(keep=1000)
    destinations = [campaign.destination(i, r, problems) for i, r in enumerate(recipients)]
    return destinations, problems.count


@pytest.mark.parametrize("seed", SEEDS)
def test_column_wise_check_matches_the_one_by_one_check(seed: int) -> None:
    rng = random.Random(seed)
    campaign = _campaign(rng)
    recipients = _recipients(rng, campaign)
    expected, problems = _one_by_one(campaign, recipients)
    columns = campaign.columns(recipients)
    if columns is None:
        return  # the caller checks one by one: nothing to compare
    assert problems == 0, f"seed {seed}: the column-wise check accepted a list with problems: {recipients!r}"
    assert columns.total == len(recipients), f"seed {seed}"
    assert columns.destinations(0, len(recipients)) == expected, f"seed {seed}: {recipients!r}"
    size = rng.randint(1, 7)  # chunk by chunk, as the send builds them
    pieces: list[Any] = []
    for start in range(0, len(recipients), size):
        pieces.extend(columns.destinations(start, min(start + size, len(recipients))))
    assert pieces == expected, f"seed {seed}: chunked build differs"


def test_clean_lists_take_the_column_wise_path() -> None:
    """The fast path is really exercised by the seeds above, and by the usual shapes."""
    taken = eligible = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        campaign = _campaign(rng)
        recipients = _recipients(rng, campaign)
        if campaign.needed:
            continue  # random variables seldom cover what the text uses: the full checks name them
        eligible += 1
        taken += campaign.columns(recipients) is not None
    assert taken >= eligible // 5, (taken, eligible)
    campaign = compile_spec(MessageSpec(channels={"viber": {}, "sms": {}}, text="Hi"))
    usual = [{"phone": f"+7 999 {i:07d}", "variables": {"name": f"Client {i}"}} for i in range(1000)]
    assert campaign.columns(usual) is not None
    csv_like = [
        {"phone": f"7999{i:07d}", "email": f"u{i}@example.com", "var_name": "Ann"} for i in range(100)
    ]
    assert campaign.columns(csv_like) is not None


def test_source_sends_the_same_chunks_either_way() -> None:
    campaign = compile_spec(MessageSpec(channels={"sms": {}}, text="Hi", variables={"shop": "X"}))
    recipients = [{"phone": f"+7 999 {i:07d}", "var_name": f"C{i}"} for i in range(25)]
    fast = RecipientList(campaign, recipients)
    slow = RecipientList(campaign, [*recipients[:-1], {**recipients[-1], "phone": 79990000024}])
    for source in (fast, slow):
        problems = Problems()
        source.validate(problems)
        assert not problems
    assert isinstance(fast._checked, RecipientColumns), "checked column-wise"
    assert isinstance(slow._checked, list), "checked one by one"
    fast_chunks = list(fast.chunks(10, str))
    slow_chunks = list(slow.chunks(10, str))
    assert [(c.index, c.bulk_id, c.first_index) for c in fast_chunks] == [
        (c.index, c.bulk_id, c.first_index) for c in slow_chunks
    ]
    assert [c.messages for c in fast_chunks] == [c.messages for c in slow_chunks]


def test_file_blocks_agree_with_row_by_row_and_name_bad_rows(tmp_path: Path) -> None:
    """A file is checked a block of rows at a time; a bad row still gets its line and index."""
    from airflow_provider_twin.client.messages.recipient_files import iter_recipients_file
    from airflow_provider_twin.client.messages.sources import FILE_BLOCK_ROWS, RecipientFile

    campaign = compile_spec(MessageSpec(channels={"sms": {}}, text="Hi", variables={"shop": "X"}))
    rows = [f"+7 999 {i:07d},Client {i}," for i in range(2 * FILE_BLOCK_ROWS + 500)]
    rows[FILE_BLOCK_ROWS + 7] = f"7999{FILE_BLOCK_ROWS + 7:07d},Odd, c-1"  # needs trimming: full checks
    path = tmp_path / "people.csv"
    path.write_text("phone,var_name,clientId\n" + "\n".join(rows) + "\n", encoding="utf-8")
    source = RecipientFile(campaign, path)
    problems = Problems()
    source.validate(problems)
    assert not problems
    assert source.total == len(rows)
    expected = []
    for index, row in enumerate(iter_recipients_file(path)):
        one = Problems()
        expected.append(campaign.destination(index, row.recipient, one))
        assert not one
    built = [destination for chunk in source.chunks(700, str) for destination in chunk.destinations]
    assert built == expected

    rows[FILE_BLOCK_ROWS + 42] = "12-34,Bad,"
    path.write_text("phone,var_name,clientId\n" + "\n".join(rows) + "\n", encoding="utf-8")
    problems = Problems()
    RecipientFile(campaign, path).validate(problems)
    assert problems.count == 1
    index = FILE_BLOCK_ROWS + 42
    assert problems.first[0].startswith(f"recipients_file line {index + 2} (recipient {index}).phone")
