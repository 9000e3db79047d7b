"""Which options an approver's chat reply chooses (numbers, option texts, yes/no in EN and RU)."""

from __future__ import annotations

import pytest

from airflow_provider_twin.client.chat import match_reply, without_request_tag
from airflow_provider_twin.client.chat.approval_replies import reply_tags

APPROVE = ["Approve", "Reject"]
RU = ["Одобрить", "Отклонить"]
COLOURS = ["Red", "Green", "Blue"]


@pytest.mark.parametrize(
    ("text", "options", "chosen"),
    [
        # numbers
        ("1", APPROVE, ["Approve"]),
        (" 2 ", APPROVE, ["Reject"]),
        ("2.", APPROVE, ["Reject"]),
        ("#2", APPROVE, ["Reject"]),
        ("2)", APPROVE, ["Reject"]),
        ("№1", RU, ["Одобрить"]),
        # option texts: case, spaces, punctuation and the Cyrillic yo/ie do not matter
        ("approve", APPROVE, ["Approve"]),
        ("  REJECT!! ", APPROVE, ["Reject"]),
        ("отклонить.", RU, ["Отклонить"]),
        ("green light", ["Green-Light", "Stop"], ["Green-Light"]),
        ("Ёлка", ["Елка", "Сосна"], ["Елка"]),
        ("елка", ["Ёлка", "Сосна"], ["Ёлка"]),
        # yes/no words, English and Russian, to the yes-like or no-like option
        ("yes", APPROVE, ["Approve"]),
        ("no", APPROVE, ["Reject"]),
        ("Да", APPROVE, ["Approve"]),
        ("да!", RU, ["Одобрить"]),
        ("согласен", ["Yes", "No"], ["Yes"]),
        ("Согласна", ["Yes", "No"], ["Yes"]),
        ("одобрено", RU, ["Одобрить"]),
        ("Подтверждено.", APPROVE, ["Approve"]),
        ("Нет", RU, ["Отклонить"]),
        ("отклонено", APPROVE, ["Reject"]),
        ("Отказ", RU, ["Отклонить"]),
        ("отклоняю", ["Да", "Нет"], ["Нет"]),
        ("отмена", ["Да", "Нет"], ["Нет"]),
        ("approve", ["Да", "Нет"], ["Да"]),
        ("cancel", ["Confirm", "Cancel"], ["Cancel"]),
    ],
)
def test_a_reply_chooses_one_option(text: str, options: list[str], chosen: list[str]) -> None:
    assert match_reply(text, options) == chosen


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("3", APPROVE),  # out of range
        ("0", APPROVE),
        ("-1", APPROVE),
        ("1, 2", APPROVE),  # several numbers where one is asked
        ("1 и 2", RU),
        ("maybe", APPROVE),
        ("", APPROVE),
        ("   ", APPROVE),
        ("yes", ["Red", "Blue"]),  # no yes-like option
        ("да", ["Red", "Blue"]),
        ("да", ["Yes", "Approve", "No"]),  # two yes-like options: which one?
        ("approve.", ["Approve", "APPROVE!"]),  # no exact text; loosely, two options read alike
        ("approve", ["Approve", "APPROVE"]),  # two options with the same exact text
        # acknowledgements that often mean "seen", not "yes" or "no"
        ("ok", APPROVE),
        ("OK", RU),
        ("okay", APPROVE),
        ("ок", RU),
        ("y", APPROVE),
        ("n", APPROVE),
        ("👍", APPROVE),
        ("👍🏽", APPROVE),
        ("👎", APPROVE),
        ("approve it", APPROVE),
        ("1 approve", APPROVE),
    ],
)
def test_a_reply_that_chooses_nothing_for_sure_gives_none(text: str, options: list[str]) -> None:
    assert match_reply(text, options) is None


@pytest.mark.parametrize(
    ("text", "chosen"),
    [
        ("1, 3", ["Red", "Blue"]),
        ("1 3", ["Red", "Blue"]),
        ("3 и 1", ["Red", "Blue"]),
        ("1 and 3", ["Red", "Blue"]),
        ("#1; #2.", ["Red", "Green"]),
        ("3,1,3", ["Red", "Blue"]),  # the order of the options, each once
        ("2", ["Green"]),
        ("blue", ["Blue"]),
        ("blue, red", ["Red", "Blue"]),
        ("Blue\n1", ["Red", "Blue"]),
    ],
)
def test_with_multiple_a_reply_may_choose_several_options(text: str, chosen: list[str]) -> None:
    assert match_reply(text, COLOURS, multiple=True) == chosen


@pytest.mark.parametrize("text", ["1, 4", "0 1", "red, purple", "red; 9", "4"])
def test_with_multiple_one_unknown_part_chooses_nothing(text: str) -> None:
    assert match_reply(text, COLOURS, multiple=True) is None


@pytest.mark.parametrize(
    ("text", "options", "chosen"),
    [
        ("1", ["2", "1"], ["1"]),  # the option's text wins over the number
        ("2", ["2", "1"], ["2"]),
        ("approve", ["Approve", "Approve!"], ["Approve"]),  # alike only without punctuation
        ("Approve!", ["Approve", "Approve!"], ["Approve!"]),
        (" APPROVE! ", ["Approve", "Approve!"], ["Approve!"]),
        ("A+", ["A+", "A-", "A"], ["A+"]),
        ("a-", ["A+", "A-", "A"], ["A-"]),
        ("ok", ["OK", "Cancel"], ["OK"]),  # an option's own text is always an answer
        ("👍", ["👍", "👎"], ["👍"]),
    ],
)
def test_an_option_s_exact_text_wins_over_every_other_reading(
    text: str, options: list[str], chosen: list[str]
) -> None:
    assert match_reply(text, options) == chosen


def test_options_alike_without_punctuation_are_each_reachable_in_a_list() -> None:
    assert match_reply("A+, A-", ["A+", "A-", "A"], multiple=True) == ["A+", "A-"]


def test_an_option_equal_to_its_own_number_is_no_ambiguity() -> None:
    assert match_reply("2", ["1", "2"]) == ["2"]
    assert match_reply("yes", ["Yes", "No"]) == ["Yes"]  # text and yes-word agree


def test_no_options_choose_nothing() -> None:
    assert match_reply("1", []) is None


@pytest.mark.parametrize(
    ("text", "left"),
    [
        ("1", "1"),  # no tag: the reply as it is
        ("#K7QZ 1", "1"),
        ("#k7qz: 2", "2"),
        ("1 #K7QZ", "1"),
        ("ref #K7QZ yes", "yes"),
        ("(ref #K7QZ) approve", "approve"),
        ("запрос #K7QZ — да", "да"),
        ("#K7QZ", ""),  # only the tag: nothing chosen, help follows
        ("#2", "#2"),  # an option number, not a tag
        ("#Blue", "#Blue"),  # exactly an option's text
    ],
)
def test_a_reply_naming_its_own_request_is_read_without_the_tag(text: str, left: str) -> None:
    assert without_request_tag(text, "#K7QZ", ["Approve", "#Blue"]) == left


@pytest.mark.parametrize("text", ["#ABCD 1", "#abcd yes", "#K7QZ #ABCD 1", "ref #ZZZ2 approve", "#done 1"])
def test_another_tag_stays_in_the_reply_which_then_chooses_nothing(text: str) -> None:
    """A tag of a known other request is left out by the inbox before; any other left here is
    noise the reply is not read through: help follows, never silence."""
    left = without_request_tag(text, "#K7QZ", APPROVE)
    assert "#" in left
    assert match_reply(left, APPROVE) is None


@pytest.mark.parametrize(
    ("text", "options", "tags"),
    [
        ("#done 1", APPROVE, ["#DONE"]),
        ("1 #sale", APPROVE, ["#SALE"]),
        ("yes #Blue", ["#Blue", "#Red"], ["#BLUE"]),
        ("#Blue, #Red", ["#Blue", "#Red"], []),  # each piece is an option's text
        ("#K7QZ #Blue", ["#Blue", "#Red"], ["#K7QZ", "#BLUE"]),
        ("#2, #Nope1, #abcde", APPROVE, []),  # not of the tags' format
        ("ref #k7qz: yes", APPROVE, ["#K7QZ"]),
    ],
)
def test_reply_tags_are_of_the_tags_format_outside_option_pieces(
    text: str, options: list[str], tags: list[str]
) -> None:
    assert reply_tags(text, options) == tags


def test_option_pieces_keep_their_tag_like_text_and_our_tag_goes() -> None:
    options = ["#Blue", "#Red"]
    assert without_request_tag("#K7QZ #Blue, #Red", "#K7QZ", options) == "#Blue, #Red"
    assert (
        match_reply(without_request_tag("#Blue, #Red", "#K7QZ", options), options, multiple=True) == options
    )
