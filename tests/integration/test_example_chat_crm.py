"""The chat CRM example runs green against the emulator (``dag.test()``): the send hands its chat
sessions to the mapped sensor, each customer answers and the session closes, the transcripts are
stored, and nothing is left to close."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.file_modules import load_file
from tests.integration.test_example_dags import EXAMPLES, Run

PHONES = ["79990000501", "79990000502"]


def answer_and_close(emulator: Any, stop: threading.Event) -> None:
    """As each customer: answer in the open feedback session, then the session ends."""
    done: set[str] = set()
    while not stop.wait(0.1):
        for session in emulator.admin.sessions(status="OPEN")["items"]:
            if session["id"] in done or not str(session.get("name") or "").startswith("Visit feedback"):
                continue
            emulator.admin.reply_in_chat(
                f"All good, thanks! ({session['clientPhone']})", session_id=session["id"]
            )
            emulator.admin.close_session(session["id"], after_seconds=0.3)
            done.add(session["id"])


@pytest.fixture
def customers(airflow_twin: Any) -> Iterator[Callable[[], None]]:
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start() -> None:
        thread = threading.Thread(target=answer_and_close, args=(airflow_twin, stop), daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=5)


@pytest.mark.integration
def test_chat_crm_waits_for_each_chat_and_stores_the_transcripts(
    airflow_twin: Any, customers: Callable[[], None], tmp_path: Path
) -> None:
    customers()
    dag = load_file(EXAMPLES / "example_twin_chat_crm.py").dag
    run = Run(dag, crm_dir=str(tmp_path), customers=PHONES)
    assert run.state == "success", run.states
    summary = run.value("ask_in_chat")
    chat_sessions = summary["chat_sessions"]
    assert (chat_sessions["status"], chat_sessions["expected"], chat_sessions["found"]) == ("found", 2, 2)
    assert [entry["index"] for entry in chat_sessions["sessions"]] == [0, 1]
    session_ids = summary["chat_session_ids"]
    assert len(session_ids) == 2
    assert [run.value("wait_for_chat", index)["sessionId"] for index in range(2)] == session_ids
    lines = (tmp_path / "transcripts.jsonl").read_text(encoding="utf-8").splitlines()
    stored = [json.loads(line) for line in lines]
    assert [transcript["session_id"] for transcript in stored] == session_ids
    for transcript, phone in zip(stored, PHONES, strict=True):
        bodies = [(m["author_type"], m["body"]) for m in transcript["messages"]]
        assert bodies[0][0] == "BOT"
        assert "How did it go?" in bodies[0][1]
        assert bodies[-1] == ("CLIENT", f"All good, thanks! ({phone})")
        assert all("url" not in attachment for m in transcript["messages"] for attachment in m["attachments"])
    assert run.value("store_transcripts") == {"stored": 2, "file": str(tmp_path / "transcripts.jsonl")}
    assert run.value("find_unfinished")["session_ids"] == []
    assert run.task_state("close_unfinished") == "skipped"


def answer_the_first_only(emulator: Any, stop: threading.Event) -> None:
    """The first customer answers and ends the chat; the second never does."""
    while not stop.wait(0.1):
        for session in emulator.admin.sessions(status="OPEN")["items"]:
            if session.get("clientPhone") == PHONES[0]:
                emulator.admin.reply_in_chat("Fine", session_id=session["id"])
                emulator.admin.close_session(session["id"])


@pytest.mark.integration
def test_chat_crm_closes_the_conversations_that_never_end(
    airflow_twin: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWIN_EXAMPLE_CHAT_WAIT_SECONDS", "4")
    stop = threading.Event()
    thread = threading.Thread(target=answer_the_first_only, args=(airflow_twin, stop), daemon=True)
    thread.start()
    try:
        dag = load_file(EXAMPLES / "example_twin_chat_crm.py").dag
        run = Run(dag, crm_dir=str(tmp_path), customers=PHONES)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert run.state == "success", run.states
    assert run.task_state("wait_for_chat", 1) == "skipped"  # timed out: soft_fail
    assert run.value("store_transcripts")["stored"] == 1
    second = run.value("ask_in_chat")["chat_session_ids"][1]
    assert run.value("find_unfinished")["session_ids"] == [second]
    assert run.value("close_unfinished", 0) == {
        "session_id": second,
        "closed": True,
        "status": "CLOSED",
        "result": "no answer",
    }
