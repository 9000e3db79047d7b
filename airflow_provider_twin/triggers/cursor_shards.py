"""A watcher cursor's ids in time buckets: the shards its Variables hold, pruned a bucket at a time.

An event watcher remembers the ids of the events it reported for its window (see
:mod:`.event_cursor`). Kept as one JSON document, every write would copy and serialise the whole
window (an hour of 10,000 events a minute is 600,000 ids) and pruning would scan every id. Here
the ids are grouped by the time of their fact into buckets of :func:`bucket_seconds` (a few
hundred buckets per window): a new id changes one bucket, a write stores the buckets that changed
(one Variable each, ``<cursor>.<bucket start>``), and an index (the cursor's own Variable) lists
the buckets. A bucket leaves as a whole once its end is older than the window, taken from a heap
of bucket starts, so pruning costs the ids it forgets and nothing else. An id is kept as a
16-character digest (:func:`id_key`, 96 bits of BLAKE2b: a false "seen" is a 1 in 10^16 chance
for a million ids), in memory and in the shards; the bucket is its time.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

#: The most buckets a window is cut into (bounds the index and the Variables read at a start).
MAX_BUCKETS = 360
#: The narrowest bucket, in seconds.
MIN_BUCKET_SECONDS = 10
#: ``version`` of the shard and index JSON.
FORMAT_VERSION = 2


def bucket_seconds(window_seconds: float) -> int:
    """The width of a cursor's buckets: the window in at most :data:`MAX_BUCKETS`, not under 10 s."""
    return max(MIN_BUCKET_SECONDS, math.ceil(window_seconds / MAX_BUCKETS))


def id_key(event_id: str) -> str:
    """How the cursor keeps ``event_id``: 16 URL-safe base64 characters of a 96-bit BLAKE2b digest."""
    digest = hashlib.blake2b(event_id.encode(), digest_size=12).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def shard_key(index_key: str, start: int) -> str:
    """The Variable of the bucket starting at ``start``: ``<index_key>.<start>``."""
    return f"{index_key}.{start}"


def encode_shard(ids: Iterable[str]) -> str:
    """A shard's JSON text: ``{"version": 2, "seen": [id keys...]}`` (sorted, compact)."""
    return json.dumps({"version": FORMAT_VERSION, "seen": sorted(ids)}, separators=(",", ":"))


def decode_shard(text: str | None) -> set[str]:
    """The ids of a shard's JSON text (none for a missing or unreadable one)."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return set()
    seen = data.get("seen") if isinstance(data, Mapping) else None
    return {str(i) for i in seen} if isinstance(seen, list) else set()


def merged_shard(stored: str | None, *parts: Iterable[str]) -> tuple[set[str], str]:
    """The ids of a stored shard's text and of ``parts``, and their shard text."""
    ids = decode_shard(stored)
    for part in parts:
        ids.update(part)
    return ids, encode_shard(ids)


def unlisted_starts(index_key: str, keys: Iterable[str] | None) -> list[int]:
    """The buckets among a cursor's stored ``keys`` (found without an index: a first write cut short)."""
    tails = [key[len(index_key) + 1 :] for key in keys or () if key.startswith(index_key + ".")]
    return sorted(int(tail) for tail in tails if tail.lstrip("-").isdigit())


def encode_index(width: int, starts: Iterable[int]) -> str:
    """The index's JSON text: bucket width and the starts of the stored buckets."""
    body = {"version": FORMAT_VERSION, "bucket_seconds": width, "shards": sorted(set(starts))}
    return json.dumps(body, separators=(",", ":"))


def index_width(text: str | None, default: int) -> int:
    """The bucket width an index's text records (``default`` when it records none)."""
    try:
        data: Any = json.loads(text) if text else None
    except ValueError:
        return default
    width = data.get("bucket_seconds") if isinstance(data, Mapping) else None
    return width if isinstance(width, int) and not isinstance(width, bool) and width > 0 else default


def decode_index(text: str | None) -> tuple[list[int], dict[str, float]]:
    """The bucket starts an index lists, or the ids of a single-document cursor (version 1).

    A version 1 cursor (``{"version": 1, "seen": {event id: epoch}}``, one document of event ids)
    is read so that an upgrade repeats nothing; the next write stores it as shards.
    """
    try:
        data: Any = json.loads(text) if text else None
    except ValueError:
        data = None
    if not isinstance(data, Mapping):
        return [], {}
    if data.get("version") == 1 and isinstance(data.get("seen"), Mapping):
        seen = data["seen"]
        return [], {str(k): float(v) for k, v in seen.items() if isinstance(v, (int, float))}
    shards = data.get("shards")
    return ([int(s) for s in shards if isinstance(s, int)] if isinstance(shards, list) else []), {}


class CursorShards:
    """Id keys (:func:`id_key`) by bucket of their fact's time: membership in O(1), pruning by bucket.

    :param window_seconds: how long an id is remembered (at least; up to a bucket more).
    """

    def __init__(self, window_seconds: float) -> None:
        self.window_seconds = float(window_seconds)
        self.width = bucket_seconds(self.window_seconds)
        self.ids: dict[str, int] = {}
        self.buckets: dict[int, set[str]] = {}
        self._starts: list[int] = []  # a heap of the starts in ``buckets``

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self.ids

    def start_of(self, epoch: float) -> int:
        """The start of the bucket holding a fact of time ``epoch``."""
        return int(epoch // self.width) * self.width

    def add(self, start: int, ids: Iterable[str]) -> None:
        """Remember ``ids`` in the bucket starting at ``start``."""
        bucket = self.buckets.get(start)
        if bucket is None:
            bucket = self.buckets[start] = set()
            heapq.heappush(self._starts, start)
        for event_id in ids:
            if event_id not in self.ids:
                self.ids[event_id] = start
                bucket.add(event_id)

    def expired(self, now: float) -> list[int]:
        """Forget the buckets that ended before the window; their starts."""
        horizon = now - self.window_seconds
        gone: list[int] = []
        while self._starts and self._starts[0] + self.width < horizon:
            start = heapq.heappop(self._starts)
            for event_id in self.buckets.pop(start, ()):
                self.ids.pop(event_id, None)
            gone.append(start)
        return gone


__all__ = [
    "FORMAT_VERSION",
    "CursorShards",
    "bucket_seconds",
    "decode_index",
    "decode_shard",
    "encode_index",
    "encode_shard",
    "id_key",
    "index_width",
    "merged_shard",
    "shard_key",
    "unlisted_starts",
]
