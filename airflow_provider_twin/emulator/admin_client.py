"""A small synchronous client of the emulator's admin API (``/_emulator``)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx


class EmulatorAdmin:
    """Calls the admin API of a running emulator; every method raises ``httpx.HTTPStatusError`` on 4xx/5xx."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=f"{self.base_url}/_emulator", timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> EmulatorAdmin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._client.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    @staticmethod
    def _params(filters: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for key, value in filters.items():
            if value is None:
                continue
            if isinstance(value, list | tuple | set | frozenset):
                params[key] = ",".join(str(item) for item in value)
            else:
                params[key] = value
        return params

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/health")
        return result

    def reset(self) -> None:
        """Forget messages, sessions, counters, the request log and faults (settings stay)."""
        self._call("POST", "/reset")

    def settings(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/settings")
        return result

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """Change settings, e.g. ``update_settings(delivery_seconds=0.1, seed=7)``; returns all settings."""
        result: dict[str, Any] = self._call("PATCH", "/settings", json=changes)
        return result

    def messages(self, **filters: Any) -> dict[str, Any]:
        """State dump ``{"count", "items"}``; filters ``bulkId``, ``groupId``, ``flowId``, ``status``,
        ``channel``, ``limit``, ``offset`` (lists are joined with commas)."""
        result: dict[str, Any] = self._call("GET", "/messages", params=self._params(filters))
        return result

    def sessions(self, **filters: Any) -> dict[str, Any]:
        """Chat sessions ``{"count", "items"}``; filters ``chatId``, ``status``, ``limit``, ``offset``."""
        result: dict[str, Any] = self._call("GET", "/sessions", params=self._params(filters))
        return result

    def tasks(self, **filters: Any) -> dict[str, Any]:
        """Send jobs ``{"count", "items"}`` as ``GET /tasks`` lists them, each with ``nextWindowAt``
        (when a running job outside its send windows sends again, else None); ``limit``, ``offset``."""
        result: dict[str, Any] = self._call("GET", "/tasks", params=self._params(filters))
        return result

    def webhooks(self, **filters: Any) -> dict[str, Any]:
        """Status webhook deliveries ``{"count", "pending", "items"}``, oldest first; filters
        ``messageId``, ``result``, ``newStatus``, ``limit``, ``offset``."""
        result: dict[str, Any] = self._call("GET", "/webhooks", params=self._params(filters))
        return result

    def clear_webhooks(self) -> int:
        """Forget the webhook deliveries listed so far; returns how many were forgotten."""
        result: int = self._call("DELETE", "/webhooks")["removed"]
        return result

    def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/counters")
        return result

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Recent requests, oldest first; filters ``method``, ``route``, ``path``, ``status``, ``limit``."""
        result: list[dict[str, Any]] = self._call("GET", "/requests", params=self._params(filters))["items"]
        return result

    def add_fault(self, **rule: Any) -> int:
        """Add a fault rule (see the docs for the keys) and return its id."""
        result: int = self._call("POST", "/faults", json=rule)["id"]
        return result

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/faults")
        return result

    def remove_fault(self, fault_id: int) -> None:
        self._call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def advance_clock(self, seconds: float) -> float:
        """Fast-forward the emulator's clock; returns the total offset. ``reset()`` undoes it."""
        result: dict[str, Any] = self._call("POST", "/clock/advance", json={"seconds": seconds})
        return float(result["offset_seconds"])

    def expire_tokens(self, after_seconds: float = 0) -> dict[str, Any]:
        """Every token expires ``after_seconds`` from now: tokens issued so far are refused from
        then on, tokens issued until then carry that moment as their ``exp``."""
        result: dict[str, Any] = self._call("POST", "/tokens/expire", json={"after_seconds": after_seconds})
        return result

    def mint_token(self, ttl: float = 86400, email: str | None = None) -> str:
        """A static "API help" token for the first account (or ``email``)."""
        body: dict[str, Any] = {"ttl": ttl}
        if email is not None:
            body["email"] = email
        result: str = self._call("POST", "/tokens", json=body)["token"]
        return result

    def close_session(
        self,
        session_id: str,
        after_seconds: float = 0,
        rating_required: bool = False,
        rating: int | None = None,
    ) -> dict[str, Any]:
        """Close a chat session now or after ``after_seconds``, optionally with the client's
        ``rating`` (1-5); returns the session object."""
        body: dict[str, Any] = {"after_seconds": after_seconds, "rating_required": rating_required}
        if rating is not None:
            body["rating"] = rating
        result: dict[str, Any] = self._call("POST", f"/sessions/{session_id}/close", json=body)
        return result

    def rate_session(self, session_id: str, rating: int | None) -> dict[str, Any]:
        """The client rates closed session ``session_id`` (1-5, or None to take a rating back), as
        TWIN asks after a close; returns the session object."""
        result: dict[str, Any] = self._call("POST", f"/sessions/{session_id}/rate", json={"rating": rating})
        return result

    # -- many events at once (benchmarks; see docs/emulator.md, "Making many events") --------------
    def make_messages(self, count: int, status: str = "DELIVERED", **options: Any) -> dict[str, Any]:
        """``count`` messages reaching ``status``; options ``channel``, ``delivery_seconds``,
        ``bulk_id``, ``callback_url``, ``callback_data``. Returns ids and times."""
        body = {"count": count, "status": status, **options}
        result: dict[str, Any] = self._call("POST", "/messages", json=body)
        return result

    def start_sessions(self, count: int, **options: Any) -> list[dict[str, Any]]:
        """Start ``count`` chat sessions; options ``chat_id``, ``ttl``, ``message_body``."""
        result: list[dict[str, Any]] = self._call(
            "POST", "/sessions/start-many", json={"count": count, **options}
        )["items"]
        return result

    def post_client_messages(self, **options: Any) -> list[dict[str, Any]]:
        """Client messages into open sessions; options ``session_ids``, ``chat_id``, ``count``,
        ``per_session``, ``body``."""
        result: list[dict[str, Any]] = self._call("POST", "/sessions/client-messages", json=options)["items"]
        return result

    def reply_in_chat(
        self,
        body: str,
        *,
        session_id: str | None = None,
        session_name: str | None = None,
        chat_id: str | None = None,
        phone: str | None = None,
        messenger_user_id: str | None = None,
        client_id: str | None = None,
        external_id: str | None = None,
    ) -> dict[str, Any]:
        """The client of an open chat session replies ``body`` (a ``CLIENT`` message).

        The session is found by every criterion given (at least one besides ``chat_id``): its id,
        its name, or the client's phone (compared digit by digit), messenger user id, client id or
        external id; ``chat_id`` narrows them to one chat. The latest started of several gets the
        reply. Returns ``{"id", "createdAt", "sessionId"}``; no open session matches: 404.
        """
        fields = {
            "body": body,
            "sessionId": session_id,
            "sessionName": session_name,
            "chatId": chat_id,
            "phone": phone,
            "messengerUserId": messenger_user_id,
            "clientId": client_id,
            "externalId": external_id,
        }
        payload = {key: value for key, value in fields.items() if value is not None}
        result: dict[str, Any] = self._call("POST", "/chat/replies", json=payload)
        return result

    def close_sessions(self, **options: Any) -> list[dict[str, Any]]:
        """Close open sessions; options ``session_ids``, ``chat_id``, ``count``, ``after_seconds``,
        ``rating_required``, ``rating``."""
        result: list[dict[str, Any]] = self._call("POST", "/sessions/close-many", json=options)["items"]
        return result

    # -- realtime websocket (see docs/emulator.md, "Realtime websocket") ------------------------------
    def realtime(self) -> dict[str, Any]:
        """Websocket settings, counters and open connections."""
        result: dict[str, Any] = self._call("GET", "/centrifugo")
        return result

    def update_realtime(self, **changes: Any) -> dict[str, Any]:
        """Change websocket settings, e.g. ``update_realtime(ping_interval=1)``; returns all of them."""
        result: dict[str, Any] = self._call("PATCH", "/centrifugo", json=changes)
        return result

    def drop_websockets(
        self, code: int = 3001, reason: str = "shutdown", session_id: str | None = None
    ) -> int:
        """Close websocket connections (all, or those listening to ``session_id``); returns how many."""
        body: dict[str, Any] = {"code": code, "reason": reason, "session_id": session_id}
        result: int = self._call("POST", "/centrifugo/drop", json=body)["dropped"]
        return result

    def emit_event(self, session_id: str, event: str, **payload: Any) -> dict[str, Any]:
        """Emit a chat event (``sessionClosed``, ``chatMessageCreated``, ...) of a session over the
        websocket; missing fields get defaults. Returns ``{"event", "payload", "connections"}``."""
        result: dict[str, Any] = self._call(
            "POST", f"/sessions/{session_id}/events", json={"event": event, "payload": payload}
        )
        return result

    def publish_raw(self, session_id: str, data: Any) -> int:
        """Push ``data`` as-is as a publication to the listeners of ``session_id``; returns how many."""
        result: int = self._call(
            "POST", "/centrifugo/publish", json={"session_id": session_id, "data": data}
        )["connections"]
        return result

    def publications(self, **filters: Any) -> list[dict[str, Any]]:
        """Published events, oldest first; filters ``session_id``, ``event``, ``limit``."""
        result: list[dict[str, Any]] = self._call(
            "GET", "/centrifugo/publications", params=self._params(filters)
        )["items"]
        return result
