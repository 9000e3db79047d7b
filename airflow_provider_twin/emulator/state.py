"""The whole mutable state of one emulator instance, shared by the routes and the Python API."""

from __future__ import annotations

import gc
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request

from .chat_channel_sessions import ChatChannelSessions
from .clock import wall_clock
from .counters import Counters, RequestLog
from .faults import FaultRegistry
from .file_store import FileStore
from .message_store import MessageStore
from .outcomes import OutcomePicker
from .session_store import SessionStore
from .settings import Account, EmulatorSettings
from .task_store import TaskStore
from .template_store import TemplateStore
from .tokens import TokenIssuer
from .webhook_delivery import WebhookDispatcher

#: Stored records between two :func:`gc.freeze` calls (see :meth:`EmulatorState.note_stored`).
GC_FREEZE_EVERY = 20_000


def account_subject(account: Account) -> str:
    """Stable user id (JWT ``sub``) of an account."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://twin24.ai/emulator/users/{account.email.lower()}"))


class EmulatorState:
    """Settings, stores, counters and faults behind one lock.

    Route handlers hold :attr:`lock` while they touch the state; code in other threads that reads or
    changes the state directly (tests using ``TwinEmulator.state``) should hold it as well.
    """

    def __init__(
        self, settings: EmulatorSettings | None = None, clock: Callable[[], float] = wall_clock
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.settings = (settings or EmulatorSettings()).validated()
        self.tokens = TokenIssuer()
        self.messages = MessageStore()
        self.sessions = SessionStore()
        #: Notify templates (twin-api.md §3.7, :mod:`.template_store`).
        self.templates = TemplateStore()
        #: Send jobs (twin-api.md §3.6); their running rows become messages (:mod:`.task_store`).
        self.tasks = TaskStore()
        #: Files uploaded to IAM's file storage (``POST /files``).
        self.files = FileStore()
        self.counters = Counters()
        self.request_log = RequestLog(self.settings.request_log_size)
        self.faults = FaultRegistry(self._rng("faults"))
        self.picker = OutcomePicker(self.settings, self._rng("outcomes"))
        #: Sends the status webhooks of ``callbackUrl`` messages (:mod:`.webhook_delivery`).
        self.webhooks = WebhookDispatcher(self)
        self.messages.webhooks.on_add = self.webhooks.ensure_running
        #: Chat sessions opened by the ``chat`` channel of Notify messages, when they are sent.
        self.chat_channel = ChatChannelSessions(
            self.messages.records, self.sessions, lambda: self.settings, self.now
        )
        self.messages.on_chat_segments = self.chat_channel.add_segments
        self.sessions.settle = self.chat_channel.settle
        self._stored_since_freeze = 0
        self.clock_offset = 0.0

    def now(self) -> float:
        """The emulator's time: the wall clock plus any fast-forward (see :meth:`advance_clock`)."""
        return self.clock() + self.clock_offset

    def token_now(self) -> float:
        """The time tokens are issued and judged by: the wall clock, never fast-forwarded.

        A client decides from its own clock whether a token's ``exp`` has passed (twin-api.md
        §2.5, §8); judging tokens by the fast-forwarded clock would refuse tokens whose ``exp``
        the client still reads as ahead.
        """
        return self.clock()

    def advance_clock(self, seconds: float) -> float:
        """Fast-forward the emulator's time, so pending deliveries, delays and TTLs come due now.

        Tests use it to decide *when* messages reach their final status instead of sleeping.
        Tokens are not affected (:meth:`token_now`). Returns the total offset.
        """
        with self.lock:
            self.clock_offset += seconds
            offset = self.clock_offset
        self.webhooks.wake()
        return offset

    def note_stored(self, records: int) -> None:
        """Keep the garbage collector from rescanning the growing store.

        Every stored message adds long-lived objects; CPython's full collections would walk all of them
        again and again, which costs more than storing the messages. After every
        :data:`GC_FREEZE_EVERY` records the young generations are collected (cheap) and everything that
        survived is moved to the permanent generation with :func:`gc.freeze`. Objects freed later by
        reference counting are still released. Disable with the setting ``gc_freeze`` when the hosting
        process must not be affected.
        """
        if not self.settings.gc_freeze:
            return
        self._stored_since_freeze += records
        if self._stored_since_freeze >= GC_FREEZE_EVERY:
            self._stored_since_freeze = 0
            gc.collect(1)
            gc.freeze()

    def _rng(self, purpose: str) -> random.Random:
        seed = self.settings.seed
        return random.Random(None if seed is None else f"{purpose}:{seed}")

    def reset(self) -> None:
        """Forget messages, sessions, counters, the request log, faults, webhook deliveries and forced
        token expiries.

        Settings, the signing secret and refresh tokens stay, so clients keep working.
        """
        with self.lock:
            self.messages.reset()
            self.tasks.reset()
            self.chat_channel.reset()
            self.sessions.reset()
            self.templates.reset()
            self.files.reset()
            self.webhooks.reset()
            self.counters.clear()
            self.request_log.clear()
            self.faults.clear()
            self.faults.reseed(self._rng("faults"))
            self.tokens.clear_expiry_mark()
            self.picker = OutcomePicker(self.settings, self._rng("outcomes"))
            self.clock_offset = 0.0

    def update_settings(self, patch: Mapping[str, Any]) -> EmulatorSettings:
        """Apply a partial update (raises ``SettingsError``); new values apply to new messages only."""
        with self.lock:
            self.settings = self.settings.updated(patch)
            self._settings_changed(reseed="seed" in patch)
            return self.settings

    def replace_settings(self, settings: EmulatorSettings) -> None:
        """Install complete settings (e.g. restore the start-up settings between tests)."""
        with self.lock:
            validated = settings.validated()
            reseed = validated.seed != self.settings.seed
            self.settings = validated
            self._settings_changed(reseed=reseed)

    def _settings_changed(self, reseed: bool) -> None:
        if reseed:
            self.faults.reseed(self._rng("faults"))
            self.picker = OutcomePicker(self.settings, self._rng("outcomes"))
        else:
            # Keep the random sequence running; only the rules and weights change.
            self.picker = OutcomePicker(self.settings, self.picker.rng)

    def sweep_sessions(self) -> int:
        """Fire the ``session_closed`` events of the sessions closed by now; returns how many fired."""
        with self.lock:
            return self.sessions.sweep(self.now())

    def find_account(self, email: str) -> Account | None:
        for account in self.settings.accounts:
            if account.email.lower() == email.lower():
                return account
        return None

    def account_by_subject(self, subject: str) -> Account | None:
        for account in self.settings.accounts:
            if account_subject(account) == subject:
                return account
        return None

    def counters_snapshot(self) -> dict[str, Any]:
        """The body of ``GET /_emulator/counters``."""
        with self.lock:
            store = self.messages
            return {
                "requests": dict(self.counters.requests),
                "responses_by_status": dict(self.counters.responses_by_status),
                "messages_created": store.messages_created,
                "destinations_created": store.destinations_created,
                "records_created": store.records_created,
                "duplicate_pairs": store.duplicate_pairs,
                "duplicate_destinations": store.duplicate_destinations,
                "logins": self.counters.logins,
                "refreshes": self.counters.refreshes,
                "sessions_started": self.sessions.sessions_started,
                "dropped_responses": self.counters.dropped_responses,
                "faults_applied": self.faults.applied,
            }


def state_of(request: Request) -> EmulatorState:
    """The emulator state of the application serving ``request`` (set by ``create_app``)."""
    state: EmulatorState = request.app.state.twin
    return state
