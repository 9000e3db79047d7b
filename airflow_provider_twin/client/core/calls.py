"""A TWIN API call described as data, independent of how (sync or async) it is sent.

Endpoint modules (:mod:`.notify`, :mod:`.chat`, :mod:`.iam`) build :class:`ApiCall` values;
both clients send them through the same engine, so request building, auth, retries and error
mapping exist once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeVar

from airflow_provider_twin.client.core.errors import TwinProtocolError

T = TypeVar("T")
P = TypeVar("P", bound=Mapping[str, Any])

Service = Literal["iam", "notify", "chat"]

#: HTTP methods that are safe to repeat after an ambiguous failure.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class _NoBody:
    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()


@dataclass(frozen=True)
class FilePart:
    """A file in a ``multipart/form-data`` body: its form field name, file name, type and bytes."""

    name: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Multipart:
    """A ``multipart/form-data`` body (TWIN's file upload, twin-api.md §1.2, §2.6).

    :param files: the file parts, in order.
    :param fields: plain form fields sent with them.
    """

    files: tuple[FilePart, ...]
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RawBody:
    """An answer that is not JSON (a downloaded file): its bytes and response headers."""

    content: bytes = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiCall(Generic[T]):
    """One request to TWIN and how to read its answer.

    :param description: what the call does, for error messages ("create messages").
    :param parse: turns the decoded JSON body into the typed result.
    :param idempotent: whether repeating the call after a lost response is harmless. Defaults
        to the method's HTTP semantics; a POST is idempotent only when the caller made it so.
    :param auth: whether the call carries the bearer token (login and refresh do not).
    :param form: a multipart body instead of ``json`` (the boundary goes in ``Content-Type``).
    :param raw: ``parse`` receives the answer as :class:`RawBody` instead of decoded JSON.
    """

    method: str
    service: Service
    path: str
    description: str
    parse: Callable[[Any], T]
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = NO_BODY
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    auth: bool = True
    idempotent: bool | None = None
    form: Multipart | None = None
    raw: bool = False

    @property
    def safe_to_repeat(self) -> bool:
        """True when a retry after an ambiguous failure cannot act twice."""
        if self.idempotent is not None:
            return self.idempotent
        return self.method.upper() in IDEMPOTENT_METHODS

    def with_params(self, **params: str) -> ApiCall[T]:
        """A copy of this call with some query parameters replaced."""
        return replace(self, params={**self.params, **params})


def query_value(value: Any) -> str:
    """Encode a filter value the way TWIN's SDK does: lists comma-joined, booleans as 1/0."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(item) for item in value)
    return str(value)


def query_params(**filters: Any) -> dict[str, str]:
    """Query parameters from keyword filters, dropping None and empty lists."""
    params: dict[str, str] = {}
    for key, value in filters.items():
        if value is None or (isinstance(value, (list, tuple, set, frozenset)) and not value):
            continue
        params[key] = query_value(value)
    return params


def comma_list(value: str | Iterable[str] | None) -> list[str]:
    """Normalise an id filter given as one id, a comma-separated string or an iterable."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item) for item in value if str(item)]


def expect_object(body: Any) -> dict[str, Any]:
    """Check that TWIN answered with a JSON object."""
    if not isinstance(body, dict):
        raise TwinProtocolError(f"expected a JSON object from TWIN, got {type(body).__name__}")
    return body


def expect_list(body: Any) -> list[Any]:
    """Check that TWIN answered with a JSON array."""
    if not isinstance(body, list):
        raise TwinProtocolError(f"expected a JSON array from TWIN, got {type(body).__name__}")
    return body


def next_page(call: ApiCall[P], page: P) -> ApiCall[P] | None:
    """The call for the page after ``page`` (a ``{count, items}`` answer), or None after the last."""
    items = page.get("items") or []
    offset = int(call.params.get("offset", "0")) + len(items)
    if not items or offset >= int(page.get("count") or 0):
        return None
    return call.with_params(offset=str(offset))
