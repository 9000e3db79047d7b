"""Keep TWIN secrets out of logs and messages, through Airflow's secrets masker.

Tokens the TWIN client obtains are registered with the masker as soon as they exist, so no
task log shows them; texts a notifier sends are redacted with everything the masker knows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: The secrets masker of the Task SDK (first) and of Airflow core; either may be absent.
SECRET_MASKERS = ("airflow.sdk._shared.secrets_masker", "airflow._shared.secrets_masker")

#: Secrets shorter than this are not searched for in texts (as Airflow's masker does by default).
MIN_SECRET_LENGTH = 5


def mask_secret(secret: str) -> None:
    """Register ``secret`` with Airflow's masker (and, in a task, the supervisor's)."""
    from airflow.sdk.log import mask_secret as register  # noqa: PLC0415 - only once a token exists

    register(secret)


def mask_secret_locally(secret: str) -> None:
    """Register ``secret`` with this process's masker only.

    For an event loop (the triggerer): telling the supervisor is a blocking call, which must
    not run inside the loop.
    """
    try:
        importlib.import_module(SECRET_MASKERS[0]).mask_secret(secret)
    except (ImportError, AttributeError):
        return


def _masker_redactors() -> list[Callable[[Any], Any]]:
    """``redact`` of each secrets masker present."""
    redactors: list[Callable[[Any], Any]] = []
    for module_name in SECRET_MASKERS:
        try:
            redactors.append(importlib.import_module(module_name).redact)
        except (ImportError, AttributeError):
            continue
    return redactors


def connection_secrets(config: Any) -> list[str]:
    """The password and API token of a client config (a ``TwinClientConfig``): never part of a
    message to anyone."""
    credentials = getattr(config, "credentials", None)
    found = (getattr(credentials, "password", None), getattr(credentials, "api_token", None))
    return [secret for secret in found if isinstance(secret, str) and secret]


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` with ``secrets`` and every secret Airflow's masker knows replaced by ``***``.

    Strings are redacted wherever they are inside dicts and lists; other values pass through.
    """
    # Longest first, so a secret containing another is replaced whole.
    known = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
    redactors = _masker_redactors()

    def one(text: str) -> str:
        for secret in known:
            text = text.replace(secret, "***")
        for redactor in redactors:
            text = str(redactor(text))
        return text

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return one(item)
        if isinstance(item, Mapping):
            return {key: walk(sub) for key, sub in item.items()}
        if isinstance(item, (list, tuple)):
            return [walk(sub) for sub in item]
        return item

    return walk(value)
