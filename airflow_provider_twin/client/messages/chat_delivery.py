"""A Notify message through the ``chat`` channel, checked and sent at most once.

The chat domain writes the messages of a conversation (an approval's question, help and
outcome: :func:`~..chat.approval_chat.chat_message`) as plain Notify message objects; sending
is notify's job. :func:`chat_message_procedure` holds such a message to the send operator's
checks of a raw message (:func:`~.campaign.normalize_message`) and creates it under a
deterministic ``bulkId`` at most once (:mod:`.create_once`): a repeat after a crash or a
retried task finds the message in TWIN and does not send it again.

The client face exports it, so an adapter of the chat domain sends through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_twin.client.core.async_client import AsyncTwinClient
from airflow_provider_twin.client.core.flows import Procedure
from airflow_provider_twin.client.core.problems import Problems
from airflow_provider_twin.client.messages.campaign import normalize_message
from airflow_provider_twin.client.messages.create_once import (
    DEFAULT_SETTLE_SECONDS,
    CreateOnceBudget,
    Creation,
    create_once,
)

#: Attempts a conversation message gets by default: few, a person is waiting.
DEFAULT_CHAT_ATTEMPTS = 3


def chat_message_procedure(
    message: Mapping[str, Any],
    bulk_id: str,
    attempts: int = DEFAULT_CHAT_ATTEMPTS,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
) -> Procedure[Creation]:
    """Sending ``message`` (one Notify message object) under ``bulk_id`` at most once, within
    ``attempts``; perform it with ``TwinClient.run`` or ``await AsyncTwinClient.run``.

    TWIN is asked first whether ``bulk_id`` exists (the id is deterministic, so the message
    may have gone out before).

    :raises TwinInputError: when the message fails the send operator's checks (raised when the
        procedure is run, before any request).
    :raises TwinError: the last error once the attempts are spent.
    """
    problems = Problems()
    checked = normalize_message(0, message, problems)
    if problems or checked is None:
        raise problems.error("the chat message")
    budget = CreateOnceBudget.alert(attempts, settle_seconds, check_first=True)
    return (yield from create_once([checked], bulk_id, budget))


async def send_chat(
    client: AsyncTwinClient,
    message: Mapping[str, Any],
    bulk_id: str,
    *,
    attempts: int = DEFAULT_CHAT_ATTEMPTS,
) -> Creation:
    """:func:`chat_message_procedure` run by an async client (a triggerer's)."""
    return await client.run(chat_message_procedure(message, bulk_id, attempts))


__all__ = ["DEFAULT_CHAT_ATTEMPTS", "chat_message_procedure", "send_chat"]
