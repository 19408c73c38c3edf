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

The state rebuilds from batch headers alone (`apply`), so recovery never decodes records
(a transaction marker's one control record excepted).
Transactions, as Kafka's ProducerStateManager tracks them: a producer's first transactional
batch opens its transaction in the partition (`current_txn_first_offset`); the earliest
open one is the partition's first unstable offset (the last stable offset's bound). A
marker (control batch) closes it; an abort marker records the aborted range (producer id,
first offset, marker offset), which read_committed fetches receive so consumers skip those
batches. A marker carries the coordinator's epoch and the producer epoch it fenced to:
an older producer epoch is INVALID_PRODUCER_EPOCH, an older coordinator epoch
TRANSACTION_COORDINATOR_FENCED. A producer with an open transaction may not write a
non-transactional batch (INVALID_TXN_STATE).

Partition verification (KIP-890 part 1, Kafka's `transaction.partition.verification.enable`):
before a client's transactional batch may open its producer's transaction here, the leader
asks the coordinator whether the partition is in that transaction. `start_verification`
hands out the producer's guard for that wait; a marker for the producer, or the batch that
opens the transaction, retires it. An append made with verification on must hold the
producer's current guard to open a transaction (else INVALID_TXN_STATE): a produce request
that lingered past its transaction's abort cannot open a transaction no coordinator knows,
which would hold back the last stable offset for good.

Producers idle for `producer.id.expiration.ms` (no open transaction here, last batch's
timestamp that old) are forgotten by `remove_expired`, as Kafka's periodic check does, so
the state does not grow with every short-lived producer a partition ever saw; a forgotten
producer's next batch is accepted as an unknown producer id's.

Snapshots (`<offset:020d>.snapshot`, Partita's own JSON, not Kafka's binary format) are
written when a segment rolls and on close, and bound how much log recovery replays. They
also hold the aborted ranges whose markers are below their offset (Kafka keeps those in
per-segment `.txnindex` files): recovery and truncation reload a snapshot and replay the
rest, so the aborted list follows the log with no file of its own. Ranges whose marker
falls below the log start offset are dropped (`prune_aborted`).
"""

from __future__ import annotations

import json
import os
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .batch import INT32_MAX, BatchHeader
from .errors import (
    InvalidProducerEpochError,
    InvalidTxnStateError,
    OutOfOrderSequenceError,
    TransactionCoordinatorFencedError,
)

__all__ = ["ProducerStateManager", "ProducerEntry", "BatchMetadata", "AbortedTxn", "SNAPSHOT_SUFFIX", "UNVERIFIED"]

SNAPSHOT_SUFFIX = ".snapshot"
NUM_BATCHES_TO_RETAIN = 5  # Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN
NO_EPOCH = -1
UNVERIFIED = object()  # the guard of an append that verification is on for but nothing was verified


@dataclass(frozen=True, slots=True)
class BatchMetadata:
    first_seq: int
    last_seq: int
    first_offset: int
    last_offset: int
    timestamp: int  # the batch's maxTimestamp as stored


@dataclass(frozen=True, slots=True)
class AbortedTxn:
    producer_id: int
    first_offset: int
    last_offset: int  # the abort marker's offset


@dataclass(slots=True)
class ProducerEntry:
    producer_id: int
    epoch: int = NO_EPOCH
    batches: deque = field(default_factory=lambda: deque(maxlen=NUM_BATCHES_TO_RETAIN))
    last_timestamp: int = -1
    current_txn_first_offset: int = -1  # first offset of its open transaction here, or -1
    coordinator_epoch: int = -1  # of the last marker written for it

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
            self.current_txn_first_offset,
            self.coordinator_epoch,
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
        self.last_timestamp = ts  # the latest batch's, as Kafka's (not the largest seen)

    def end_txn(self, epoch: int, coordinator_epoch: int, marker_offset: int, ts: int, aborted: bool
                ) -> AbortedTxn | None:
        """Close the open transaction at a marker; the aborted range when it aborts one."""
        first = self.current_txn_first_offset
        if epoch != self.epoch:
            self.epoch = epoch
            self.batches.clear()
        self.coordinator_epoch = coordinator_epoch
        self.current_txn_first_offset = -1
        self.last_timestamp = ts  # the latest batch's, as Kafka's (not the largest seen)
        if aborted and first >= 0:
            return AbortedTxn(self.producer_id, first, marker_offset)
        return None


def _marker_offset(aborted: AbortedTxn) -> int:
    return aborted.last_offset


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
        self.ongoing: dict[int, int] = {}  # producer id -> first offset of its open transaction
        self.aborted: list[AbortedTxn] = []  # by marker offset
        # producer id -> (guard, when it was handed out, ms) of a verification in progress
        self.verifications: dict[int, tuple[object, int]] = {}

    # -- leader appends -------------------------------------------------------------------

    def begin(self, guard: object | None = None) -> Staging:
        """Checks for one append; `guard` is None when partition verification is off, else
        what `start_verification` gave the request (or UNVERIFIED)."""
        return Staging(self, guard)

    def start_verification(self, producer_id: int, epoch: int, now_ms: int) -> object | None:
        """The guard a transactional batch of this producer needs to open its transaction here,
        or None when its transaction here is open already (nothing to verify)."""
        entry = self.producers.get(producer_id)
        if entry is not None and entry.current_txn_first_offset >= 0 and entry.epoch == epoch:
            return None
        found = self.verifications.get(producer_id)
        if found is None:
            found = self.verifications[producer_id] = (object(), now_ms)
        return found[0]

    # -- replication and recovery ---------------------------------------------------------

    def apply(self, h: BatchHeader, marker: tuple[bool, int] | None = None) -> None:
        """Record an appended batch (replicated or replayed) without checks; a control
        batch comes with its marker: (aborted, coordinator epoch)."""
        if h.producer_id < 0:
            return
        entry = self.producers.get(h.producer_id)
        if entry is None:
            entry = self.producers[h.producer_id] = ProducerEntry(h.producer_id)
        elif h.producer_epoch < entry.epoch:
            return  # a zombie's batch that made it into the log: Kafka only warns
        if h.is_control:
            if marker is not None:
                self._record_end(entry, entry.end_txn(h.producer_epoch, marker[1], h.base_offset,
                                                      h.max_timestamp, marker[0]))
            return
        first_seq, last_seq = _sequences(h)
        entry.add(
            h.producer_epoch,
            first_seq,
            last_seq,
            h.base_offset,
            h.base_offset + h.last_offset_delta,
            h.max_timestamp,
        )
        if h.is_transactional and entry.current_txn_first_offset < 0:
            entry.current_txn_first_offset = h.base_offset
            self.ongoing[h.producer_id] = h.base_offset

    def _record_end(self, entry: ProducerEntry, aborted: AbortedTxn | None) -> None:
        self.ongoing.pop(entry.producer_id, None)
        self.verifications.pop(entry.producer_id, None)
        if aborted is not None and (not self.aborted or self.aborted[-1].last_offset < aborted.last_offset):
            self.aborted.append(aborted)

    def clear(self) -> None:
        self.producers.clear()
        self.ongoing.clear()
        self.aborted.clear()
        self.verifications.clear()

    # -- transactions ---------------------------------------------------------------------

    @property
    def first_unstable_offset(self) -> int | None:
        """The first offset of the earliest open transaction, or None."""
        return min(self.ongoing.values()) if self.ongoing else None

    def aborted_between(self, start: int, end: int) -> list[AbortedTxn]:
        """Aborted ranges a read of [start, end) may touch (Kafka's collectAbortedTxns)."""
        first = bisect_left(self.aborted, start, key=_marker_offset)
        return [a for a in self.aborted[first:] if a.first_offset < end]

    def prune_aborted(self, below: int) -> None:
        """Forget aborted ranges whose marker lies below `below` (the new log start)."""
        keep = bisect_left(self.aborted, below, key=_marker_offset)
        if keep:
            del self.aborted[:keep]

    def remove_expired(self, now_ms: int, expiration_ms: int) -> int:
        """Forget producers with no open transaction whose last batch is `expiration_ms` old
        (Kafka's isProducerExpired); returns how many."""
        expired = [pid for pid, e in self.producers.items()
                   if e.current_txn_first_offset < 0 and now_ms - e.last_timestamp >= expiration_ms]
        for pid in expired:
            del self.producers[pid]
        for pid in [pid for pid, (_, since) in self.verifications.items() if now_ms - since >= expiration_ms]:
            del self.verifications[pid]  # a verification whose batch never came
        return len(expired)

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
                e.current_txn_first_offset,
                e.coordinator_epoch,
            ]
            for e in self.producers.values()
        ]
        aborted = [[a.producer_id, a.first_offset, a.last_offset] for a in self.aborted]
        path = self.snapshot_path(offset)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w") as f:
            json.dump({"version": 2, "offset": offset, "producers": producers, "aborted": aborted}, f,
                      separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def load_snapshot(self, offset: int) -> bool:
        """Replace the state with the snapshot at `offset`; False if it is unreadable."""
        try:
            data = json.loads(self.snapshot_path(offset).read_text())
            producers = {}
            for pid, epoch, last_ts, batches, *txn in data["producers"]:  # version 1 has no txn fields
                entry = ProducerEntry(pid, epoch, last_timestamp=last_ts)
                for b in batches:
                    entry.batches.append(BatchMetadata(*b))
                if txn:
                    entry.current_txn_first_offset, entry.coordinator_epoch = txn
                producers[pid] = entry
            aborted = [AbortedTxn(*a) for a in data.get("aborted", ())]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        self.producers = producers
        self.ongoing = {pid: e.current_txn_first_offset for pid, e in producers.items()
                        if e.current_txn_first_offset >= 0}
        self.aborted = aborted
        return True

    def delete_snapshots(self, *, below: int | None = None, above: int | None = None) -> None:
        """Remove snapshots at offsets < below and/or > above."""
        for off in self.snapshot_offsets():
            if (below is not None and off < below) or (above is not None and off > above):
                self.snapshot_path(off).unlink(missing_ok=True)


class Staging:
    """Producer checks for one leader append (see ProducerStateManager)."""

    __slots__ = ("manager", "updated", "aborted", "guard", "ended")

    def __init__(self, manager: ProducerStateManager, guard: object | None = None):
        self.manager = manager
        self.updated: dict[int, ProducerEntry] = {}
        self.aborted: list[AbortedTxn | None] = []
        self.guard = guard
        self.ended: set[int] = set()  # producers whose marker this append writes

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
        if h.is_transactional:
            if entry.current_txn_first_offset < 0:
                if self.guard is not None and self._verified_guard(h.producer_id) is not self.guard:
                    raise InvalidTxnStateError(
                        f"producer {h.producer_id}'s batch would open a transaction the coordinator has not "
                        f"confirmed includes this partition: Record was not part of an ongoing transaction")
                entry.current_txn_first_offset = first_offset
        elif entry.current_txn_first_offset >= 0 and epoch == entry.epoch:
            raise InvalidTxnStateError(
                f"producer {h.producer_id} wrote a non-transactional batch while its transaction is open"
            )
        entry.add(epoch, first_seq, last_seq, first_offset, last_offset, timestamp)

    def end_txn(self, producer_id: int, epoch: int, coordinator_epoch: int, aborted: bool,
                marker_offset: int, timestamp: int) -> None:
        """Check a marker the coordinator writes at `marker_offset` and close the transaction."""
        entry = self._entry(producer_id)
        if epoch < entry.epoch:
            raise InvalidProducerEpochError(
                f"marker epoch {epoch} of producer {producer_id} is older than its current epoch {entry.epoch}"
            )
        if coordinator_epoch < entry.coordinator_epoch:
            raise TransactionCoordinatorFencedError(
                f"coordinator epoch {coordinator_epoch} is older than {entry.coordinator_epoch}, "
                f"which wrote the last marker for producer {producer_id}"
            )
        self.aborted.append(entry.end_txn(epoch, coordinator_epoch, marker_offset, timestamp, aborted))
        self.ended.add(producer_id)

    def _verified_guard(self, producer_id: int) -> object | None:
        found = self.manager.verifications.get(producer_id)
        return None if found is None else found[0]

    def commit(self) -> None:
        manager = self.manager
        manager.producers.update(self.updated)
        for pid, entry in self.updated.items():
            if entry.current_txn_first_offset >= 0:
                manager.ongoing[pid] = entry.current_txn_first_offset
                manager.verifications.pop(pid, None)  # open now: its later batches need no guard
            else:
                manager.ongoing.pop(pid, None)
        for pid in self.ended:
            manager.verifications.pop(pid, None)  # a request verified before this marker may not open one
        for aborted in self.aborted:
            if aborted is not None:
                manager.aborted.append(aborted)
