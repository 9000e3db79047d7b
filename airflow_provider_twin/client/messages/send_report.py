"""What a send did: running totals per chunk, progress lines, and the JSON summary for XCom.

The summary is the shape the status sensor and the cancel operator read (bulk ids, group id,
counts). It stays small whatever the send's size: message ids and rejected items are capped,
and rejected destinations are masked unless asked otherwise.
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_twin.client.messages.chunks import Chunk
from airflow_provider_twin.client.messages.models import BatchItem

ChunkOutcome = Literal["sent", "skipped"]


@dataclass
class ChunkResult:
    """What happened to one chunk.

    ``sent``: TWIN answered, ``items`` is its answer. ``skipped``: the chunk already existed
    (sent by an earlier try, or created by a request whose answer was lost); ``items`` is None.
    """

    chunk: Chunk
    outcome: ChunkOutcome
    items: list[BatchItem] | None = None
    attempts: int = 1


@dataclass(frozen=True)
class SendProgress:
    """A progress snapshot for the log: destinations done out of ``total``, rate and ETA."""

    done: int
    total: int
    chunks_done: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Destinations per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, or None before anything was done."""
        return (self.total - self.done) / self.rate if self.rate > 0 else None

    def describe(self) -> str:
        """``sent 12000/100000 recipients (12.0%), 2400/s, ETA 37 s``."""
        share = 100.0 * self.done / self.total if self.total else 100.0
        eta = self.eta
        eta_text = "" if eta is None or self.done >= self.total else f", ETA {eta:.0f} s"
        return (
            f"sent {self.done}/{self.total} recipients ({share:.1f}%) in {self.chunks_done} chunk(s), "
            f"{self.rate:.0f}/s{eta_text}"
        )


def mask_address(value: str, keep: int = 2) -> str:
    """``value`` with all but ``keep`` characters at each end replaced by ``*``."""
    if len(value) <= 2 * keep:
        return "*" * len(value)
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


def redact_destination(destination: Mapping[str, Any]) -> dict[str, str]:
    """The destination's address fields with the middle masked (``79*******67``).

    Enough to recognise a recipient in a report, not enough to leak a contact list into XCom.
    Variables are dropped.
    """
    redacted: dict[str, str] = {}
    for key, value in destination.items():
        if key == "variables" or not isinstance(value, str):
            continue
        if key == "email" and "@" in value:
            local, domain = value.rsplit("@", 1)
            redacted[key] = f"{local[:1]}***@{domain}"
        else:
            redacted[key] = mask_address(value)
    return redacted


_GET_ERROR = operator.methodcaller("get", "error")
_GET_CHANNEL = operator.methodcaller("get", "channel")
_GET_ID = operator.methodcaller("get", "id")


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _error_text(error: Any) -> str:
    if isinstance(error, Mapping):
        message = error.get("message")
        if isinstance(message, str) and message:
            return message
    return str(error)


@dataclass
class SendReport:
    """Running totals of a send, turned into the JSON summary returned to XCom.

    :param own_group: ``group_id`` holds this send's messages and nothing else (a group id the
        send operator derived from the task instance), so watching it equals watching every
        bulk id.
    :param max_message_ids: cap of ``message_ids`` (the sensor and cancel work from bulk ids;
        a million ids do not belong in XCom).
    :param max_rejected_items: cap of ``rejected_items``.
    :param redact: mask destination addresses in ``rejected_items``.
    """

    total: int = 0
    group_id: str | None = None
    own_group: bool = False
    max_message_ids: int = 1000
    max_rejected_items: int = 100
    redact: bool = True
    bulk_ids: list[str] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    skipped_chunks: int = 0
    done: int = 0
    chunks_done: int = 0
    per_channel: Counter[str | None] = field(default_factory=Counter)
    message_ids: list[str] = field(default_factory=list)
    message_ids_truncated: bool = False
    rejected_items: list[dict[str, Any]] = field(default_factory=list)
    mismatched_answers: int = 0
    validation_seconds: float | None = None
    send_seconds: float | None = None

    def add(self, result: ChunkResult) -> None:
        """Account for one finished chunk."""
        chunk = result.chunk
        self.chunks_done += 1
        self.done += chunk.size
        if result.outcome == "skipped" or result.items is None:
            self.skipped_chunks += 1
            self.skipped += chunk.size
            return
        items = result.items
        # ASSUMPTION (twin-api.md §7.8): one answer item per destination, in request order.
        aligned = len(items) == chunk.size
        if not aligned:
            self.mismatched_answers += 1
        if not any(map(_GET_ERROR, items)):
            # The usual answer: everything accepted. Counted without a Python-level loop.
            self.accepted += len(items)
            self.per_channel.update(map(_GET_CHANNEL, items))
            self._keep_ids(items)
            return
        accepted: list[BatchItem] = []
        for position, item in enumerate(items):
            error = item.get("error")
            if not error:
                accepted.append(item)
                continue
            self.rejected += 1
            if len(self.rejected_items) < self.max_rejected_items:
                destination: Mapping[str, Any] = chunk.destinations[position] if aligned else {}
                self.rejected_items.append(
                    {
                        "index": chunk.first_index + position if aligned else None,
                        "bulk_id": chunk.bulk_id,
                        "destination": redact_destination(destination)
                        if self.redact
                        else {k: v for k, v in destination.items() if k != "variables"},
                        "error": _error_text(error),
                    }
                )
        self.accepted += len(accepted)
        self.per_channel.update(map(_GET_CHANNEL, accepted))
        self._keep_ids(accepted)

    def _keep_ids(self, items: list[BatchItem]) -> None:
        room = self.max_message_ids - len(self.message_ids)
        ids = filter(None, map(_GET_ID, items))
        if room > 0:
            self.message_ids.extend(itertools.islice(ids, room))
        if not self.message_ids_truncated and next(ids, None) is not None:
            self.message_ids_truncated = True

    def _channels(self) -> dict[str, int]:
        channels: Counter[str] = Counter()
        for channel, count in self.per_channel.items():
            channels[str(channel).upper() if channel else "UNKNOWN"] += count
        return dict(sorted(channels.items()))

    def summary(self) -> dict[str, Any]:
        """The JSON summary (the shape the status sensor and the cancel operator read)."""
        return {
            "bulk_ids": list(self.bulk_ids),
            "group_id": self.group_id,
            "own_group": self.own_group,
            "total": self.total,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "skipped_chunks": self.skipped_chunks,
            "chunks": len(self.bulk_ids),
            "per_channel": self._channels(),
            "rejected_items": list(self.rejected_items),
            "rejected_items_truncated": self.rejected > len(self.rejected_items),
            "message_ids": list(self.message_ids),
            "message_ids_truncated": self.message_ids_truncated,
            "timing": {
                "validation_seconds": _rounded(self.validation_seconds),
                "send_seconds": _rounded(self.send_seconds),
                "recipients_per_second": round(self.done / self.send_seconds, 1)
                if self.send_seconds
                else None,
            },
        }

    def result_line(self) -> str:
        """What TWIN did with the send, in one log line."""
        return (
            f"TWIN accepted {self.accepted} and rejected {self.rejected} of {self.total} recipient(s); "
            f"{self.skipped_chunks} chunk(s) ({self.skipped} recipients) TWIN already held (an earlier "
            "try, or an answer lost on the way) were not sent again; "
            f"per channel: {', '.join(f'{name} {n}' for name, n in self._channels().items()) or '-'}"
        )

    def warning_lines(self, listed: int = 20) -> list[str]:
        """Log lines about what went wrong: the first ``listed`` rejected items, then a count."""
        lines = [
            f"rejected: recipient {item['index']} ({_address(item['destination'])}): {item['error']}"
            for item in self.rejected_items[:listed]
        ]
        if self.rejected > listed:
            lines.append(f"... and {self.rejected - listed} more rejected item(s)")
        if self.mismatched_answers:
            lines.append(
                f"{self.mismatched_answers} chunk answer(s) did not hold one item per destination; "
                "rejected items of those chunks are reported without recipient index"
            )
        return lines

    def stop_line(self) -> str:
        """What a send that stopped early had done, in one log line."""
        return (
            f"TWIN send stopped: {self.done} of {self.total} recipient(s) in {self.chunks_done} chunk(s) "
            f"were handled before the failure (accepted {self.accepted}, rejected {self.rejected}, "
            f"skipped {self.skipped}); a retry of this task skips the chunks TWIN holds"
        )

    def rejected_beyond(self, threshold: float | None) -> str | None:
        """How many TWIN rejected, when that is a larger share than ``threshold``; else None."""
        judged = self.accepted + self.rejected
        if threshold is None or not judged or self.rejected / judged <= threshold:
            return None
        share = 100.0 * self.rejected / judged
        return f"TWIN rejected {self.rejected} of {judged} message(s) ({share:.1f}%)"


def _address(destination: Any) -> str:
    """A destination for a log line: ``phone 79*******01`` (its fields, not a dict's repr)."""
    if isinstance(destination, Mapping):
        return ", ".join(f"{key} {value}" for key, value in destination.items()) or "no address"
    return str(destination)
