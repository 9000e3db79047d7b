"""What an approval conversation over TWIN chat says, in English or Russian.

The question (subject, body, numbered options, how to answer, the Airflow link), the help sent
after a reply that chooses nothing, and the outcome told to every approver at the end. Each
opens with the request's subject and reference tag ("Deploy? (ref #K7QZ)",
:func:`~.approval_chat.request_tag`): the approver sees which request a message is about, and
the inbox knows a session by our tagged message in it. Texts say only what they are given
(subject, body, options, a link, who decided, the tag): no credentials, no internal ids.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from airflow_provider_twin.client.chat.api import MAX_SESSION_TTL
from airflow_provider_twin.client.chat.approval_chat import MAX_CHAT_TEXT
from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.core.problems import shown

#: Languages the conversation speaks.
LANGUAGES: tuple[str, ...] = ("en", "ru")

Language = Literal["en", "ru"]
#: How a request ended, as one approver is told: they answered in the chat (``chat``), another
#: approver did (``chat-other``), someone answered in Airflow, or the timeout came.
OUTCOME_KINDS: tuple[str, ...] = ("chat", "chat-other", "airflow", "timeout")
#: How long TWIN keeps a chat session after the client's last activity by default, in seconds
#: (twin-api.md §4.2; a chat may set up to ``MAX_SESSION_TTL``, 12 h).
DEFAULT_SESSION_LIFETIME = 3600
#: Longest subject a heading shows, in characters: a longer one is cut, never the tag after it.
MAX_SUBJECT = 300
_CUT = "…"
#: Where a request was answered (the chat approval trigger's ``answered_in``).
ANSWERED_IN: tuple[str, ...] = ("twin_chat", "airflow", "timeout")


def check_language(value: Any) -> Language:
    """``value`` as one of :data:`LANGUAGES` (case-insensitive).

    :raises TwinInputError: naming ``language``.
    """
    text = value.strip().lower() if isinstance(value, str) else value
    if text == "en":
        return "en"
    if text == "ru":
        return "ru"
    raise TwinInputError(f"language: {shown(value)} is not one of {', '.join(LANGUAGES)}")


_ASK = {
    ("en", False): "Reply with the number or the text of an option:",
    ("en", True): "Reply with the numbers or the texts of one or more options (e.g. 1, 3):",
    ("ru", False): "Ответьте номером или текстом варианта:",
    ("ru", True): "Ответьте номерами или текстами одного или нескольких вариантов (например, 1, 3):",
}
_HELP = {
    ("en", False): "Please answer with the number or the text of an option:",
    ("en", True): "Please answer with the numbers or the texts of one or more options (e.g. 1, 3):",
    ("ru", False): "Пожалуйста, ответьте номером или текстом варианта:",
    (
        "ru",
        True,
    ): "Пожалуйста, ответьте номерами или текстами одного или нескольких вариантов (например, 1, 3):",
}
_REF = {"en": "ref {tag}", "ru": "запрос {tag}"}
_SEVERAL = {
    "en": 'If several questions are open, start the answer with the reference, e.g. "{tag} 1".',
    "ru": "Если открыто несколько вопросов, укажите в начале ответа номер запроса, например: «{tag} 1».",
}
_LINK = {"en": "Or answer in Airflow: {link}", "ru": "Или ответьте в Airflow: {link}"}
_OUTCOMES = {
    ("chat", "en"): "Recorded: {options}. Thank you.",
    ("chat", "ru"): "Записано: {options}. Спасибо.",
    ("chat-other", "en"): "Already decided in TWIN chat by {who}: {options}",
    ("chat-other", "ru"): "Уже решено в чате TWIN ({who}): {options}",
    ("chat-other-anonymous", "en"): "Already decided in TWIN chat: {options}",
    ("chat-other-anonymous", "ru"): "Уже решено в чате TWIN: {options}",
    ("airflow", "en"): "Already decided in Airflow by {who}: {options}",
    ("airflow", "ru"): "Уже решено в Airflow ({who}): {options}",
    ("airflow-anonymous", "en"): "Already decided in Airflow: {options}",
    ("airflow-anonymous", "ru"): "Уже решено в Airflow: {options}",
    ("timeout", "en"): "No answer in time: {options} taken by default.",
    ("timeout", "ru"): "Ответ не получен вовремя: по умолчанию выбрано {options}.",
    ("timeout-empty", "en"): "No answer in time.",
    ("timeout-empty", "ru"): "Ответ не получен вовремя.",
}


#: The reference a heading shows (``ref #K7QZ``, ``запрос #K7QZ``), as :func:`heading` writes it.
_HEADING_TAG = re.compile(r"(?<!\w)(?:ref|запрос) (#[A-Z][A-Z2-7]{3})(?!\w)")


def heading_tags(text: str) -> list[str]:
    """The reference tags the headings of ``text`` show: which approval requests a message of
    the bot or an operator is about (none: it is about no request)."""
    return _HEADING_TAG.findall(text)


def _numbered(options: Sequence[str]) -> str:
    return "\n".join(f"{number}. {option}" for number, option in enumerate(options, 1))


def heading(subject: str | None, tag: str, language: str) -> str:
    """The first line of every message: the request's subject and its reference tag."""
    ref = _REF[check_language(language)].format(tag=tag)
    text = _cut(" ".join(str(subject or "").split()), MAX_SUBJECT)
    return f"{text} ({ref})" if text else ref


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - len(_CUT), 0)].rstrip() + _CUT


def question_text(  # noqa: PLR0917 (the question's parts, in the order it shows them)
    subject: str,
    body: str | None,
    options: Sequence[str],
    multiple: bool,
    link: str | None,
    language: str,
    *,
    tag: str,
) -> str:
    """The question: subject and tag, body, how to answer, the numbered options, how to name the
    request when several are open, the Airflow link. A body too long for one chat message is
    cut (the subject too, see :func:`heading`), so the tag and the options always get there."""
    lang = check_language(language)
    rest = [f"{_ASK[lang, bool(multiple)]}\n{_numbered(options)}", _SEVERAL[lang].format(tag=tag)]
    if link:
        rest.append(_LINK[lang].format(link=link))
    head = heading(subject, tag, lang)
    room = MAX_CHAT_TEXT - len("\n\n".join([head, *rest])) - 2
    parts = [head, _cut(str(body or "").strip(), room) if room > 0 else "", *rest]
    return "\n\n".join(part for part in parts if part)


def help_text(options: Sequence[str], multiple: bool, language: str, *, subject: str, tag: str) -> str:
    """The reply to a message that chooses nothing: which request, how to answer, the options."""
    lang = check_language(language)
    return f"{heading(subject, tag, lang)}\n{_HELP[lang, bool(multiple)]}\n{_numbered(options)}"


def outcome_text(
    kind: str, chosen: Sequence[str], who: str | None, language: str, *, subject: str, tag: str
) -> str:
    """What one approver is told at the end, under the request's heading: their own answer
    ``chat`` ("Recorded: ..."), another approver's answer ``chat-other`` (by ``who`` when
    known), an answer given in Airflow (by ``who`` when known), or the defaults taken at the
    ``timeout``.

    :raises TwinInputError: for another ``kind`` or language.
    """
    lang = check_language(language)
    options = ", ".join(chosen)
    if kind in {"airflow", "chat-other"} and not who:
        kind_key = f"{kind}-anonymous"
    elif kind == "timeout" and not chosen:
        kind_key = "timeout-empty"
    elif kind in OUTCOME_KINDS:
        kind_key = kind
    else:
        raise TwinInputError(f"kind: {shown(kind)} is not one of {', '.join(OUTCOME_KINDS)}")
    line = _OUTCOMES[kind_key, lang].format(options=options, who=who)
    return f"{heading(subject, tag, lang)}\n{line}"


def outcome_texts(
    answered_in: str,
    chosen: Sequence[str],
    who: str | None,
    *,
    decided_by: str | None,
    approvers: Mapping[str, str],
    language: str,
    subject: str,
    tag: str,
) -> dict[str, str]:
    """Each approver's outcome text, by approver key: in the chat, the approver who decided
    (``decided_by``, an approver key) is told "Recorded", the others who decided; an answer in
    Airflow or the timeout is told alike to all.

    :param answered_in: one of :data:`ANSWERED_IN`.
    :param who: who answered in Airflow, if known.
    :param approvers: approver key -> name, of everyone to tell.
    :raises TwinInputError: for another ``answered_in`` or language.
    """
    if answered_in not in ANSWERED_IN:
        raise TwinInputError(f"answered_in: {shown(answered_in)} is not one of {', '.join(ANSWERED_IN)}")
    texts: dict[str, str] = {}
    for key in approvers:
        if answered_in != "twin_chat":
            kind, by = answered_in, who
        elif key == decided_by:
            kind, by = "chat", None
        else:
            kind, by = "chat-other", approvers.get(decided_by or "")
        texts[key] = outcome_text(kind, chosen, by, language, subject=subject, tag=tag)
    return texts


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.3g} h" if seconds >= 3600 else f"{seconds / 60:.3g} min"


def session_lifetime_warning(timeout_seconds: float | None) -> str | None:
    """Why the approvers' sessions may end before the wait does, or None when they will not.

    TWIN ends a chat session :data:`DEFAULT_SESSION_LIFETIME` after the approver's last activity
    by default (the chat may set up to ``MAX_SESSION_TTL``, no more): a reply
    written later lands in a session TWIN opens anew, which holds no question of ours and is
    not read.

    :param timeout_seconds: the request's response timeout, None for none.
    """
    if timeout_seconds is not None and timeout_seconds <= DEFAULT_SESSION_LIFETIME:
        return None
    wait = (
        "no response_timeout"
        if timeout_seconds is None
        else f"a response_timeout of {_duration(timeout_seconds)}"
    )
    beyond = timeout_seconds is None or timeout_seconds > MAX_SESSION_TTL
    lives = "any chat session lives" if beyond else "a chat session lives by default"
    return (
        f"{wait}: longer than {lives}. TWIN ends an approver's session "
        f"{_duration(DEFAULT_SESSION_LIFETIME)} after their last activity by default, "
        f"{_duration(MAX_SESSION_TTL)} at most (the chat's session lifetime); a reply written after "
        "that lands in a session TWIN opens anew and is not read: the approver answers in Airflow then"
    )


__all__ = [
    "ANSWERED_IN",
    "DEFAULT_SESSION_LIFETIME",
    "LANGUAGES",
    "MAX_SUBJECT",
    "OUTCOME_KINDS",
    "Language",
    "check_language",
    "heading",
    "heading_tags",
    "help_text",
    "outcome_text",
    "outcome_texts",
    "question_text",
    "session_lifetime_warning",
]
