"""TwinStartChatSessionOperator: session ids, input checks, exactly-once starts, reuse."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_twin.client.chat import session_id_for
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.operators.chat import TwinStartChatSessionOperator
from tests.unit.chat.chat_fixtures import CHAT_ID, FakeTI, make_context

STARTS = "POST /chat/api/v1/chats/{chatId}/sessions"


def operator(**kwargs: Any) -> TwinStartChatSessionOperator:
    kwargs.setdefault("task_id", "start")
    kwargs.setdefault("chat_id", CHAT_ID)
    return TwinStartChatSessionOperator(**kwargs)


# -- session ids ------------------------------------------------------------------------------------
def test_operator_uses_the_given_id_or_derives_one() -> None:
    context = make_context(FakeTI(map_index=3), run_id="r1")
    assert operator(session_id="abc").resolve_session_id(context) == "abc"
    derived = operator(idempotency_key="k").resolve_session_id(context)
    assert derived == session_id_for("adhoc_airflow", "r1", "start", 3, "k")


# -- request body -------------------------------------------------------------------------------------
def test_invalid_input_fails_without_a_request() -> None:
    with pytest.raises(AirflowFailException, match="session_ttl"):
        operator(session_ttl=0).execute(make_context())
    with pytest.raises(AirflowFailException, match="chat_id"):
        operator(chat_id="").execute(make_context())


# -- against the emulator -----------------------------------------------------------------------------
@pytest.mark.integration
def test_start_returns_ids_and_first_messages(twin_emulator: TwinEmulator, twin_connection_env: str) -> None:
    task = operator(
        message_body="Hello", client_phone="79990000001", session_ttl=600, client_metadata={"lead": "7"}
    )
    result = task.execute(make_context(FakeTI(map_index=2), run_id="r1"))
    assert result["session_id"] == session_id_for("adhoc_airflow", "r1", "start", 2)
    assert result["chat_id"] == CHAT_ID
    assert result["client_id"]
    assert result["ttl"] == 600
    assert result["reused"] is False
    [greeting] = result["messages"]
    assert greeting["authorType"] == "BOT"
    [session] = twin_emulator.admin.sessions()["items"]
    assert session["id"] == result["session_id"]
    assert session["clientPhone"] == "79990000001"


@pytest.mark.integration
def test_a_retry_reuses_the_session(twin_emulator: TwinEmulator, twin_connection_env: str) -> None:
    first = operator(message_body="Hi").execute(make_context(FakeTI(try_number=1)))
    again = operator(message_body="Hi").execute(make_context(FakeTI(try_number=2)))
    assert again["session_id"] == first["session_id"]
    assert again["reused"] is True
    assert again["client_id"] == first["client_id"]
    assert [m["body"] for m in again["messages"]] == [m["body"] for m in first["messages"]]
    counters = twin_emulator.admin.counters()
    assert counters["sessions_started"] == 1
    assert counters["requests"][STARTS] == 1  # the retry looked the session up first


@pytest.mark.integration
def test_a_repeated_first_try_reuses_the_session_after_409(
    twin_emulator: TwinEmulator, twin_connection_env: str
) -> None:
    first = operator().execute(make_context())
    again = operator().execute(make_context())  # e.g. the answer was lost and the task re-ran
    assert (again["session_id"], again["reused"]) == (first["session_id"], True)
    counters = twin_emulator.admin.counters()
    assert counters["sessions_started"] == 1
    assert counters["responses_by_status"]["409"] == 1


@pytest.mark.integration
def test_mapped_instances_get_their_own_sessions(
    twin_emulator: TwinEmulator, twin_connection_env: str
) -> None:
    ids = {
        operator(client_phone=f"7999000000{i}").execute(make_context(FakeTI(map_index=i)))["session_id"]
        for i in range(3)
    }
    assert len(ids) == 3
    assert twin_emulator.admin.counters()["sessions_started"] == 3


@pytest.mark.integration
def test_continue_session_puts_and_continues(twin_emulator: TwinEmulator, twin_connection_env: str) -> None:
    started = operator(client_external_id="crm-1").execute(make_context(run_id="a"))
    continued = operator(client_external_id="crm-1", continue_session=True, message_body="again").execute(
        make_context(run_id="b")
    )
    assert continued["session_id"] == started["session_id"]  # the client's open session
    assert twin_emulator.admin.counters()["requests"]["PUT /chat/api/v1/chats/{chatId}/sessions"] == 1


@pytest.mark.integration
def test_unknown_chat_and_id_collisions_fail_for_good(
    twin_emulator: TwinEmulator, twin_connection_env: str
) -> None:
    twin_emulator.admin.update_settings(chats=[CHAT_ID])
    with pytest.raises(AirflowFailException, match="chat id"):
        operator(chat_id=str(uuid.uuid4())).execute(make_context())
    taken = operator().execute(make_context())["session_id"]
    other_chat = str(uuid.uuid4())
    twin_emulator.admin.update_settings(chats=[CHAT_ID, other_chat])
    with pytest.raises(AirflowFailException, match="already exists in chat"):
        operator(chat_id=other_chat, session_id=taken).execute(make_context())


@pytest.mark.integration
def test_server_errors_let_airflow_retry(
    twin_emulator: TwinEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = twin_emulator.connection
    connection["extra"]["max_retries"] = 0
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(connection))
    twin_emulator.admin.add_fault(status=503, method="POST", path="/chat/api/v1/chats/*/sessions")
    with pytest.raises(AirflowException) as info:
        operator().execute(make_context())
    assert not isinstance(info.value, AirflowFailException)
