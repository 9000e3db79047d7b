"""Configuration of a TWIN client: where TWIN is, who we are, how patient to be."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from airflow_provider_twin import __version__
from airflow_provider_twin.client.core.errors import TwinConfigError
from airflow_provider_twin.client.core.retry import RetryPolicy

#: Production hosts (twin-api.md §1.1).
DEFAULT_IAM_URL = "https://iam.twin24.ai/api/v1"
DEFAULT_NOTIFY_URL = "https://notify.twin24.ai/api/v1"
DEFAULT_CHAT_URL = "https://chat-api.twin24.ai/api/v1"
DEFAULT_CENTRIFUGO_URL = "wss://twin24.ai/centrifugo/connection/websocket"

#: The token lifetime the official SDK asks for by default (twin-api.md §2.1).
DEFAULT_TOKEN_TTL = 3600

USER_AGENT = f"airflow-provider-twin/{__version__}"


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise TwinConfigError(f"{name} must be an absolute {' or '.join(schemes)} URL, got {value!r}")
    return value.rstrip("/")


@dataclass(frozen=True)
class TwinEndpoints:
    """Base URLs of the TWIN services (override them for the emulator or TWIN's dev stand)."""

    iam_url: str = DEFAULT_IAM_URL
    notify_url: str = DEFAULT_NOTIFY_URL
    chat_url: str = DEFAULT_CHAT_URL
    centrifugo_url: str = DEFAULT_CENTRIFUGO_URL

    def __post_init__(self) -> None:
        for name in ("iam_url", "notify_url", "chat_url"):
            object.__setattr__(self, name, _check_url(name, getattr(self, name), ("http", "https")))
        object.__setattr__(
            self, "centrifugo_url", _check_url("centrifugo_url", self.centrifugo_url, ("ws", "wss"))
        )

    def base(self, service: str) -> str:
        """Base URL of ``service`` (``iam``, ``notify`` or ``chat``)."""
        try:
            return {"iam": self.iam_url, "notify": self.notify_url, "chat": self.chat_url}[service]
        except KeyError:
            raise TwinConfigError(f"unknown TWIN service {service!r}") from None


@dataclass(frozen=True)
class TwinCredentials:
    """Who the client is: an account (e-mail + password) or a ready-made API token.

    The token copied from TWIN's "API help" tab (twin-api.md §2.1) is an alternative to the
    e-mail/password login; with it the client cannot renew the token and says so when TWIN
    rejects it. Secrets are excluded from ``repr``.
    """

    email: str | None = None
    password: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    company_id: int | None = None
    token_ttl: int = DEFAULT_TOKEN_TTL

    def __post_init__(self) -> None:
        if self.api_token:
            return
        if not self.email or not self.password:
            raise TwinConfigError(
                "TWIN credentials are incomplete: set the account e-mail (login) and password, "
                "or an api_token"
            )
        if self.token_ttl <= 0:
            raise TwinConfigError(f"token_ttl must be a positive number of seconds, got {self.token_ttl}")

    @property
    def uses_static_token(self) -> bool:
        """True when a ready-made API token is used instead of logging in."""
        return bool(self.api_token)


@dataclass(frozen=True)
class TwinClientConfig:
    """Everything a :class:`~airflow_provider_twin.client.TwinClient` needs.

    Timeouts follow the official SDK: 5 s to connect, 60 s for a request (twin-api.md §1.2).
    """

    credentials: TwinCredentials
    endpoints: TwinEndpoints = field(default_factory=TwinEndpoints)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_connections: int = 100
    user_agent: str = USER_AGENT

    def __post_init__(self) -> None:
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise TwinConfigError("timeouts must be positive numbers of seconds")
        if self.max_connections < 1:
            raise TwinConfigError("max_connections must be at least 1")
