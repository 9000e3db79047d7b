"""Fault injection: make chosen requests fail, slow down, or lose their response.

A rule matches by HTTP method (``None`` = any) and a path glob (``*`` matches any characters,
including ``/``). Kinds:

``status``
    answer ``status`` (with ``body`` or ``{"error": <reason>}``) *without* processing the request;
    429 (and any rule with ``retry_after``) carries a ``Retry-After`` header.
``latency``
    wait ``latency_ms``, then process normally.
``drop``
    process the request fully (messages are created), then break the connection after the response
    head so the client never receives a complete response: the "accepted, then the network failed"
    case that idempotent retries must survive.

``latency_ms`` also delays ``status`` and ``drop`` faults.

``target`` says what a rule applies to: ``"api"`` (default) the requests clients send to the
emulator, ``"webhook"`` the status webhooks the emulator sends (:mod:`.webhook_delivery`); the path
glob then matches the path of the ``callbackUrl``. For a webhook, ``status`` means the receiver
answered that status, ``drop`` that it could not be reached (it is down), ``latency`` that it
answers late (an attempt longer than ``webhook_timeout_seconds`` times out); neither ``status`` nor
``drop`` sends the request. ``times`` bounds how many requests a rule
hits (``None`` = unbounded) and ``probability`` is drawn from a generator seeded by the ``seed``
setting, so a run is reproducible.
"""

from __future__ import annotations

import fnmatch
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS: tuple[str, ...] = ("status", "latency", "drop")
FAULT_TARGETS: tuple[str, ...] = ("api", "webhook")
_RULE_KEYS = frozenset(
    {"method", "path", "kind", "status", "retry_after", "latency_ms", "times", "probability", "body"}
    | {"target"}
)


class FaultRuleError(ValueError):
    """Raised with per-field messages when a rule is invalid."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__(str(details))
        self.details = details


@dataclass
class FaultRule:
    """One fault rule (see the module docstring)."""

    id: int
    kind: str
    path: str = "*"
    method: str | None = None
    status: int = 500
    retry_after: float | None = None
    latency_ms: float = 0.0
    times: int | None = None
    probability: float = 1.0
    body: Any = None
    target: str = "api"
    hits: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(fnmatch.translate(self.path))

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self._pattern.match(path) is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "kind": self.kind,
            "status": self.status,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "times": self.times,
            "probability": self.probability,
            "body": self.body,
            "target": self.target,
            "hits": self.hits,
            "remaining": None if self.times is None else max(self.times - self.hits, 0),
        }


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_rule(rule_id: int, raw: Any) -> FaultRule:
    """Validate a rule given as JSON; raises :class:`FaultRuleError`."""
    errors: dict[str, list[str]] = {}

    def err(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    if not isinstance(raw, Mapping):
        raise FaultRuleError({"body": ["Must be a JSON object."]})
    for key in set(raw) - _RULE_KEYS:
        err(key, "Unknown key.")
    kind = raw.get("kind", "status")
    if kind not in FAULT_KINDS:
        err("kind", f"Must be one of {', '.join(FAULT_KINDS)}.")
    target = raw.get("target", "api")
    if target not in FAULT_TARGETS:
        err("target", f"Must be one of {', '.join(FAULT_TARGETS)}.")
    method = raw.get("method")
    if method is not None and (not isinstance(method, str) or not method):
        err("method", "Must be null or an HTTP method name.")
    path = raw.get("path", "*")
    if not isinstance(path, str) or not path:
        err("path", "Must be a non-empty path or glob.")
    status = raw.get("status", 500)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        err("status", "Must be an HTTP status code 100-599.")
    retry_after = raw.get("retry_after")
    if retry_after is not None and (not _is_number(retry_after) or retry_after < 0):
        err("retry_after", "Must be null or a number of seconds >= 0.")
    latency = raw.get("latency_ms", 0)
    if latency is None:
        latency = 0
    if not _is_number(latency) or latency < 0:
        err("latency_ms", "Must be a number >= 0.")
    times = raw.get("times")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        err("times", "Must be null or an integer >= 1.")
    probability = raw.get("probability", 1.0)
    if probability is None:
        probability = 1.0
    if not _is_number(probability) or not 0 <= probability <= 1:
        err("probability", "Must be a number from 0 to 1.")
    if kind == "latency" and not errors and not latency:
        err("latency_ms", "A latency fault needs latency_ms > 0.")
    if errors:
        raise FaultRuleError(errors)
    if kind == "status" and status == 429 and retry_after is None:
        retry_after = 1
    return FaultRule(
        id=rule_id,
        kind=kind,
        path=path,
        method=None if method is None else method.upper(),
        status=status,
        retry_after=retry_after,
        latency_ms=float(latency),
        times=times,
        probability=float(probability),
        body=raw.get("body"),
        target=target,
    )


class FaultRegistry:
    """Active fault rules in the order they were added. Not thread-safe; callers hold the state lock."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self.applied = 0

    def reseed(self, rng: random.Random) -> None:
        self._rng = rng

    def add(self, raw: Any) -> FaultRule:
        rule = parse_rule(self._next_id, raw)
        self._next_id += 1
        self._rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        before = len(self._rules)
        self._rules = [rule for rule in self._rules if rule.id != rule_id]
        return len(self._rules) != before

    def clear(self) -> None:
        self._rules = []
        self.applied = 0

    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def draw(self, method: str, path: str, target: str = "api") -> FaultRule | None:
        """Return the first rule of ``target`` that applies to this request (and count the hit), or None."""
        if not self._rules:
            return None
        for rule in self._rules:
            if rule.target != target or rule.exhausted or not rule.matches(method, path):
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            rule.hits += 1
            self.applied += 1
            return rule
        return None
