"""Cut a send into request-sized chunks, each one ``POST /messages`` under its own ``bulkId``.

A chunk's ``bulkId`` (:func:`bulk_id_for`) is derived from what identifies the send and the
chunk's position, so it is the same on every try of the same task: TWIN can then be asked
whether the chunk was created (see :mod:`.create_once`). Chunks are built lazily from
destination blocks, so memory holds a few chunks, never the whole campaign.

ASSUMPTION: a request of 1000 destinations is accepted (TWIN documents no per-request limit;
1000 is its page size limit, twin-api.md §7.11), hence :data:`DEFAULT_BATCH_SIZE`.

ASSUMPTION: a request body of at most :data:`MAX_REQUEST_BYTES` is accepted (TWIN documents no
size limit; 1 MiB is the default body limit of nginx, the usual server in front of such APIs).
A chunk whose body would be larger (long variables) is cut into smaller chunks, each under its
own ``bulkId``; the cut depends only on the destinations, so it is the same on every try.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from airflow_provider_twin.client.messages.models import Destination, MessageData

#: Namespace of the provider's deterministic bulk ids. Never change it: a changed namespace
#: would give a retried send new ids, and TWIN would send the campaign twice.
BULK_ID_NAMESPACE = uuid.UUID("7cd85aa5-62b6-5caa-a343-bc96e9632609")

DEFAULT_BATCH_SIZE = 1000

#: Largest request body a chunk may make, in bytes (see the module docstring).
MAX_REQUEST_BYTES = 1024 * 1024


def _body_bytes(message: MessageData) -> int:
    """An upper bound of the request body's size: ASCII-escaped JSON is never shorter than the
    UTF-8 the client sends; 200 bytes cover the request's other keys."""
    return len(json.dumps(message, separators=(",", ":"))) + 200


def _fitting(template: MessageData, batch: list[Destination]) -> Iterator[list[Destination]]:
    """``batch`` in halves until each one's request fits :data:`MAX_REQUEST_BYTES`."""
    if len(batch) == 1 or _body_bytes(batch_message(template, batch)) <= MAX_REQUEST_BYTES:
        yield batch
        return
    middle = len(batch) // 2
    yield from _fitting(template, batch[:middle])
    yield from _fitting(template, batch[middle:])


def bulk_id_for(*parts: object) -> str:
    """A deterministic ``bulkId``: UUIDv5 of the parts joined with ``|``.

    The send operator uses ``(dag_id, run_id, task_id, map_index, chunk_index)``: the same on
    every try of a task instance, different for every chunk, run and mapped instance.
    """
    return str(uuid.uuid5(BULK_ID_NAMESPACE, "|".join(str(part) for part in parts)))


def batch_message(template: MessageData, destinations: list[Destination]) -> MessageData:
    """One ``MessageData``: ``destinations`` with a campaign's settings (its ``template``)."""
    message: MessageData = {"destinations": destinations}
    message.update(template)
    return message


@dataclass
class Chunk:
    """One request's worth of destinations.

    :param index: position of the chunk in the send (0-based), part of its ``bulkId``.
    :param first_index: index of its first destination among all recipients of the send.
    :param destinations: the chunk's destinations in order (to report rejected items).
    """

    index: int
    bulk_id: str
    messages: list[MessageData]
    first_index: int
    destinations: list[Destination]

    @property
    def size(self) -> int:
        """Number of destinations."""
        return len(self.destinations)


def chunk_destinations(
    template: MessageData,
    blocks: Iterable[list[Destination]],
    batch_size: int,
    bulk_id: Callable[[int], str],
) -> Iterator[Chunk]:
    """Chunks of one message each (``template`` plus up to ``batch_size`` destinations), cut
    from blocks of validated destinations as they come; a block of exactly ``batch_size`` is
    used as it is."""
    index = first = 0
    pending: list[Destination] = []

    def chunks(batch: list[Destination]) -> Iterator[Chunk]:
        nonlocal index, first
        for part in _fitting(template, batch):
            yield Chunk(index, bulk_id(index), [batch_message(template, part)], first, part)
            index, first = index + 1, first + len(part)

    for block in blocks:
        start = 0
        if pending:
            start = batch_size - len(pending)
            pending.extend(block[:start])
            if len(pending) < batch_size:
                continue
            yield from chunks(pending)
            pending = []
        if start == 0 and len(block) == batch_size:
            yield from chunks(block)
            continue
        while len(block) - start >= batch_size:
            yield from chunks(block[start : start + batch_size])
            start += batch_size
        pending = block[start:]
    if pending:
        yield from chunks(pending)


def chunk_messages(
    messages: Iterable[MessageData], batch_size: int, bulk_id: Callable[[int], str]
) -> Iterator[Chunk]:
    """Pack raw messages into chunks of at most ``batch_size`` destinations (lazily).

    Small messages share a chunk; a message with more destinations than fit is split into
    several messages with the same settings.
    """
    index = first = 0
    current: list[MessageData] = []
    current_destinations: list[Destination] = []
    for message in messages:
        pending = list(message.get("destinations", []))
        while pending:
            room = batch_size - len(current_destinations)
            part, pending = pending[:room], pending[room:]
            piece: MessageData = {**message, "destinations": part}
            current.append(piece)
            current_destinations.extend(part)
            if len(current_destinations) == batch_size:
                yield Chunk(index, bulk_id(index), current, first, current_destinations)
                index, first = index + 1, first + batch_size
                current, current_destinations = [], []
    if current:
        yield Chunk(index, bulk_id(index), current, first, current_destinations)
