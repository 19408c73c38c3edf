"""Idempotent-producer state of one partition: per producer id, its epoch and last batches.

What the leader checks before appending a batch from a producer with an id and a
sequence number, as Kafka's ProducerAppendInfo and ProducerStateEntry do (Kafka ≥ 2.5):
- same epoch and the batch's (first, last) sequence equal one of the last five batches
  → a retry of an appended batch: answer with its original offsets, append nothing;
- an epoch older than the current one → INVALID_PRODUCER_EPOCH;
- a newer epoch must start at sequence 0 → else OUT_OF_ORDER_SEQUENCE_NUMBER;
- same epoch: first sequence must follow the last one (int32 wraps to 0) → else
  OUT_OF_ORDER_SEQUENCE_NUMBER;
- an unknown producer id is accepted at any sequence (KIP-360: its state may have been
  removed with old segments or by DeleteRecords; UNKNOWN_PRODUCER_ID is no longer sent).
Replicated and recovered batches update the state without checks.

The state rebuilds from batch headers alone (`apply`), so recovery never decodes records.
Snapshots (`<offset:020d>.snapshot`, Partita's own JSON, not Kafka's binary format) are
written when a segment rolls and on close, and bound how much log recovery replays.
Transactions (ongoing transaction offsets, LSO, aborted-transaction index) are not tracked.
"""

from __future__ import annotations

import json
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .batch import INT32_MAX, BatchHeader
from .errors import InvalidProducerEpochError, OutOfOrderSequenceError

__all__ = ["ProducerStateManager", "ProducerEntry", "BatchMetadata", "SNAPSHOT_SUFFIX"]

SNAPSHOT_SUFFIX = ".snapshot"
NUM_BATCHES_TO_RETAIN = 5  # Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN
NO_EPOCH = -1


@dataclass(frozen=True, slots=True)
class BatchMetadata:
    first_seq: int
    last_seq: int
    first_offset: int
    last_offset: int
    timestamp: int  # the batch's maxTimestamp as stored


@dataclass(slots=True)
class ProducerEntry:
    producer_id: int
    epoch: int = NO_EPOCH
    batches: deque = field(default_factory=lambda: deque(maxlen=NUM_BATCHES_TO_RETAIN))
    last_timestamp: int = -1

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1

    @property
    def last_offset(self) -> int:
        return self.batches[-1].last_offset if self.batches else -1

    def copy(self) -> ProducerEntry:
        return ProducerEntry(
            self.producer_id,
            self.epoch,
            deque(self.batches, maxlen=NUM_BATCHES_TO_RETAIN),
            self.last_timestamp,
        )

    def find_duplicate(self, epoch: int, first_seq: int, last_seq: int) -> BatchMetadata | None:
        if epoch != self.epoch:
            return None
        for b in self.batches:
            if b.first_seq == first_seq and b.last_seq == last_seq:
                return b
        return None

    def add(
        self, epoch: int, first_seq: int, last_seq: int, first_offset: int, last_offset: int, ts: int
    ) -> None:
        if epoch != self.epoch:
            self.epoch = epoch
            self.batches.clear()
        if first_seq >= 0:
            self.batches.append(BatchMetadata(first_seq, last_seq, first_offset, last_offset, ts))
        self.last_timestamp = max(self.last_timestamp, ts)


def _in_sequence(last_seq: int, next_seq: int) -> bool:
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == INT32_MAX)


def _sequences(h: BatchHeader) -> tuple[int, int]:
    if h.base_sequence < 0:
        return -1, -1
    return h.base_sequence, (h.base_sequence + h.last_offset_delta) & INT32_MAX


class ProducerStateManager:
    """All producers of one partition. Validation is staged: `begin()` returns a Staging
    that checks batches against the state as it would be after the earlier batches of the
    same append, and `commit()` applies it only once the append is on disk."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.producers: dict[int, ProducerEntry] = {}

    # -- leader appends -------------------------------------------------------------------

    def begin(self) -> Staging:
        return Staging(self)

    # -- replication and recovery ---------------------------------------------------------

    def apply(self, h: BatchHeader) -> None:
        """Record an appended batch (replicated or replayed) without checks."""
        if h.producer_id < 0:
            return
        entry = self.producers.get(h.producer_id)
        if entry is None:
            entry = self.producers[h.producer_id] = ProducerEntry(h.producer_id)
        elif h.producer_epoch < entry.epoch:
            return  # a zombie's batch that made it into the log: Kafka only warns
        first_seq, last_seq = _sequences(h)
        entry.add(
            h.producer_epoch,
            first_seq,
            last_seq,
            h.base_offset,
            h.base_offset + h.last_offset_delta,
            h.max_timestamp,
        )

    def clear(self) -> None:
        self.producers.clear()

    def last_entry(self, producer_id: int) -> ProducerEntry | None:
        return self.producers.get(producer_id)

    # -- snapshots ------------------------------------------------------------------------

    def snapshot_path(self, offset: int) -> Path:
        return self.directory / f"{offset:020d}{SNAPSHOT_SUFFIX}"

    def snapshot_offsets(self) -> list[int]:
        out = []
        for p in self.directory.glob(f"*{SNAPSHOT_SUFFIX}"):
            try:
                out.append(int(p.name[: -len(SNAPSHOT_SUFFIX)]))
            except ValueError:
                continue
        return sorted(out)

    def write_snapshot(self, offset: int) -> None:
        """The state as of `offset` (the log end offset when called)."""
        producers = [
            [
                e.producer_id,
                e.epoch,
                e.last_timestamp,
                [[b.first_seq, b.last_seq, b.first_offset, b.last_offset, b.timestamp] for b in e.batches],
            ]
            for e in self.producers.values()
        ]
        path = self.snapshot_path(offset)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w") as f:
            json.dump({"version": 1, "offset": offset, "producers": producers}, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def load_snapshot(self, offset: int) -> bool:
        """Replace the state with the snapshot at `offset`; False if it is unreadable."""
        try:
            data = json.loads(self.snapshot_path(offset).read_text())
            producers = {}
            for pid, epoch, last_ts, batches in data["producers"]:
                entry = ProducerEntry(pid, epoch, last_timestamp=last_ts)
                for b in batches:
                    entry.batches.append(BatchMetadata(*b))
                producers[pid] = entry
        except (OSError, ValueError, KeyError, TypeError):
            return False
        self.producers = producers
        return True

    def delete_snapshots(self, *, below: int | None = None, above: int | None = None) -> None:
        """Remove snapshots at offsets < below and/or > above."""
        for off in self.snapshot_offsets():
            if (below is not None and off < below) or (above is not None and off > above):
                self.snapshot_path(off).unlink(missing_ok=True)


class Staging:
    """Producer checks for one leader append (see ProducerStateManager)."""

    __slots__ = ("manager", "updated")

    def __init__(self, manager: ProducerStateManager):
        self.manager = manager
        self.updated: dict[int, ProducerEntry] = {}

    def _entry(self, producer_id: int) -> ProducerEntry:
        entry = self.updated.get(producer_id)
        if entry is None:
            current = self.manager.producers.get(producer_id)
            entry = current.copy() if current is not None else ProducerEntry(producer_id)
            self.updated[producer_id] = entry
        return entry

    def find_duplicate(self, h: BatchHeader) -> BatchMetadata | None:
        """A retry of a batch already in the log (checked against the committed state, as Kafka does)."""
        if h.producer_id < 0 or h.base_sequence < 0:
            return None
        entry = self.manager.producers.get(h.producer_id)
        if entry is None:
            return None
        first_seq, last_seq = _sequences(h)
        return entry.find_duplicate(h.producer_epoch, first_seq, last_seq)

    def check_and_add(self, h: BatchHeader, first_offset: int, last_offset: int, timestamp: int) -> None:
        """Validate epoch and sequence of a client batch that will get these offsets."""
        if h.producer_id < 0:
            return
        entry = self._entry(h.producer_id)
        epoch = h.producer_epoch
        first_seq, last_seq = _sequences(h)
        if epoch < entry.epoch:
            raise InvalidProducerEpochError(
                f"epoch {epoch} of producer {h.producer_id} is older than its current epoch {entry.epoch}"
            )
        if first_seq >= 0:
            if epoch != entry.epoch:
                if first_seq != 0 and entry.epoch != NO_EPOCH:
                    raise OutOfOrderSequenceError(
                        f"producer {h.producer_id} starts epoch {epoch} at sequence {first_seq}; a new epoch "
                        f"starts at 0 (current epoch {entry.epoch})"
                    )
            elif not _in_sequence(entry.last_seq, first_seq):
                raise OutOfOrderSequenceError(
                    f"out of order sequence for producer {h.producer_id} epoch {epoch}: got {first_seq}, "
                    f"expected {(entry.last_seq + 1) & INT32_MAX}"
                )
        entry.add(epoch, first_seq, last_seq, first_offset, last_offset, timestamp)

    def commit(self) -> None:
        self.manager.producers.update(self.updated)
