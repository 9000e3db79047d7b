"""Where the destinations of a send come from, validated in full before anything is sent.

Each source has two passes: :meth:`validate` reads everything once and records every problem
(nothing is sent if there is one), then :meth:`chunks` hands the destinations, block by block,
to :mod:`.chunks`. A file source streams both passes, so a million-row file never sits in
memory; in-memory sources keep what the first pass found.

Each block of recipients is checked by :meth:`~.campaign.Campaign.check`: column-wise when it
is clean (the usual case; destinations are then built one block at a time while earlier
chunks are on the wire), recipient by recipient otherwise, so that every problem is named.
Both ways accept and normalise exactly the same recipients.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.core.problems import Problems
from airflow_provider_twin.client.messages.campaign import Campaign, normalize_message
from airflow_provider_twin.client.messages.chunks import Chunk, chunk_destinations, chunk_messages
from airflow_provider_twin.client.messages.models import Destination, MessageData
from airflow_provider_twin.client.messages.recipient_columns import RecipientColumns, Seen, built, unique
from airflow_provider_twin.client.messages.recipient_files import (
    RecipientRow,
    RecipientSource,
    iter_recipients_file,
)

#: Rows of a recipients file checked together (column-wise when the block is clean).
FILE_BLOCK_ROWS = 1000


class DestinationSource(Protocol):
    """Destinations to send, validated before the first request."""

    #: Number of destinations, known after :meth:`validate`.
    total: int
    #: Recipients dropped because an earlier one had the same address (after :meth:`validate`).
    merged: int

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

    def __init__(self, campaign: Campaign, recipients: Any, deduplicate: bool = True) -> None:
        self.campaign = campaign
        self.recipients = recipients
        self.deduplicate = deduplicate
        self.total = self.merged = 0
        self._checked: RecipientColumns | list[Destination] = []

    def validate(self, problems: Problems) -> None:
        """Check every recipient; keep what :meth:`chunks` needs to build the destinations."""
        recipients = _as_list(self.recipients, "recipients")
        if not isinstance(recipients, (list, tuple)):
            recipients = list(recipients)
        checked = self.campaign.check(recipients, problems)
        if self.deduplicate:
            checked, self.merged = unique(checked, {})
        self._checked = checked
        self.total = checked.total if isinstance(checked, RecipientColumns) else len(checked)
        if not self.total and not problems:
            problems.add("recipients: the list is empty; there is nobody to send to")

    def chunks(self, batch_size: int, bulk_id: Callable[[int], str]) -> Iterator[Chunk]:
        """Chunks of one message each."""
        checked = self._checked
        blocks = checked.blocks(batch_size) if isinstance(checked, RecipientColumns) else [checked]
        return chunk_destinations(self.campaign.template, blocks, batch_size, bulk_id)


class RecipientFile:
    """Recipients streamed from a CSV or JSON Lines file (see :mod:`.recipient_files`), twice."""

    def __init__(
        self,
        campaign: Campaign,
        source: RecipientSource,
        file_format: str | None = None,
        deduplicate: bool = True,
    ) -> None:
        self.campaign = campaign
        self.source = source
        self.file_format = file_format
        self.deduplicate = deduplicate
        self.total = self.merged = 0

    def _blocks(self, problems: Problems) -> Iterator[RecipientColumns | list[Destination]]:
        """The file's recipients checked a block of rows at a time, without the addresses an
        earlier row had (``merged`` counts them); an unreadable row is a problem naming its line."""
        seen: Seen = {}
        self.merged = 0
        for checked in self._checked_blocks(problems):
            if not self.deduplicate:
                yield checked
                continue
            kept, merged = unique(checked, seen)
            self.merged += merged
            yield kept

    def _checked_blocks(self, problems: Problems) -> Iterator[RecipientColumns | list[Destination]]:
        rows = iter_recipients_file(self.source, self.file_format)
        index = 0
        while block := list(itertools.islice(rows, FILE_BLOCK_ROWS)):
            unreadable = [offset for offset, row in enumerate(block) if row.recipient is None]
            start = 0
            for end in [*unreadable, len(block)]:  # runs of readable rows, in file order
                if end > start:
                    yield self._check(block[start:end], index + start, problems)
                if end < len(block):
                    row = block[end]
                    problems.add(f"recipients_file line {row.line} (recipient {index + end}): {row.problem}")
                start = end + 1
            index += len(block)

    def _check(
        self, rows: list[RecipientRow], first: int, problems: Problems
    ) -> RecipientColumns | list[Destination]:
        def where(position: int) -> str:
            return f"recipients_file line {rows[position].line} (recipient {first + position})"

        return self.campaign.check([row.recipient for row in rows], problems, where)

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

        def checked() -> Iterator[list[Destination]]:
            count = 0
            for block in self._blocks(problems):
                if problems:
                    break
                destinations = built(block)
                count += len(destinations)
                yield destinations
            if problems or count != self.total:
                raise TwinInputError(
                    "recipients_file changed while it was being sent (it must not change during a "
                    f"send): {'; '.join(problems.lines()) or f'{count} rows now, {self.total} before'}"
                )

        return chunk_destinations(self.campaign.template, checked(), batch_size, bulk_id)


class MessageList:
    """Raw TWIN message objects (twin-api.md §3.2.2), for full control."""

    def __init__(self, messages: Any) -> None:
        self.messages = messages
        self.total = self.merged = 0  # raw messages are sent as given: never merged
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
