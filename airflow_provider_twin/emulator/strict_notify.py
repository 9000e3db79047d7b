"""Strict mode on the notify API: what seed 000 (TWIN's notify guide) asks a request to carry.

``POST /messages`` (checked per channel object, on top of :mod:`.validation`):

* ``chat``: ``chatId`` and ``chatSessionName``. The guide's chat section says "в канале chat
  заполнить следующие параметры" (fill in, in the chat channel, these parameters): ``chatId``,
  ``botId``, ``MessengerType``, ``chatSessionName``; ``botId`` is only for running another bot than
  the chat's own and ``MessengerType`` has a stated default (the messenger used last), so neither is
  required; ``continueLastOrStartNewSession`` is listed apart as "дополнительные параметры"
  (additional parameters).
* every channel but ``chat``, when the message has no ``templateId``: ``text`` ("Если вы не
  использовали шаблон, то заполните поле text"; the template meant is the ``templateId`` of the
  step before). A messenger ``templateName`` alone does not do.
* ``vkontakte``, when the message has no ``templateId``: ``templateName`` ("Для отправки
  уведомления Vkontakte необходимо создать шаблон", a mail.ru template used as approved).
* ``from``, when present, is filled ("Заполните поле from"); absent it is accepted, because the
  guide names a default: "Зарегистрированное имя отправителя, которое используется в системе по
  умолчанию: TwinService".

``GET /messages``: ``status`` and ``channel`` are single strings (twin-api.md §3.3, from TWIN's PHP
SDK, which documents the id filters as comma-separated lists and these two as one string). A
request with several values matches no message, the way a server comparing the filter with each
message's one status (or channel) would answer; the answer carries the header
:data:`STRICT_NOTE_HEADER` saying why.
"""

from __future__ import annotations

from typing import Any

#: Response header that explains a strict-mode reading which does not show in the body.
STRICT_NOTE_HEADER = "X-Twin-Emulator-Strict"

#: Filters of ``GET /messages`` that take one value (twin-api.md §3.3).
SINGLE_VALUE_FILTERS: tuple[str, ...] = ("status", "channel")


def _filled(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def strict_channel_problems(key: str, obj: dict[str, Any], has_template: bool) -> list[tuple[str, str]]:
    """``(field, message)`` for each thing seed 000 asks of channel ``key`` that ``obj`` lacks."""
    problems: list[tuple[str, str]] = []
    if "from" in obj and obj["from"] is not None and not _filled(obj["from"]):
        problems.append(
            ("from", "Must be filled: your sender name, or TwinService; leave it out for TWIN's default.")
        )
    if key == "chat":
        if not _filled(obj.get("chatId")):
            problems.append(("chatId", "Required in the chat channel: the id of the TWIN chat."))
        if not _filled(obj.get("chatSessionName")):
            problems.append(("chatSessionName", "Required in the chat channel: a name for the chat session."))
        return problems
    if has_template:
        return problems
    if not _filled(obj.get("text")):
        problems.append(("text", "Required when the message has no templateId."))
    if key == "vkontakte" and not _filled(obj.get("templateName")):
        problems.append(("templateName", "Required in the vkontakte channel: the approved mail.ru template."))
    return problems


def several_values_note(name: str, values: list[str] | None) -> str | None:
    """Why a single-value filter given several values matches nothing; None for one value."""
    if values is None or len(values) < 2:
        return None
    return f"{name} takes one value; {len(values)} values match no message"


__all__ = [
    "SINGLE_VALUE_FILTERS",
    "STRICT_NOTE_HEADER",
    "several_values_note",
    "strict_channel_problems",
]
