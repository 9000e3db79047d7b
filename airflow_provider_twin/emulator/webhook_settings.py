"""Settings of the status webhooks (``callbackUrl``): retries, timeouts, queue and allowed hosts.

They are plain fields of :class:`.settings.EmulatorSettings` (so ``PATCH /_emulator/settings`` takes
``{"webhook_attempts": 5}``); this module holds their defaults and validation so the settings module
stays about the emulator as a whole.

TWIN's retry policy is unknown (twin-api.md §7.9 assumed one attempt); the emulator makes it
configurable so a receiver's handling of retries and duplicates can be tested.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

#: Setting names with their defaults, in the order ``GET /_emulator/settings`` shows them.
WEBHOOK_DEFAULTS: dict[str, Any] = {
    # Attempts per status change, the first included (>= 1).
    "webhook_attempts": 3,
    # Pause before the second attempt; it doubles for every further attempt (>= 0).
    "webhook_backoff_seconds": 0.5,
    # Time one attempt may take: connect, send, read the answer (> 0).
    "webhook_timeout_seconds": 5.0,
    # Deliver to any host; off = loopback hosts only (127.0.0.0/8, ::1, localhost).
    "webhook_allow_any_host": False,
    # Status changes waiting for a free sender; further ones wait in the schedule (>= 1).
    "webhook_queue_size": 10_000,
}

WEBHOOK_SETTING_NAMES: tuple[str, ...] = tuple(WEBHOOK_DEFAULTS)

ErrorSink = Callable[[str, str], None]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_webhook_settings(values: dict[str, Any], err: ErrorSink) -> None:
    """Report every invalid webhook setting of ``values`` through ``err(key, message)``."""
    attempts = values["webhook_attempts"]
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 100:
        err("webhook_attempts", "Must be an integer from 1 to 100.")
    backoff = values["webhook_backoff_seconds"]
    if not _number(backoff) or backoff < 0:
        err("webhook_backoff_seconds", "Must be a number >= 0.")
    timeout = values["webhook_timeout_seconds"]
    if not _number(timeout) or timeout <= 0:
        err("webhook_timeout_seconds", "Must be a number > 0.")
    if not isinstance(values["webhook_allow_any_host"], bool):
        err("webhook_allow_any_host", "Must be a boolean.")
    size = values["webhook_queue_size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        err("webhook_queue_size", "Must be an integer >= 1.")


def webhook_values(values: dict[str, Any]) -> dict[str, Any]:
    """The validated webhook settings of ``values`` as the dataclass stores them (numbers as floats)."""
    return {
        "webhook_attempts": values["webhook_attempts"],
        "webhook_backoff_seconds": float(values["webhook_backoff_seconds"]),
        "webhook_timeout_seconds": float(values["webhook_timeout_seconds"]),
        "webhook_allow_any_host": values["webhook_allow_any_host"],
        "webhook_queue_size": values["webhook_queue_size"],
    }


__all__ = ["WEBHOOK_DEFAULTS", "WEBHOOK_SETTING_NAMES", "check_webhook_settings", "webhook_values"]
