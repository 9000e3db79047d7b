"""Which options an approver's chat reply chooses: numbers, option texts, yes and no.

An approver answers the question in a chat with whatever a person types. The readings, in order:

1. the exact text of an option (case and surrounding spaces do not matter, punctuation does):
   it wins over every other reading, so options that differ only in punctuation (``Approve``,
   ``Approve!``) or that are numbers themselves stay reachable by their text;
2. the number of an option (``2``, ``2.``, ``#2``, ``2)``; several with ``multiple``: ``1, 3``,
   ``1 3``, ``1 и 3``, ``1 and 3``), the option's text read loosely (case, spaces, punctuation
   and the Cyrillic yo/ie do not matter) and a yes/no word in English or Russian (``yes``,
   ``approve``, ``да``, ``одобрено``, ``no``, ``нет``, ``отказ``...), which counts only when
   exactly one option reads as a yes (``Approve``, ``Yes``, ``Да``...) or a no (``Reject``,
   ``No``, ``Нет``...). These must agree.

With ``multiple`` the reply may also list option texts or numbers separated by commas,
semicolons or lines. Words that often mean "seen" rather than "yes" (``ok``, ``ок``, ``y``, a
thumbs-up) are no answer.

An approver with several questions open names the one they answer by its reference tag
(``#K7QZ 1``, :func:`~.approval_chat.request_tag`): :func:`reply_tags` finds the tags a reply
names (never in a piece that is an option's text), :func:`without_request_tag` drops the tag
of the request read before the reply is matched.

A wrong decision is worse than a second question: a reply that two readings take to
different options, a number out of range or several numbers where one is asked for choose
nothing (None), and the conversation answers with help instead. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: Words that say yes, and option labels that read as a yes.
YES_WORDS = frozenset(
    {
        "yes",
        "approve",
        "approved",
        "confirm",
        "accept",
        "да",
        "одобряю",
        "одобрить",
        "одобрено",
        "согласен",
        "согласна",
        "подтверждаю",
        "подтверждено",
    }
)
#: Words that say no, and option labels that read as a no.
NO_WORDS = frozenset(
    {
        "no",
        "reject",
        "rejected",
        "decline",
        "cancel",
        "нет",
        "отклонить",
        "отклоняю",
        "отклонено",
        "отказ",
        "отмена",
    }
)

#: Emoji modifiers (skin tones, the emoji presentation selector) that do not change a reply.
_EMOJI_MODIFIERS = str.maketrans("", "", "\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")
#: What separates numbers in a reply: commas, semicolons, plus, ampersand, slash, white space.
_NUMBER_SEPARATORS = re.compile(r"[,;+&/\s]+")
#: Conjunctions between numbers (``1 and 3``, ``1 и 3``).
_CONJUNCTIONS = frozenset({"and", "и"})
#: One option number: ``2``, ``#2``, ``№2``, ``2.``, ``2)``.
_NUMBER = re.compile(r"[#№]?(\d{1,6})[.)]?")
#: What separates option texts in a reply that chooses several.
_TEXT_SEPARATORS = re.compile(r"[,;\n]+")
#: Replies longer than this are not read as numbers (nobody lists that many).
_MAX_NUMBERS_LENGTH = 200
#: A request's reference tag in a reply (``#K7QZ``, any case), with a ``ref`` / ``запрос`` before
#: it and the punctuation after it.
_TAG_IN_REPLY = re.compile(
    r"(?:(?<!\w)(?:ref|запрос)\s*)?(?<![\w#])#([a-z][a-z2-7]{3})(?!\w)[\s:,;.\-\u2013\u2014)]*", re.IGNORECASE
)
#: What is left around a reply once its tag is dropped.
_AROUND_TAG = " \t\r\n:,;-\u2013\u2014("


def exact(text: str) -> str:
    """``text`` compared strictly: case-folded, spaces collapsed, punctuation kept."""
    return " ".join(text.casefold().split())


def normalized(text: str) -> str:
    """``text`` compared loosely: case-folded, the Cyrillic yo read as ie, letters and digits only
    (emoji and other symbols kept when nothing else is there)."""
    folded = text.casefold().replace("\u0451", "\u0435").translate(_EMOJI_MODIFIERS)
    kept = "".join(char for char in folded if char.isalnum())
    return kept or "".join(folded.split())


def _numbers(text: str) -> list[int] | None:
    """The option numbers a reply lists (1-based, in order), or None when it is not a list of
    numbers."""
    if len(text) > _MAX_NUMBERS_LENGTH:
        return None
    tokens = [token for token in _NUMBER_SEPARATORS.split(text.casefold()) if token]
    words = [token for token in tokens if token not in _CONJUNCTIONS]
    if not words:
        return None
    found = []
    for token in words:
        match = _NUMBER.fullmatch(token)
        if match is None:
            return None
        found.append(int(match.group(1)))
    return found


def _by_number(text: str, options: Sequence[str], multiple: bool) -> list[str] | bool | None:
    """The options a list of numbers chooses; False when ``text`` is no list of numbers, None
    when the numbers choose nothing (out of range, several where one is asked)."""
    numbers = _numbers(text)
    if numbers is None:
        return False
    if not multiple and len(numbers) > 1:
        return None
    if any(not 1 <= number <= len(options) for number in numbers):
        return None
    return [options[number - 1] for number in numbers]


def _by_text(text: str, options: Sequence[str]) -> list[str] | bool | None:
    """The option whose text the reply is; False when none, None when several read alike."""
    wanted = normalized(text)
    if not wanted:
        return False
    found = [option for option in options if normalized(option) == wanted]
    if not found:
        return False
    return found if len(set(found)) == 1 else None


def _by_exact_text(text: str, options: Sequence[str]) -> list[str] | bool | None:
    """The option whose exact text the reply is; False when none, None when several."""
    wanted = exact(text)
    found = [option for option in options if exact(option) == wanted]
    if not found:
        return False
    return found if len(set(found)) == 1 else None


def _by_yes_no(text: str, options: Sequence[str]) -> list[str] | bool | None:
    """The one yes-like (or no-like) option a yes (or no) word chooses; False otherwise."""
    word = normalized(text)
    for vocabulary in (YES_WORDS, NO_WORDS):
        if word in vocabulary:
            alike = [option for option in options if normalized(option) in vocabulary]
            return alike if len(set(alike)) == 1 else False
    return False


def _single(text: str, options: Sequence[str], multiple: bool) -> list[str] | None:
    """An option's exact text, else every other reading of the whole reply; None unless they
    agree on something."""
    by_exact = _by_exact_text(text, options)
    if by_exact is not False:
        return by_exact  # type: ignore[return-value]
    readings = [_by_text(text, options), _by_number(text, options, multiple), _by_yes_no(text, options)]
    chosen = [reading for reading in readings if reading is not False]
    if not chosen or any(reading is None for reading in chosen):
        return None
    first = set(chosen[0])  # type: ignore[arg-type]
    if any(set(reading) != first for reading in chosen[1:]):  # type: ignore[arg-type]
        return None
    return chosen[0]  # type: ignore[return-value]


def _in_order(chosen: Sequence[str], options: Sequence[str]) -> list[str]:
    wanted = set(chosen)
    return list(dict.fromkeys(option for option in options if option in wanted))


def _option_piece(piece: str, options: Sequence[str]) -> bool:
    return any(exact(piece) == exact(option) for option in options)


def reply_tags(text: str, options: Sequence[str] = ()) -> list[str]:
    """The reference tags a reply names (upper case, ``#K7QZ``), in order: only tags of
    :func:`~.approval_chat.request_tag`'s format (``#``, a letter, three letters or digits 2-7)
    and only outside the pieces (between commas, semicolons and lines) that are exactly an
    option's text, so an option such as ``#Blue`` is never read as a tag."""
    pieces = [piece for piece in _TEXT_SEPARATORS.split(text) if not _option_piece(piece, options)]
    return [f"#{code.upper()}" for piece in pieces for code in _TAG_IN_REPLY.findall(piece)]


def without_request_tag(text: str, tag: str, options: Sequence[str] = ()) -> str:
    """``text`` as a reply to the request tagged ``tag``: without that tag (and a ``ref`` before
    it). Other tags stay: a reply naming another request's tag is that request's, which the
    inbox already left out; any other ``#word`` is noise the reply is not read through (help).

    A piece of the reply that is exactly an option's text is taken as it is, even when it looks
    like a tag.
    """
    own = tag.upper()

    def drop(match: re.Match[str]) -> str:
        return " " if f"#{match.group(1).upper()}" == own else match.group(0)

    parts = re.split(f"({_TEXT_SEPARATORS.pattern})", text)
    kept = [part if _option_piece(part, options) else _TAG_IN_REPLY.sub(drop, part) for part in parts]
    return "".join(kept).strip(_AROUND_TAG)


def match_reply(text: str, options: Sequence[str], *, multiple: bool = False) -> list[str] | None:
    """The options ``text`` chooses, in the order of ``options`` and each once; None when the
    reply chooses nothing for sure (see the module docstring).

    :param text: the approver's message.
    :param options: the question's options, as Airflow shows them.
    :param multiple: whether several options may be chosen.
    """
    if not isinstance(text, str) or not text.strip() or not options:
        return None
    whole = _single(text.strip(), options, multiple)
    if whole is not None:
        return _in_order(whole, options)
    if not multiple:
        return None
    pieces = [piece.strip() for piece in _TEXT_SEPARATORS.split(text) if piece.strip()]
    if len(pieces) < 2:
        return None
    chosen: list[str] = []
    for piece in pieces:
        found = _single(piece, options, multiple=False)
        if found is None:
            return None
        chosen.extend(found)
    return _in_order(chosen, options)


__all__ = ["NO_WORDS", "YES_WORDS", "exact", "match_reply", "normalized", "reply_tags", "without_request_tag"]
