"""The chat session operators against the emulator: close (idempotent), transcript, listing."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.chat_sessions import (
    TwinChatTranscriptOperator,
    TwinCloseChatSessionOperator,
    TwinListChatSessionsOperator,
)
from tests.unit.chat.chat_fixtures import CHAT_ID, make_context, start_session

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def test_arguments_are_checked_when_the_dag_is_parsed() -> None:
    with pytest.raises(Exception, match="unknown session filter"):
        TwinListChatSessionsOperator(task_id="list", filters={"colour": "red"})
    with pytest.raises(Exception, match="author_types"):
        TwinChatTranscriptOperator(task_id="read", session_id="s", author_types=[])
    with pytest.raises(AirflowFailException, match="session_id"):
        TwinCloseChatSessionOperator(task_id="close", session_id=["a", "b"]).execute(make_context())


@pytest.mark.integration
def test_close_is_idempotent_and_an_unknown_session_fails(
    twin_emulator: TwinEmulator, twin_connection_env: str
) -> None:
    session_id = start_session(twin_emulator)
    close = TwinCloseChatSessionOperator(task_id="close", session_id={"sessionId": session_id}, result="done")
    assert close.execute(make_context()) == {
        "session_id": session_id,
        "closed": True,
        "status": "CLOSED",
        "result": "done",
    }
    assert close.execute(make_context())["closed"] is False  # a retry: closed already
    with pytest.raises(AirflowFailException, match="404|not found|Entity"):
        TwinCloseChatSessionOperator(task_id="close", session_id=UNKNOWN).execute(make_context())


@pytest.mark.integration
def test_transcript_and_listing(twin_emulator: TwinEmulator, twin_connection_env: str) -> None:
    session_id = start_session(twin_emulator, name="Support", messageBody="My order is late")
    hook = TwinHook()
    try:
        posted = hook.post_client_message(session_id, "Any news?")
        hook.mark_chat_message_read(posted["id"])
    finally:
        hook.close()
    read = TwinChatTranscriptOperator(
        task_id="read", session_id={"session_id": session_id}, author_types="CLIENT"
    )
    transcript = read.execute(make_context())
    assert [m["body"] for m in transcript["messages"]] == ["My order is late", "Any news?"]
    assert transcript["messages"][1]["read_at"]
    assert not transcript["truncated"]
    start_session(twin_emulator, name="Other")
    listed = TwinListChatSessionsOperator(task_id="list", chat_id=CHAT_ID, name="Support", status="OPEN")
    result = listed.execute(make_context())
    assert result["session_ids"] == [session_id]
    assert result["total"] == 1
    assert result["sessions"][0]["name"] == "Support"
    spam = TwinListChatSessionsOperator(task_id="list", chat_id=CHAT_ID, filters={"marked_as_spam": True})
    assert spam.execute(make_context())["session_ids"] == []


@pytest.mark.integration
def test_a_transcript_is_bounded_by_its_characters(
    twin_emulator: TwinEmulator, twin_connection_env: str
) -> None:
    session_id = start_session(twin_emulator, name="Long", messageBody="x" * 900)
    hook = TwinHook()
    try:
        for _ in range(3):
            hook.post_client_message(session_id, "y" * 900)
    finally:
        hook.close()
    whole = TwinChatTranscriptOperator(task_id="read", session_id=session_id, author_types="CLIENT").execute(
        make_context()
    )
    assert (whole["count"], whole["truncated"]) == (4, False)
    bounded = TwinChatTranscriptOperator(
        task_id="read", session_id=session_id, author_types="CLIENT", max_chars=2500
    )
    transcript = bounded.execute(make_context())
    assert (transcript["count"], transcript["truncated"]) == (2, True)
    with pytest.raises(AirflowFailException, match="max_chars"):
        TwinChatTranscriptOperator(task_id="read", session_id=session_id, max_chars=0).execute(make_context())
