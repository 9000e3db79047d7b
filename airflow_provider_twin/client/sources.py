"""Where the destinations of a send come from, validated in full before anything is sent.

Each source has two passes: :meth:`validate` reads everything once and records every problem
(nothing is sent if there is one), then :meth:`chunks` yields the request chunks. A file
source streams both passes, so a million-row file never sits in memory; in-memory sources
keep the normalised destinations from the first pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from airflow_provider_twin.client.bulk import Chunk, chunk_destinations, chunk_messages
from airflow_provider_twin.client.compose import Campaign, Problems, normalize_message
from airflow_provider_twin.client.errors import TwinInputError
from airflow_provider_twin.client.models import Destination, MessageData
from airflow_provider_twin.client.recipients import RecipientSource, iter_recipients_file


class DestinationSource(Protocol):
    """Destinations to send, validated before the first request."""

    #: Number of destinations, known after :meth:`validate`.
    total: int

    def validate(self, problems: Problems) -> None:
        """Read every destination once; record every problem in ``problems``."""

    def chunks(self, batch_size: int, bulk_id: Callable[[int], str]) -> Iterator[Chunk]:
        """The request chunks, built lazily (only after a clean :meth:`validate`)."""


def _as_list(value: Any, what: str) -> Iterable[Any]:
    """Recipients or messages given as a list, another iterable, or a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise TwinInputError(f"{what}: a string must hold a JSON list, got {value[:60]!r}") from None
    if isinstance(value, (dict, bytes)) or not isinstance(value, Iterable):
        raise TwinInputError(f"{what}: expected a list, got {type(value).__name__}")
    return value


class RecipientList:
    """Recipients given in memory (a list, an XCom value, or a JSON string of a list)."""

    def __init__(self, campaign: Campaign, recipients: Any) -> None:
        self.campaign = campaign
        self.recipients = recipients
        self.total = 0
        self._destinations: list[Destination] = []

    def validate(self, problems: Problems) -> None:
        """Normalise every recipient and keep the result for :meth:`chunks`."""
        destination = self.campaign.destination
        kept = self._destinations = []
        for index, recipient in enumerate(_as_list(self.recipients, "recipients")):
            checked = destination(index, recipient, problems)
            if checked is not None:
                kept.append(checked)
        self.total = len(kept)
        if not kept and not problems:
            problems.add("recipients: the list is empty; there is nobody to send to")

    def chunks(self, batch_size: int, bulk_id: Callable[[int], str]) -> Iterator[Chunk]:
        """Chunks of one message each."""
        return chunk_destinations(self.campaign, self._destinations, batch_size, bulk_id)


class RecipientFile:
    """Recipients streamed from a CSV or JSON Lines file (see :mod:`.recipients`), twice."""

    def __init__(self, campaign: Campaign, source: RecipientSource, file_format: str | None = None) -> None:
        self.campaign = campaign
        self.source = source
        self.file_format = file_format
        self.total = 0

    def _destinations(self, problems: Problems) -> Iterator[Destination]:
        destination = self.campaign.destination
        for index, row in enumerate(iter_recipients_file(self.source, self.file_format)):
            where = f"recipients_file line {row.line} (recipient {index})"
            if row.recipient is None:
                problems.add(f"{where}: {row.problem}")
            else:
                checked = destination(index, row.recipient, problems, where)
                if checked is not None:
                    yield checked

    def validate(self, problems: Problems) -> None:
        """First pass: validate every row, keep only the count."""
        self.total = sum(1 for _ in self._destinations(problems))
        if not self.total and not problems:
            problems.add("recipients_file: the file holds no recipients")

    def chunks(self, batch_size: int, bulk_id: Callable[[int], str]) -> Iterator[Chunk]:
        """Second pass: read the file again and build chunks as they are needed."""
        problems = Problems()

        def checked() -> Iterator[Destination]:
            count = 0
            for destination in self._destinations(problems):
                if problems:
                    break
                count += 1
                yield destination
            if problems or count != self.total:
                raise TwinInputError(
                    "recipients_file changed while it was being sent (it must not change during a "
                    f"send): {'; '.join(problems.lines()) or f'{count} rows now, {self.total} before'}"
                )

        return chunk_destinations(self.campaign, checked(), batch_size, bulk_id)


class MessageList:
    """Raw TWIN message objects (twin-api.md §3.2.2), for full control."""

    def __init__(self, messages: Any) -> None:
        self.messages = messages
        self.total = 0
        #: The ``groupId`` shared by every message, if they share one.
        self.group_id: str | None = None
        self._normalised: list[MessageData] = []

    def validate(self, problems: Problems) -> None:
        """Validate every message and its destinations; keep the normalised messages."""
        kept = self._normalised = []
        first = 0
        for index, message in enumerate(_as_list(self.messages, "messages")):
            normalised = normalize_message(index, message, problems, first)
            destinations = message.get("destinations") if isinstance(message, dict) else None
            first += len(destinations) if isinstance(destinations, list) else 0
            if normalised is not None:
                kept.append(normalised)
        self.total = sum(len(message.get("destinations", [])) for message in kept)
        groups = {message.get("groupId") for message in kept}
        self.group_id = groups.pop() if len(groups) == 1 else None
        if not kept and not problems:
            problems.add("messages: the list is empty; there is nothing to send")

    def chunks(self, batch_size: int, bulk_id: Callable[[int], str]) -> Iterator[Chunk]:
        """Chunks of at most ``batch_size`` destinations; big messages are split."""
        return chunk_messages(self._normalised, batch_size, bulk_id)
