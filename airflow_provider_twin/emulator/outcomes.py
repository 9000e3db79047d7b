"""Choosing the final outcome of a channel attempt: deterministic rules first, then weighted chance."""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping
from typing import Any

from .settings import EmulatorSettings, OutcomeRule
from .statuses import DELIVERED


class OutcomePicker:
    """Decides ``DELIVERED``/``UNDELIVERED``/``ERROR``/``EXPIRED`` for each attempt at creation time.

    ``fixed`` is set when no rule or weight is configured, so the hot path can skip the call.
    """

    __slots__ = ("_cumulative", "_names", "_rng", "_rules", "_total", "fixed")

    def __init__(self, settings: EmulatorSettings, rng: random.Random) -> None:
        self._rng = rng
        self._rules: tuple[OutcomeRule, ...] = tuple(settings.outcome_rules)
        self._names: list[str] = []
        self._cumulative: list[float] = []
        running = 0.0
        for name, weight in (settings.outcomes or {}).items():
            if weight > 0:
                running += weight
                self._names.append(name)
                self._cumulative.append(running)
        self._total = running
        only_delivered = not self._names or self._names == [DELIVERED]
        self.fixed: str | None = DELIVERED if not self._rules and only_delivered else None

    @property
    def rng(self) -> random.Random:
        """The random generator behind weighted outcomes."""
        return self._rng

    def pick(self, channel: str, destination: Mapping[str, Any]) -> str:
        """Return the outcome for an attempt on ``channel`` (lower-case key) to ``destination``."""
        for rule in self._rules:
            if rule.channel is not None and rule.channel != channel:
                continue
            if rule.phone_suffix is not None:
                phone = destination.get("phone")
                if not isinstance(phone, str) or not phone.endswith(rule.phone_suffix):
                    continue
            if rule.email_suffix is not None:
                email = destination.get("email")
                if not isinstance(email, str) or not email.lower().endswith(rule.email_suffix.lower()):
                    continue
            return rule.status
        if not self._names:
            return DELIVERED
        point = self._rng.random() * self._total
        index = bisect.bisect_right(self._cumulative, point)
        return self._names[min(index, len(self._names) - 1)]
