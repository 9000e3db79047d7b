"""Where the destinations of a send come from, validated in full before anything is sent.

Each source has two passes: :meth:`validate` reads everything once and records every problem
(nothing is sent if there is one), then :meth:`chunks` yields the request chunks. A file
source streams both passes, so a million-row file never sits in memory; in-memory sources
keep what the first pass found.

Clean recipients (the usual case) are checked column-wise, many at a time
(:meth:`~.compose.Campaign.columns`), and their destinations are built one chunk at a time
while earlier chunks are on the wire; anything else is checked recipient by recipient, so
every problem is named. Both ways accept and normalise exactly the same recipients.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.messages.bulk import (
    Chunk,
    chunk_columns,
    chunk_destinations,
    chunk_messages,
)
from airflow_provider_twin.client.messages.compose import (
    Campaign,
    Problems,
    RecipientColumns,
    normalize_message,
)
from airflow_provider_twin.client.messages.models import Destination, MessageData
from airflow_provider_twin.client.messages.recipient_files import RecipientSource, iter_recipients_file

#: Rows of a recipients file checked together (column-wise when the block is clean).
FILE_BLOCK_ROWS = 1000


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
        self._columns: RecipientColumns | None = None

    def validate(self, problems: Problems) -> None:
        """Check every recipient; keep what :meth:`chunks` needs to build the destinations.

        A clean list is checked column-wise (:meth:`Campaign.columns`) and its destinations are
        built chunk by chunk during the send; otherwise every recipient is checked on its own,
        which names each problem.
        """
        recipients = _as_list(self.recipients, "recipients")
        if not isinstance(recipients, (list, tuple)):
            recipients = list(recipients)
        self._destinations = []
        self._columns = self.campaign.columns(recipients)
        if self._columns is not None:
            self.total = self._columns.total
            return
        destination = self.campaign.destination
        kept = self._destinations
        for index, recipient in enumerate(recipients):
            checked = destination(index, recipient, problems)
            if checked is not None:
                kept.append(checked)
        self.total = len(kept)
        if not kept and not problems:
            problems.add("recipients: the list is empty; there is nobody to send to")

    def chunks(self, batch_size: int, bulk_id: Callable[[int], str]) -> Iterator[Chunk]:
        """Chunks of one message each."""
        if self._columns is not None:
            return chunk_columns(self.campaign, self._columns, batch_size, bulk_id)
        return chunk_destinations(self.campaign, self._destinations, batch_size, bulk_id)


class RecipientFile:
    """Recipients streamed from a CSV or JSON Lines file (see :mod:`.recipients`), twice."""

    def __init__(self, campaign: Campaign, source: RecipientSource, file_format: str | None = None) -> None:
        self.campaign = campaign
        self.source = source
        self.file_format = file_format
        self.total = 0

    def _blocks(self, problems: Problems) -> Iterator[RecipientColumns | list[Destination]]:
        """The file's recipients a block of rows at a time, each block checked column-wise when
        it is clean (destinations built later), else row by row (problems named)."""
        destination = self.campaign.destination
        columns_of = self.campaign.columns
        rows = iter_recipients_file(self.source, self.file_format)
        index = 0
        while block := list(itertools.islice(rows, FILE_BLOCK_ROWS)):
            recipients = [row.recipient for row in block]
            columns = None if None in recipients else columns_of(recipients)
            if columns is not None:
                yield columns
            else:
                kept: list[Destination] = []
                for offset, row in enumerate(block, start=index):
                    where = f"recipients_file line {row.line} (recipient {offset})"
                    if row.recipient is None:
                        problems.add(f"{where}: {row.problem}")
                    else:
                        checked = destination(offset, row.recipient, problems, where)
                        if checked is not None:
                            kept.append(checked)
                yield kept
            index += len(block)

    def _destinations(self, problems: Problems) -> Iterator[Destination]:
        for block in self._blocks(problems):
            if isinstance(block, RecipientColumns):
                yield from block.destinations(0, block.total)
            else:
                yield from block

    def validate(self, problems: Problems) -> None:
        """First pass: validate every row, keep only the count."""
        self.total = sum(
            block.total if isinstance(block, RecipientColumns) else len(block)
            for block in self._blocks(problems)
        )
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
