"""One approver, two requests open in the same chat: each reply is read by the request it names.

The TWIN side of two waits (``ApprovalConversation``) against the emulator: each request asks
the approver in a session of its own, and every text names its request (subject and tag). A
reply naming the other request's tag is left to that request (no help, no decision); one naming
this request's tag counts wherever it is written, read without it; an untagged reply is the
request's whose message came last in that session.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from airflow_provider_twin.client import TwinClient, chat_message_procedure
from airflow_provider_twin.client.chat import (
    Approver,
    chat_message,
    conversation_bulk_id,
    parse_approvers,
    question_text,
    session_name,
)
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.triggers.chat_approval_wait import (
    ApprovalConversation,
    ChatDecision,
    ConversationSettings,
)
from tests.unit.chat.chat_fixtures import CHAT_ID, emulator_config

pytestmark = pytest.mark.integration

OPTIONS = ("Approve", "Reject")
ANNA_PHONE = "79001234567"


def settings(request_key: str, subject: str, approver: Approver, asked_at: float) -> ConversationSettings:
    return ConversationSettings(
        request_key=request_key,
        subject=subject,
        chat_id=CHAT_ID,
        approvers=(approver,),
        session_names={approver.key: session_name(request_key, approver, subject)},
        options=OPTIONS,
        multiple=False,
        language="en",
        messenger_type=None,
        bot_id=None,
        asked_at=asked_at,
    )


def ask(emulator: TwinEmulator, asked: ConversationSettings) -> str:
    """Send the question as the operator does; the id of the session it opened."""
    (approver,) = asked.approvers
    name = asked.session_names[approver.key]
    text = question_text(asked.subject, None, asked.options, asked.multiple, None, "en", tag=asked.tag)
    message = chat_message(approver, chat_id=CHAT_ID, session_name=name, text=text, continue_session=False)
    with TwinClient(emulator_config(emulator)) as twin:
        twin.run(
            chat_message_procedure(message, conversation_bulk_id(asked.request_key, approver, "question"))
        )
    [session] = [s for s in emulator.admin.sessions(chatId=CHAT_ID, limit=1000)["items"] if s["name"] == name]
    session_id: str = session["id"]
    return session_id


async def deploy_asked(emulator: TwinEmulator) -> tuple[ConversationSettings, str]:
    """Ask Anna to approve "Deploy release 42?"; the request and the session it opened."""
    (anna,) = parse_approvers([ANNA_PHONE])
    deploy = settings("ti-deploy#1", "Deploy release 42?", anna, time.time())
    return deploy, await asyncio.to_thread(ask, emulator, deploy)


@contextlib.asynccontextmanager
async def conversation(asked: ConversationSettings) -> AsyncIterator[ApprovalConversation]:
    async with contextlib.AsyncExitStack() as stack:
        opened = await ApprovalConversation.open(
            stack, "twin_default", asked, realtime=False, label=asked.subject
        )
        assert opened is not None
        yield opened


def reply(emulator: TwinEmulator, session_id: str, body: str) -> str:
    message_id: str = emulator.admin.reply_in_chat(body, session_id=session_id)["id"]
    return message_id


def chosen(decisions: list[ChatDecision]) -> list[tuple[str, list[str]]]:
    return [(decision.reply.text, decision.chosen) for decision in decisions]


def bot_texts(emulator: TwinEmulator, session_id: str) -> list[str]:
    [session] = [
        s for s in emulator.admin.sessions(chatId=CHAT_ID, limit=1000)["items"] if s["id"] == session_id
    ]
    return [m["body"] for m in session.get("messages", []) if m.get("authorType") == "BOT"]


async def test_each_of_two_requests_to_one_approver_reads_only_the_replies_meant_for_it(
    twin_emulator: TwinEmulator, twin_connection_env: str
) -> None:
    (anna,) = parse_approvers([ANNA_PHONE])
    deploy = settings("ti-deploy#1", "Deploy release 42?", anna, time.time())
    refund = settings("ti-refund#1", "Refund order 7?", anna, time.time())
    assert deploy.tag != refund.tag
    deploy_session = await asyncio.to_thread(ask, twin_emulator, deploy)
    refund_session = await asyncio.to_thread(ask, twin_emulator, refund)
    [deploy_question] = await asyncio.to_thread(bot_texts, twin_emulator, deploy_session)
    assert deploy_question.startswith(f"Deploy release 42? (ref {deploy.tag})\n")
    assert f'start the answer with the reference, e.g. "{deploy.tag} 1"' in deploy_question

    async with conversation(deploy) as deploying, conversation(refund) as refunding:
        assert await deploying.decisions() == []  # each locks Anna's client: her sessions are read
        assert await refunding.decisions() == []
        # Anna answers the deploy question where the refund question is (her latest session):
        # the deploy request reads it there; the refund request leaves it, without help.
        await asyncio.to_thread(reply, twin_emulator, refund_session, f"{deploy.tag} 2")
        assert chosen(await deploying.decisions()) == [(f"{deploy.tag} 2", ["Reject"])]
        assert await refunding.decisions() == []
        assert len(await asyncio.to_thread(bot_texts, twin_emulator, refund_session)) == 1
        # An untagged reply belongs to the request whose message came last where it is written.
        await asyncio.to_thread(reply, twin_emulator, refund_session, "1")
        assert chosen(await refunding.decisions()) == [("1", ["Approve"])]
        assert await deploying.decisions() == []
        await asyncio.to_thread(reply, twin_emulator, deploy_session, "2")
        assert chosen(await deploying.decisions()) == [("2", ["Reject"])]
        assert await refunding.decisions() == []
        # A tagged one counts wherever it is.
        await asyncio.to_thread(reply, twin_emulator, deploy_session, f"ref {refund.tag.lower()}: yes")
        assert chosen(await refunding.decisions()) == [(f"ref {refund.tag.lower()}: yes", ["Approve"])]
        assert await deploying.decisions() == []
    assert len(await asyncio.to_thread(bot_texts, twin_emulator, deploy_session)) == 1  # no help


@pytest.mark.parametrize("text", ["#done 1", "1 #sale", "yes #Blue"])
async def test_a_hash_word_of_no_known_request_gets_help_naming_this_one(
    twin_emulator: TwinEmulator, twin_connection_env: str, text: str
) -> None:
    deploy, session_id = await deploy_asked(twin_emulator)
    async with conversation(deploy) as deploying:
        await asyncio.to_thread(reply, twin_emulator, session_id, text)
        assert await deploying.decisions() == []
    texts = await asyncio.to_thread(bot_texts, twin_emulator, session_id)
    assert texts[-1].startswith(f"Deploy release 42? (ref {deploy.tag})\nPlease answer")


async def test_options_that_look_like_tags_are_read_as_options(
    twin_emulator: TwinEmulator, twin_connection_env: str
) -> None:
    (anna,) = parse_approvers([ANNA_PHONE])
    colours = replace(
        settings("ti-colour#1", "Colours?", anna, time.time()), options=("#Blue", "#Red"), multiple=True
    )
    session_id = await asyncio.to_thread(ask, twin_emulator, colours)
    async with conversation(colours) as choosing:
        await asyncio.to_thread(reply, twin_emulator, session_id, "#Blue, #Red")
        assert chosen(await choosing.decisions()) == [("#Blue, #Red", ["#Blue", "#Red"])]


async def test_no_help_after_a_decision_in_the_same_read(
    twin_emulator: TwinEmulator, twin_connection_env: str
) -> None:
    deploy, session_id = await deploy_asked(twin_emulator)
    async with conversation(deploy) as deploying:
        await asyncio.to_thread(reply, twin_emulator, session_id, "yes")
        await asyncio.to_thread(reply, twin_emulator, session_id, "thanks!")
        assert chosen(await deploying.decisions()) == [("yes", ["Approve"])]
    assert len(await asyncio.to_thread(bot_texts, twin_emulator, session_id)) == 1


async def test_a_reply_with_only_the_tag_gets_help_naming_the_request(
    twin_emulator: TwinEmulator, twin_connection_env: str
) -> None:
    deploy, session_id = await deploy_asked(twin_emulator)
    async with conversation(deploy) as deploying:
        await asyncio.to_thread(reply, twin_emulator, session_id, deploy.tag)
        assert await deploying.decisions() == []
    texts = await asyncio.to_thread(bot_texts, twin_emulator, session_id)
    assert texts[-1].startswith(
        f"Deploy release 42? (ref {deploy.tag})\nPlease answer with the number or the text of an option:"
    )


async def test_a_round_lists_the_sessions_once_then_the_chat_too(
    twin_emulator: TwinEmulator, twin_connection_env: str
) -> None:
    """Once the first read locked the approver's client, each round also lists the chat's
    sessions since the question (the approver's other sessions)."""
    deploy, session_id = await deploy_asked(twin_emulator)
    async with conversation(deploy) as deploying:
        before = len(await asyncio.to_thread(listings, twin_emulator))
        assert await deploying.decisions() == []
        assert len(await asyncio.to_thread(listings, twin_emulator)) == before + 1
        assert deploying.inbox.accepted_sessions() == {deploy.approvers[0].key: session_id}
        assert await deploying.decisions() == []
        assert len(await asyncio.to_thread(listings, twin_emulator)) == before + 3


def listings(emulator: TwinEmulator) -> list[dict[str, Any]]:
    """The session listings TWIN answered so far."""
    return [r for r in emulator.admin.requests(method="GET", limit=1000) if r["path"].endswith("/sessions")]
