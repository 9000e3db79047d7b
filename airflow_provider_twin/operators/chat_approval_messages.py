"""The messages a TWIN chat approval operator sends its approvers: the question and the outcome.

Each goes to every approver through Notify's ``chat`` channel, in the approver's own session
(opened by the question, continued by the outcome), under a ``bulkId`` derived from the request,
the approver and the purpose, so a retried task or a repeated resume sends nothing twice. A
failure is reported per approver, never raised: the caller decides what it means (nobody asked
fails the task; an outcome not told is only a warning).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_twin.client import TwinError, chat_message_procedure, error_summary
from airflow_provider_twin.client.chat import approver_from_json, chat_message, conversation_bulk_id
from airflow_provider_twin.hooks.secret_masking import connection_secrets, redact
from airflow_provider_twin.hooks.twin import TwinHook


def send_to_approvers(
    conversation: Mapping[str, Any],
    purpose: str,
    text: str | Mapping[str, str],
    *,
    continued: bool,
    twin_conn_id: str,
    messenger_type: str | None,
    bot_id: str | None,
) -> dict[str, str]:
    """Send ``text`` (or each approver's own, by approver key) to the approvers of
    ``conversation`` (the operator's: ``request_key``, ``chat_id``, ``approvers``,
    ``session_names``), at most once per ``purpose``; the errors, by approver key. The texts
    are redacted first, as ``TwinNotifier``'s are: the connection's password and token, and
    every secret Airflow's masker knows, become ``***``.

    :param continued: continue the approver's open session (else open a new one).
    """
    failed: dict[str, str] = {}
    hook = TwinHook(twin_conn_id=twin_conn_id)
    try:
        text = redact(text, connection_secrets(hook.client_config))
        for approver in map(approver_from_json, conversation["approvers"]):
            try:
                message = chat_message(
                    approver,
                    chat_id=conversation["chat_id"],
                    session_name=conversation["session_names"][approver.key],
                    text=text if isinstance(text, str) else text[approver.key],
                    messenger_type=messenger_type,
                    bot_id=bot_id,
                    continue_session=continued,
                )
                bulk_id = conversation_bulk_id(conversation["request_key"], approver, purpose)
                hook.get_client().run(chat_message_procedure(message, bulk_id))
            except (TwinError, ValueError, KeyError) as exc:
                failed[approver.key] = error_summary(exc)
    finally:
        hook.close()
    return failed


__all__ = ["send_to_approvers"]
