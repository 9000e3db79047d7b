"""What a chat approval's wait knows of its request, and what it finds: the settings, a decision.

:class:`ConversationSettings` is the request as the trigger's kwargs give it (what TWIN is asked
and where); :class:`ChatDecision` is an approver's reply that chooses options; :class:`WaitFailed`
ends the wait with a failure event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from airflow_provider_twin.client import TwinAuthError, TwinConfigError, error_summary
from airflow_provider_twin.client.chat import Approver, ApproverReply, request_tag


class WaitFailed(Exception):
    """The wait cannot go on: reported as a failure event (``error_type`` "unknown")."""


def permanent(exc: BaseException) -> bool:
    """A TWIN or connection error no retry fixes: bad credentials or settings, no connection."""
    from airflow.sdk.exceptions import AirflowNotFoundException  # noqa: PLC0415

    return isinstance(exc, (TwinAuthError, TwinConfigError, AirflowNotFoundException))


def cannot_work(twin_conn_id: str, exc: BaseException) -> WaitFailed:
    """The failure that ends the wait when the connection ``twin_conn_id`` cannot work."""
    return WaitFailed(f"the TWIN connection {twin_conn_id!r} cannot work: {error_summary(exc)}")


@dataclass(frozen=True)
class ChatDecision:
    """A reply that chooses options: who chose what, where."""

    approver: Approver
    reply: ApproverReply
    chosen: list[str]

    def twin_info(self) -> dict[str, str]:
        """Where the answer was given, for the trigger event."""
        return {
            "approver": self.approver.key,
            "session_id": self.reply.session_id,
            "message_id": self.reply.message_id,
        }

    def responder(self) -> dict[str, str]:
        """The answer's author, as Airflow names a responder (``HITLUser``)."""
        return {"id": f"twin:{self.approver.key}", "name": f"{self.approver.name} (TWIN chat)"}


@dataclass(frozen=True)
class ConversationSettings:
    """What a chat approval asks and where (the trigger's kwargs that concern TWIN)."""

    request_key: str
    subject: str
    chat_id: str
    approvers: Sequence[Approver]
    session_names: Mapping[str, str]
    options: Sequence[str]
    multiple: bool
    language: str
    messenger_type: str | None
    bot_id: str | None
    asked_at: float

    @property
    def tag(self) -> str:
        """The request's reference tag, which every message to the approvers carries."""
        return request_tag(self.request_key)


__all__ = ["ChatDecision", "ConversationSettings", "WaitFailed", "cannot_work", "permanent"]
