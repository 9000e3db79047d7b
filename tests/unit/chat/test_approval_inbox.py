"""The approvers' replies, read from their own chat sessions on the emulator.

The question opens the approver's session as the operator sends it (Notify's chat channel, its
text a BOT message carrying the request's tag); anyone can also start a session of any name over
REST (``POST /chats/{chatId}/sessions``, no credentials). Clients write with
``POST /sessions/{id}/clients/messages``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from airflow_provider_twin.client import (
    ApiCall,
    AsyncTwinClient,
    TwinClient,
    TwinInputError,
    TwinServerError,
    chat_message_procedure,
)
from airflow_provider_twin.client.chat import (
    CLOCK_SLACK_SECONDS,
    ApprovalInbox,
    Approver,
    ApproverReply,
    approval_inbox,
    chat_message,
    conversation_bulk_id,
    parse_approvers,
    request_tag,
    session_name,
)
from airflow_provider_twin.client.core.deadlines import epoch_seconds
from airflow_provider_twin.client.core.flows import Finished, Gather, Procedure, resume
from airflow_provider_twin.emulator import TwinEmulator
from tests.unit.chat.chat_fixtures import CHAT_ID, emulator_config

OTHER_CHAT = "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
MESSAGES_PATH = "/messages"
REREAD_SECONDS = approval_inbox.REREAD_SECONDS
REQUEST_KEY = "ti-1#1"
TAG = request_tag(REQUEST_KEY)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="milliseconds")


def ask(emulator: TwinEmulator, approver: Approver, name: str, purpose: str = "question") -> str:
    """Send the approver a tagged message as the operator does (a new session, or with
    ``purpose`` other than the question the open one continued); returns the session's id."""
    message = chat_message(
        approver,
        chat_id=CHAT_ID,
        session_name=name,
        text=f"Deploy? (ref {TAG})",
        continue_session=purpose != "question",
    )
    with TwinClient(emulator_config(emulator)) as twin:
        twin.run(chat_message_procedure(message, conversation_bulk_id(REQUEST_KEY, approver, purpose)))
    sessions = [s for s in emulator.admin.sessions(chatId=CHAT_ID, limit=1000)["items"] if s["name"] == name]
    session_id: str = max(sessions, key=lambda session: str(session["startedAt"]))["id"]
    return session_id


def start(emulator: TwinEmulator, name: str | None, chat_id: str = CHAT_ID, **body: Any) -> str:
    """Start a chat session over REST; returns its id."""
    response = httpx.post(
        f"{emulator.base_url}/chat/api/v1/chats/{chat_id}/sessions",
        json={"name": name, **body} if name else body,
    )
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


def write(emulator: TwinEmulator, session_id: str, text: str) -> str:
    """The client writes in its session; returns the message id."""
    response = httpx.post(
        f"{emulator.base_url}/chat/api/v1/sessions/{session_id}/clients/messages",
        json={"body": text},
        headers={"Authorization": f"Bearer {emulator.admin.mint_token()}"},
    )
    assert response.status_code in {200, 201}, response.text
    message_id: str = response.json()["id"]
    return message_id


class Reader:
    """Runs an inbox's procedures on one async client, recording every call they make."""

    def __init__(self, emulator: TwinEmulator) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = AsyncTwinClient(emulator_config(emulator))
        self.calls: list[ApiCall[Any]] = []
        #: Which message-reading step (1 = the next) fails with TWIN answering 503, if any.
        self.failing_read: int | None = None

    async def _drive(self, flow: Procedure[Any]) -> Any:
        step = next(flow)
        while not isinstance(step, Finished):
            assert isinstance(step, (ApiCall, Gather)), step  # an inbox never sleeps
            calls: list[ApiCall[Any]] = list(step.calls) if isinstance(step, Gather) else [step]
            self.calls.extend(calls)
            if self.failing_read is not None and any(call.path.endswith(MESSAGES_PATH) for call in calls):
                self.failing_read -= 1
                if self.failing_read == 0:
                    self.failing_read = None
                    error = TwinServerError("TWIN failed", status=503, error="Service Unavailable")
                    step = resume(flow, None, error)
                    continue
            answers = [await self.client.send(call) for call in calls]
            step = resume(flow, answers if isinstance(step, Gather) else answers[0], None)
        return step.value

    def replies(self, inbox: ApprovalInbox) -> list[ApproverReply]:
        result: list[ApproverReply] = self.loop.run_until_complete(self._drive(inbox.reading()))
        return result

    def sessions(self, inbox: ApprovalInbox) -> dict[str, str]:
        result: dict[str, str] = self.loop.run_until_complete(inbox.find_sessions())
        return result

    def message_reads(self) -> list[ApiCall[Any]]:
        return [call for call in self.calls if call.path.endswith(MESSAGES_PATH)]

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture
def reader(twin_emulator: TwinEmulator) -> Iterator[Reader]:
    made = Reader(twin_emulator)
    yield made
    made.close()


def inbox_of(
    reader: Reader, approvers: list[Approver], asked_at: float, messenger_type: str | None = None
) -> ApprovalInbox:
    names = {approver.key: session_name(REQUEST_KEY, approver, "deploy") for approver in approvers}
    return ApprovalInbox(
        reader.client,
        chat_id=CHAT_ID,
        sessions=names,
        approvers=approvers,
        messenger_type=messenger_type,
        asked_at=asked_at,
        tag=TAG,
    )


def ann_inbox(reader: Reader) -> tuple[Approver, ApprovalInbox, str]:
    """Ann, the inbox of a question asked her now, and the name of her session."""
    (ann,) = parse_approvers(["79001234567"])
    inbox = inbox_of(reader, [ann], time.time())
    return ann, inbox, inbox.names[ann.key]


def test_replies_come_from_the_approvers_own_sessions_only(
    twin_emulator: TwinEmulator, reader: Reader
) -> None:
    ann, bob = parse_approvers(["79001234567", "79007654321"])
    asked_at = time.time()
    inbox = inbox_of(reader, [ann, bob], asked_at)
    ann_session = ask(twin_emulator, ann, inbox.names[ann.key])
    bob_session = ask(twin_emulator, bob, inbox.names[bob.key])
    stranger = start(twin_emulator, "Airflow approval · deploy · 000000000000")
    elsewhere = start(twin_emulator, inbox.names[ann.key], chat_id=OTHER_CHAT)
    unnamed = start(twin_emulator, None)
    for session_id in (stranger, elsewhere, unnamed):
        write(twin_emulator, session_id, "1")
    first = write(twin_emulator, ann_session, "approve")
    second = write(twin_emulator, bob_session, "2")

    assert reader.sessions(inbox) == {ann.key: ann_session, bob.key: bob_session}
    replies = reader.replies(inbox)
    assert inbox.accepted_sessions() == {ann.key: ann_session, bob.key: bob_session}
    assert replies == [
        ApproverReply(ann.key, ann_session, first, "approve", replies[0].created_at),
        ApproverReply(bob.key, bob_session, second, "2", replies[1].created_at),
    ]
    assert replies[0].created_at <= replies[1].created_at
    # only CLIENT messages: the bot greeted and "typed" in these sessions too
    assert all(reply.message_id in {first, second} for reply in replies)


def test_each_reply_comes_once_and_every_round_reads_every_session_from_the_last_message(
    twin_emulator: TwinEmulator, reader: Reader
) -> None:
    (ann,) = parse_approvers(["79001234567"])
    inbox = inbox_of(reader, [ann], time.time())
    assert reader.replies(inbox) == []  # no session yet
    session_id = ask(twin_emulator, ann, inbox.names[ann.key])
    write(twin_emulator, session_id, "what?")
    assert [reply.text for reply in reader.replies(inbox)] == ["what?"]
    first_read = reader.message_reads()[-1]
    assert first_read.params["from"]  # from the question's time, less the clock slack

    assert reader.replies(inbox) == []  # nothing new, but the session was read again
    again = reader.message_reads()[-1]
    assert again is not first_read
    assert len(reader.message_reads()) == 2  # one call per session and round
    last = max(m["createdAt"] for m in twin_emulator.admin.sessions(chatId=CHAT_ID)["items"][0]["messages"])
    assert again.params["from"] == _iso(epoch_seconds(last) - REREAD_SECONDS)  # 1 ms before it

    write(twin_emulator, session_id, "1")
    write(twin_emulator, session_id, "2")
    assert [reply.text for reply in reader.replies(inbox)] == ["1", "2"]
    later = reader.message_reads()[-1]
    assert later.params["from"] > first_read.params["from"]
    assert reader.replies(inbox) == []


class ScriptedTwin:
    """Answers an inbox's calls from a script: one session; its messages as listed so far,
    filtered by ``from`` the way TWIN might read it (inclusive or exclusive). The session's
    ``lastMessageCreatedAt`` never moves: its meaning is not documented, so it must not matter."""

    def __init__(self, inbox: ApprovalInbox, *, inclusive: bool) -> None:
        self.inbox = inbox
        self.inclusive = inclusive
        self.messages: list[dict[str, Any]] = []

    def answer(self, call: ApiCall[Any]) -> dict[str, Any]:
        if call.path.endswith(MESSAGES_PATH):
            since = epoch_seconds(call.params["from"])
            items = [
                m
                for m in self.messages
                if epoch_seconds(m["createdAt"]) > since
                or (self.inclusive and epoch_seconds(m["createdAt"]) == since)
            ]
            return {"count": len(items), "items": items}
        (name,) = self.inbox.names.values()
        session = {
            "id": "s-1",
            "name": name,
            "chatId": CHAT_ID,
            "startedAt": _iso(self.inbox.asked_at),
            "lastMessageCreatedAt": _iso(self.inbox.asked_at),
        }
        return {"count": 1, "items": [session]}

    def replies(self) -> list[str]:
        flow = self.inbox.reading()
        step = next(flow)
        while not isinstance(step, Finished):
            assert isinstance(step, (ApiCall, Gather)), step  # an inbox never sleeps
            calls: list[ApiCall[Any]] = list(step.calls) if isinstance(step, Gather) else [step]
            answers = [self.answer(call) for call in calls]
            step = resume(flow, answers if isinstance(step, Gather) else answers[0], None)
        return [reply.text for reply in step.value]


@pytest.mark.parametrize("inclusive", [True, False])
def test_a_message_of_the_same_millisecond_listed_later_is_not_lost(reader: Reader, inclusive: bool) -> None:
    (ann,) = parse_approvers(["79001234567"])
    asked_at = time.time()
    inbox = inbox_of(reader, [ann], asked_at)
    twin = ScriptedTwin(inbox, inclusive=inclusive)
    at = _iso(asked_at + 5)
    question = {
        "id": "q",
        "authorType": "BOT",
        "body": f"Deploy? (ref {TAG})",
        "createdAt": _iso(asked_at + 1),
    }
    twin.messages = [question, {"id": "m-1", "authorType": "CLIENT", "body": "what?", "createdAt": at}]
    assert twin.replies() == ["what?"]
    twin.messages.append({"id": "m-2", "authorType": "CLIENT", "body": "2", "createdAt": at})
    assert twin.replies() == ["2"]
    assert twin.replies() == []


def test_a_failed_read_loses_no_reply(
    twin_emulator: TwinEmulator, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(approval_inbox, "PAGE_SIZE", 1)  # one message a page
    (ann,) = parse_approvers(["79001234567"])
    inbox = inbox_of(reader, [ann], time.time())
    session_id = ask(twin_emulator, ann, inbox.names[ann.key])
    write(twin_emulator, session_id, "1")
    write(twin_emulator, session_id, "2")
    reader.failing_read = 3  # the question and "1" are read, then "2" fails
    with pytest.raises(TwinServerError):
        reader.replies(inbox)
    assert [reply.text for reply in reader.replies(inbox)] == ["1", "2"]
    assert reader.replies(inbox) == []


def test_a_session_started_before_the_question_is_not_the_approvers(
    twin_emulator: TwinEmulator, reader: Reader
) -> None:
    (ann,) = parse_approvers(["79001234567"])
    name = session_name(REQUEST_KEY, ann, "deploy")
    old = ask(twin_emulator, ann, name, purpose="earlier")
    write(twin_emulator, old, "approve")
    twin_emulator.admin.advance_clock(CLOCK_SLACK_SECONDS + 120)
    inbox = inbox_of(reader, [ann], time.time() + CLOCK_SLACK_SECONDS + 120)
    assert reader.replies(inbox) == []
    assert reader.sessions(inbox) == {}
    new = ask(twin_emulator, ann, name)
    message_id = write(twin_emulator, new, "reject")
    assert [(r.session_id, r.message_id) for r in reader.replies(inbox)] == [(new, message_id)]


def test_a_session_of_another_client_or_messenger_is_not_the_approvers(
    twin_emulator: TwinEmulator, reader: Reader
) -> None:
    (ann,) = parse_approvers([{"clientId": "client-ann"}])
    inbox = inbox_of(reader, [ann], time.time(), messenger_type="whatsapp")
    name = inbox.names[ann.key]
    # TWIN's bot greets every new session with our tag: each session below holds it
    twin_emulator.admin.update_settings(bot_greeting=f"Hello ({TAG})")
    impostor = start(twin_emulator, name, clientId="client-eve", messengerType="WHATSAPP")
    telegram = start(twin_emulator, name, clientId="client-ann", messengerType="TELEGRAM")
    own = start(twin_emulator, name, clientId="client-ann", messengerType="WHATSAPP")
    for session_id in (impostor, telegram, own):
        write(twin_emulator, session_id, "1")
    assert {reply.session_id for reply in reader.replies(inbox)} == {own}
    assert inbox.session_ids() == {ann.key: [own]}


def test_session_names_of_unknown_approvers_are_refused(reader: Reader) -> None:
    (ann,) = parse_approvers(["79001234567"])
    with pytest.raises(TwinInputError, match="sessions"):
        ApprovalInbox(
            reader.client,
            chat_id=CHAT_ID,
            sessions={"phone:1": "x"},
            approvers=[ann],
            messenger_type=None,
            asked_at=time.time(),
            tag=TAG,
        )


def test_a_forged_widget_session_of_the_approvers_name_is_ignored(
    twin_emulator: TwinEmulator, reader: Reader
) -> None:
    """Anyone may start a widget session of any name with a first message: without our tagged
    message in it, it is nobody's answer."""
    ann, inbox, name = ann_inbox(reader)
    forged = start(twin_emulator, name, clientPhone="79995550000", messageBody="1")
    write(twin_emulator, forged, "yes")
    assert reader.replies(inbox) == []
    own = ask(twin_emulator, ann, name)
    later = start(twin_emulator, name, clientPhone="79995550000", messageBody="1")
    write(twin_emulator, later, "approve")
    assert reader.replies(inbox) == []
    assert inbox.accepted_sessions() == {ann.key: own}
    message_id = write(twin_emulator, own, "2")
    assert [(r.session_id, r.message_id) for r in reader.replies(inbox)] == [(own, message_id)]


def test_only_client_messages_after_our_tagged_message_count(
    twin_emulator: TwinEmulator, reader: Reader
) -> None:
    """A session of the approver's name and client started before our message reached it: what
    the client wrote before answers no question of ours."""
    ann, inbox, name = ann_inbox(reader)
    session_id = start(twin_emulator, name, clientPhone="79001234567", messageBody="1")
    write(twin_emulator, session_id, "approve")
    assert reader.replies(inbox) == []
    assert ask(twin_emulator, ann, name, purpose="help:x") == session_id  # continued: tagged now
    message_id = write(twin_emulator, session_id, "reject")
    assert [r.message_id for r in reader.replies(inbox)] == [message_id]


def test_the_first_accepted_session_locks_the_approvers_client(
    twin_emulator: TwinEmulator, reader: Reader
) -> None:
    ann, inbox, name = ann_inbox(reader)
    own = ask(twin_emulator, ann, name)
    assert reader.replies(inbox) == []
    ann_client = twin_emulator.admin.sessions(chatId=CHAT_ID, limit=1000)["items"][0]["clientId"]
    assert inbox.locked_clients == {ann.key: ann_client}
    # Even a session that somehow holds our tag is not Ann's when another client talks in it.
    twin_emulator.admin.update_settings(bot_greeting=f"Hello ({TAG})")
    other = start(twin_emulator, name, clientPhone="79995550000")
    write(twin_emulator, other, "1")
    assert reader.replies(inbox) == []
    assert inbox.session_ids() == {ann.key: [own]}


def test_of_two_tagged_sessions_of_different_clients_found_at_once_the_older_locks(
    twin_emulator: TwinEmulator, reader: Reader
) -> None:
    ann, inbox, name = ann_inbox(reader)
    own = ask(twin_emulator, ann, name)
    write(twin_emulator, own, "2")
    twin_emulator.admin.update_settings(bot_greeting=f"Hello ({TAG})")  # TWIN tags the next one too
    other = start(twin_emulator, name, clientPhone="79995550000")
    write(twin_emulator, other, "1")
    assert [(r.session_id, r.text) for r in reader.replies(inbox)] == [(own, "2")]
    assert inbox.session_ids() == {ann.key: [own]}


def _message(message_id: str, author: str | None, body: str, at: float, **extra: Any) -> dict[str, Any]:
    return {"id": message_id, "authorType": author, "body": body, "createdAt": _iso(at), **extra}


def test_an_unaccepted_session_is_read_from_the_question_until_our_message_shows(reader: Reader) -> None:
    """TWIN lists our tagged message late (with an earlier createdAt than a reply listed before
    it): the session's read position stays at the question's time, and the reply stays unseen,
    until the session is accepted."""
    (ann,) = parse_approvers(["79001234567"])
    asked_at = time.time()
    inbox = inbox_of(reader, [ann], asked_at)
    twin = ScriptedTwin(inbox, inclusive=True)
    twin.messages = [_message("m-1", "CLIENT", "1", asked_at + 5)]
    assert twin.replies() == []
    twin.messages.insert(0, _message("q", "BOT", f"Deploy? (ref {TAG})", asked_at + 4))
    twin.messages.append(_message("m-2", "CLIENT", "2", asked_at + 6))
    assert twin.replies() == ["1", "2"]
    assert twin.replies() == []


@pytest.mark.parametrize("author", [None, "", "SYSTEM", "CLIENT"])
def test_only_the_bot_or_an_operator_accepts_a_session(reader: Reader, author: str | None) -> None:
    (ann,) = parse_approvers(["79001234567"])
    asked_at = time.time()
    inbox = inbox_of(reader, [ann], asked_at)
    twin = ScriptedTwin(inbox, inclusive=True)
    twin.messages = [
        _message("q", author, f"Deploy? (ref {TAG})", asked_at + 1),
        _message("m-1", "CLIENT", "1", asked_at + 2),
    ]
    assert twin.replies() == []
    assert inbox.accepted_sessions() == {}
    twin.messages.append(_message("o", "OPERATOR", f"Deploy? (ref {TAG})", asked_at + 3))
    twin.messages.append(_message("m-2", "CLIENT", "2", asked_at + 4))
    assert twin.replies() == ["2"]


def test_a_session_that_stays_unaccepted_is_reported_once(reader: Reader) -> None:
    (ann,) = parse_approvers(["79001234567"])
    asked_at = time.time()
    inbox = inbox_of(reader, [ann], asked_at)
    twin = ScriptedTwin(inbox, inclusive=True)
    twin.messages = [_message("m-1", "CLIENT", "1", asked_at + 1)]
    for _ in range(approval_inbox.UNACCEPTED_ROUNDS + 3):
        assert twin.replies() == []
    assert inbox.unaccepted == [(ann.key, "s-1", approval_inbox.UNACCEPTED_ROUNDS)]


def test_after_another_requests_message_only_a_reply_naming_or_quoting_ours_counts(reader: Reader) -> None:
    (ann,) = parse_approvers(["79001234567"])
    asked_at = time.time()
    inbox = inbox_of(reader, [ann], asked_at)
    twin = ScriptedTwin(inbox, inclusive=True)
    ours = _message("q", "BOT", f"Deploy? (ref {TAG})", asked_at + 1)
    other_tag = "#B" + ("AAA" if TAG != "#BAAA" else "BBB")
    twin.messages = [
        ours,
        _message("q2", "BOT", f"Refund? (ref {other_tag})", asked_at + 2),
        _message("m-1", "CLIENT", "2", asked_at + 3),  # the refund request's
        _message("m-2", "CLIENT", "1", asked_at + 4, replyTo={"id": "q", "body": ours["body"]}),
        _message("m-3", "CLIENT", f"{TAG.lower()} 2", asked_at + 5),
        _message("m-4", "CLIENT", f"{other_tag} 1", asked_at + 6),
    ]
    assert twin.replies() == ["1", f"{TAG.lower()} 2"]
