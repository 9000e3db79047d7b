"""The chat sessions a campaign's ``chat`` channel opened, found after the send.

A Notify message with a ``chat`` channel opens (or continues) a chat session per recipient when
it is sent (twin-api.md §3.2.4, seed 000), but ``POST /messages`` answers no session id (§3.2.8).
:class:`CampaignChatSessions` therefore watches the chunks a send makes, remembers each chat
channel's ``chatId`` and ``chatSessionName`` and the recipients it reached, and after the send
looks the sessions up with the documented filters ``GET /sessions?chatId=&name=`` (§4.4):

* only sessions started since the send (``from``, less :data:`CLOCK_SLACK_SECONDS`) count; with
  ``continueLastOrStartNewSession`` also older open sessions whose last message came since then
  (the message continued them): their lookup keeps a ``from`` filter :data:`CONTINUED_LOOKBACK_SECONDS`
  earlier (ASSUMPTION: a continued session started within that time) and reads at most
  :data:`MAX_PAGES` pages;
* sessions open when the message is sent: a message with a future ``sendAt`` has none yet. Its
  recipients are counted as ``delayed`` and not waited for (list them later with
  :func:`~.session_actions.find_sessions`, ``chat_id`` and ``name``);
* the lookup waits at most ``wait_seconds`` for the sessions of the recipients whose first channel
  is ``chat`` (TWIN may open them a moment after answering); a ``chat`` channel behind another one
  only opens a session when the earlier channel failed, so those are looked up, not waited for;
* **matching a session to a recipient**: by ``clientId`` (documented in the session object,
  §4.4), else by ``messengerUserId``, ``clientExternalId``, ``clientPhone`` (digits) or
  ``clientEmail`` when the session object carries them (ASSUMPTION: §4.4 does not list them; the
  emulator shows them); a one-recipient send takes its one session. A session matched to nobody
  is still listed (``index`` None, after the matched ones, counted in ``unmatched``); once
  matching is possible (a recipient has a ``clientId``, or a session matched), only matched
  sessions count towards ``expected``, so someone else's sessions never end the wait early.

Give each task instance its own ``chatSessionName`` (e.g. ``{{ run_id }}-{{ ti.map_index }}``):
two sends with the same chat and name at the same time cannot be told apart, and the mapped
instances of one run share the run's start as ``since``. The result is bounded (``limit`` sessions) and
holds no address: recipients are named by their index in the send. Pure: no Airflow.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, Literal, TypedDict, TypeVar

from airflow_provider_twin.client.chat.api import list_sessions
from airflow_provider_twin.client.chat.models import SessionPage
from airflow_provider_twin.client.core.calls import ApiCall, next_page
from airflow_provider_twin.client.core.flows import Procedure, Sleep
from airflow_provider_twin.client.core.phones import normalize_phone

C = TypeVar("C")

#: How far before the send a session may have started and still count: TWIN's clock and the
#: worker's may disagree by this much.
CLOCK_SLACK_SECONDS = 60.0
#: How long the lookup waits for sessions TWIN has not shown yet, and how often it looks.
DEFAULT_WAIT_SECONDS = 10.0
POLL_SECONDS = 1.0
#: Most sessions the summary lists, and most distinct (chat, session name) pairs looked up.
DEFAULT_SESSION_LIMIT = 1000
MAX_LOOKUPS = 20
PAGE_SIZE = 100
#: Most pages read per (chat, session name) lookup.
MAX_PAGES = 10
#: How long before the send a session continued by ``continueLastOrStartNewSession`` may have
#: started and still be looked up (``from`` of its lookup).
CONTINUED_LOOKBACK_SECONDS = 7 * 24 * 3600.0

#: Session object field -> destination field naming the same client (see the module docstring).
_IDENTITY: tuple[tuple[str, str], ...] = (
    ("clientId", "clientId"),
    ("messengerUserId", "messengerUserId"),
    ("clientExternalId", "externalId"),
    ("clientPhone", "phone"),
    ("clientEmail", "email"),
)

Status = Literal["found", "partial", "delayed", "none"]


class CampaignSession(TypedDict):
    """One session of the send: its id, and the recipient's index in the send (None: unmatched)."""

    session_id: str
    index: int | None
    chat_id: str | None
    client_id: str | None
    started_at: str | None
    status: str | None


class CampaignSessionsSummary(TypedDict):
    """The summary's ``chat_sessions``: what was found, how many were expected, and why not all."""

    status: Status
    sessions: list[CampaignSession]
    expected: int
    found: int
    delayed: int
    unmatched: int
    truncated: bool
    note: str


def _key(field: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    if field == "phone":
        digits = normalize_phone(value)
        return None if digits is None else f"phone:{digits}"
    return f"{field}:{value.strip().lower()}"


def _future(send_at: Any, now: float) -> bool:
    if not isinstance(send_at, str) or not send_at:
        return False
    try:
        moment = datetime.fromisoformat(send_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp() > now


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=timezone.utc).isoformat(timespec="milliseconds")


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class CampaignChatSessions:
    """Records a send's chat channels (:meth:`watch`), then finds their sessions (:meth:`finding`).

    :param since: when the send began (seconds since the epoch); a retried send gives the first
        try's start (e.g. the DAG run's), so the sessions of an earlier try still count.
    :param limit: most sessions listed and recipients remembered for matching.
    """

    def __init__(self, *, since: float, limit: int = DEFAULT_SESSION_LIMIT) -> None:
        self.since = since
        self.limit = max(1, int(limit))
        #: (chatId, chatSessionName) -> continueLastOrStartNewSession of any of its messages.
        self.lookups: dict[tuple[str, str], bool] = {}
        self.recipients: dict[str, int] = {}
        self.first = 0
        self.later = 0
        self.delayed = 0
        self.seen = 0

    @property
    def present(self) -> bool:
        """Whether any message of the send had a ``chat`` channel with a chat and a session name."""
        return bool(self.lookups) or self.delayed > 0

    def watch(self, chunks: Iterable[C]) -> Iterator[C]:
        """Pass the send's chunks on unchanged, recording each one's chat channels (lazily)."""
        for chunk in chunks:
            self.record(getattr(chunk, "messages", []), int(getattr(chunk, "first_index", 0)))
            yield chunk

    def record(self, messages: Iterable[Mapping[str, Any]], first_index: int) -> None:
        """Remember the chat channels of a chunk's ``messages`` and whom they reach."""
        index = first_index
        now = time.time()
        for message in messages:
            destinations = message.get("destinations") or []
            channels = message.get("channels")
            names = [str(name).lower() for name in channels] if isinstance(channels, Mapping) else []
            chat = (
                list(channels.values())[names.index("chat")]
                if isinstance(channels, Mapping) and "chat" in names
                else None
            )
            if not isinstance(chat, Mapping) or not chat.get("chatId") or not chat.get("chatSessionName"):
                index += len(destinations)
                continue
            count = len(destinations)
            if _future(message.get("sendAt"), now):
                self.delayed += count
                index += count
                continue
            pair = (str(chat["chatId"]).lower(), str(chat["chatSessionName"]))
            if pair in self.lookups or len(self.lookups) < MAX_LOOKUPS:
                self.lookups[pair] = (
                    self.lookups.get(pair, False) or chat.get("continueLastOrStartNewSession") is True
                )
            if names[0] == "chat" and not message.get("allowedTimeRanges"):
                self.first += count
            else:
                self.later += count
            for destination in destinations:
                self._remember(destination, index)
                index += 1

    def _remember(self, destination: Mapping[str, Any], index: int) -> None:
        self.seen += 1
        if len(self.recipients) >= 5 * self.limit:
            return
        for _, field in _IDENTITY:
            key = _key(field, destination.get(field))
            if key is not None:
                self.recipients.setdefault(key, index)

    def _recipient(self, info: Mapping[str, Any]) -> int | None:
        for session_field, field in _IDENTITY:
            key = _key(field, info.get(session_field))
            if key is not None and key in self.recipients:
                return self.recipients[key]
        if self.seen == 1 and len(set(self.recipients.values())) == 1:
            return next(iter(self.recipients.values()))
        return None

    def _belongs(self, info: Mapping[str, Any], continued: bool) -> bool:
        floor = self.since - CLOCK_SLACK_SECONDS
        started = _epoch(info.get("startedAt"))
        if started is not None and started >= floor:
            return True
        last = _epoch(info.get("lastMessageCreatedAt"))
        return continued and last is not None and last >= floor

    def _list(self) -> Procedure[tuple[dict[str, CampaignSession], bool]]:
        found: dict[str, CampaignSession] = {}
        truncated = False
        for (chat_id, name), continued in self.lookups.items():
            back = CLOCK_SLACK_SECONDS + (CONTINUED_LOOKBACK_SECONDS if continued else 0.0)
            window: dict[str, Any] = {"from": _iso(self.since - back)}
            call: ApiCall[SessionPage] | None = list_sessions(
                limit=PAGE_SIZE, chatId=chat_id, name=name, **window
            )
            pages = 0
            while call is not None:
                page = yield call
                pages += 1
                for info in page["items"]:
                    if not isinstance(info, Mapping) or not isinstance(info.get("id"), str):
                        continue
                    if info.get("name") not in (None, name) or not self._belongs(info, continued):
                        continue
                    if len(found) >= self.limit and info["id"] not in found:
                        truncated = True
                        continue
                    found[info["id"]] = CampaignSession(
                        session_id=info["id"],
                        index=self._recipient(info),
                        chat_id=info.get("chatId") or chat_id,
                        client_id=info.get("clientId") if isinstance(info.get("clientId"), str) else None,
                        started_at=info.get("startedAt") if isinstance(info.get("startedAt"), str) else None,
                        status=info.get("status") if isinstance(info.get("status"), str) else None,
                    )
                call = None if truncated else next_page(call, page)
                if call is not None and pages >= MAX_PAGES:
                    truncated, call = True, None
        return found, truncated

    def _counted(self, found: Mapping[str, CampaignSession]) -> int:
        """Sessions that count towards ``expected``: the matched ones once matching is possible."""
        matched = sum(1 for session in found.values() if session["index"] is not None)
        possible = matched > 0 or any(key.startswith("clientId:") for key in self.recipients)
        return matched if possible else len(found)

    def finding(
        self, *, rejected: int = 0, wait_seconds: float = DEFAULT_WAIT_SECONDS
    ) -> Procedure[CampaignSessionsSummary]:
        """Look the sessions up, waiting up to ``wait_seconds`` for the expected ones.

        :param rejected: recipients TWIN refused (they open no session), taken off the expectation.
        """
        expected = max(0, min(self.first, self.limit) - rejected)
        deadline = time.monotonic() + max(0.0, wait_seconds)
        found: dict[str, CampaignSession] = {}
        truncated = False
        while self.lookups:
            found, truncated = yield from self._list()
            if self._counted(found) >= expected or truncated or time.monotonic() >= deadline:
                break
            yield Sleep(POLL_SECONDS)
        sessions = sorted(
            found.values(), key=lambda s: (s["index"] is None, s["index"] or 0, s["started_at"] or "")
        )
        return CampaignSessionsSummary(
            status=_status(self._counted(found), expected, self.delayed),
            sessions=sessions,
            expected=expected,
            found=len(sessions),
            delayed=self.delayed,
            unmatched=sum(1 for session in sessions if session["index"] is None),
            truncated=truncated,
            note=self._note(self._counted(found), expected, truncated, len(sessions) - self._counted(found)),
        )

    def _note(self, found: int, expected: int, truncated: bool, others: int) -> str:
        parts = [f"{found} chat session(s) found for {expected} recipient(s) whose first channel is chat"]
        if others:
            parts.append(f"{others} more session(s) of the chat and name matched no recipient (listed last)")
        if self.later:
            parts.append(
                f"{self.later} recipient(s) reach chat as a fallback or within send windows: their "
                "sessions open only when the chat attempt is sent, and were looked up once"
            )
        if self.delayed:
            parts.append(
                f"{self.delayed} recipient(s) have a later sendAt: their sessions open then "
                "(list them later by chat_id and name)"
            )
        if truncated:
            parts.append(f"more sessions than the limit of {self.limit}: the rest are not listed")
        return "; ".join(parts)


def _status(found: int, expected: int, delayed: int) -> Status:
    if found and found >= expected:
        return "found"
    if found:
        return "partial"
    return "delayed" if delayed else "none"


__all__ = [
    "DEFAULT_SESSION_LIMIT",
    "DEFAULT_WAIT_SECONDS",
    "CampaignChatSessions",
    "CampaignSession",
    "CampaignSessionsSummary",
]
