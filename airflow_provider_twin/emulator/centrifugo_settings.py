"""Settings of the emulated realtime websocket, changed at run time with ``PATCH /_emulator/centrifugo``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .settings import SettingsError


@dataclass(frozen=True)
class CentrifugoSettings:
    """Behaviour of the emulated websocket; change it with ``PATCH /_emulator/centrifugo``.

    Attributes:
        ping_interval: seconds between server pings, sent as ``ping`` in the connect reply (an
            integer, as in Centrifugo; 1 s or more).
        pong_timeout: seconds a client has to answer a ping before it is disconnected with 3012.
        pong_required: the connect reply's ``pong``; False never disconnects for a missing pong.
        strict_subscribe: answer ``subscribe`` to the connection's own channel with error 105
            ("already subscribed") instead of ``{}``.
        event_key: envelope key of the event name.
        payload_key: envelope key of the event fields.
        flat_envelope: publish ``{event_key: name, ...fields}`` instead of a nested payload.
        version: the server version reported on connect.
        sweep_interval: seconds between checks for sessions whose ttl ran out (their
            ``sessionClosed`` is published then); 0 turns the check off.
        publication_log_size: how many publications ``GET /_emulator/centrifugo/publications`` keeps.
    """

    ping_interval: int = 25
    pong_timeout: float = 8.0
    pong_required: bool = True
    strict_subscribe: bool = False
    event_key: str = "event"
    payload_key: str = "payload"
    flat_envelope: bool = False
    version: str = "6.2.1 OSS"
    sweep_interval: float = 1.0
    publication_log_size: int = 100_000

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, patch: Mapping[str, Any]) -> CentrifugoSettings:
        """A copy with ``patch`` applied; raises ``SettingsError`` naming every bad field."""
        kinds = {item.name: item.type for item in fields(self)}
        details: dict[str, list[str]] = {}
        for key, value in patch.items():
            kind = kinds.get(key)
            if kind is None:
                details[key] = ["Unknown setting."]
            elif kind == "bool" and not isinstance(value, bool):
                details[key] = ["Must be a boolean."]
            elif kind == "str" and (not isinstance(value, str) or not value):
                details[key] = ["Must be a non-empty string."]
            elif kind in ("int", "float") and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                details[key] = ["Must be a number >= 0."]
            elif kind == "int" and not float(value).is_integer():
                details[key] = ["Must be a whole number."]
        minimums = {"ping_interval": 1, "publication_log_size": 1}
        for key, minimum in minimums.items():
            if key in patch and key not in details and patch[key] < minimum:
                details[key] = [f"Must be at least {minimum}."]
        if "pong_timeout" in patch and "pong_timeout" not in details and patch["pong_timeout"] <= 0:
            details["pong_timeout"] = ["Must be positive."]
        if details:
            raise SettingsError(details)
        normalised: dict[str, Any] = {
            key: int(value) if kinds[key] == "int" else value for key, value in patch.items()
        }
        return replace(self, **normalised)


__all__ = ["CentrifugoSettings"]
