"""One transactional id's state at its coordinator (Kafka's TransactionMetadata, transaction version 1).

Empty, CompleteCommit or CompleteAbort --AddPartitions/AddOffsets--> Ongoing (more partitions
keep it Ongoing) --EndTxn--> PrepareCommit or PrepareAbort --markers written--> CompleteCommit
or CompleteAbort; InitProducerId moves a completed id back to Empty with the next epoch.

A fencing abort (a new producer's InitProducerId, or the transaction timing out) bumps the
epoch first, so the old producer's next request is PRODUCER_FENCED and the markers carry
the new epoch into every partition.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from partita.engine.transactions.records import TxnLogValue


class TxnState(enum.IntEnum):
    # Kafka's TransactionState ids (written to __transaction_state) and names (ListTransactions)
    EMPTY = 0
    ONGOING = 1
    PREPARE_COMMIT = 2
    PREPARE_ABORT = 3
    COMPLETE_COMMIT = 4
    COMPLETE_ABORT = 5
    DEAD = 6
    PREPARE_EPOCH_FENCE = 7

    @property
    def kafka_name(self) -> str:
        return _NAMES[self]


_NAMES = {
    TxnState.EMPTY: "Empty", TxnState.ONGOING: "Ongoing", TxnState.PREPARE_COMMIT: "PrepareCommit",
    TxnState.PREPARE_ABORT: "PrepareAbort", TxnState.COMPLETE_COMMIT: "CompleteCommit",
    TxnState.COMPLETE_ABORT: "CompleteAbort", TxnState.DEAD: "Dead",
    TxnState.PREPARE_EPOCH_FENCE: "PrepareEpochFence",
}
STATE_BY_NAME = {name: state for state, name in _NAMES.items()}
PREPARING = (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT, TxnState.PREPARE_EPOCH_FENCE)
COMPLETED = (TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT)  # no transaction open


@dataclass(slots=True)
class TxnMetadata:
    transactional_id: str
    producer_id: int
    epoch: int
    timeout_ms: int
    state: TxnState = TxnState.EMPTY
    partitions: set[tuple[str, int]] = field(default_factory=set)
    start_ms: int = -1
    last_update_ms: int = -1
    writing: bool = False  # a state change is being written: other requests wait (CONCURRENT_TRANSACTIONS)

    def to_record(self) -> TxnLogValue:
        by_topic: dict[str, list[int]] = {}
        for topic, index in sorted(self.partitions):
            by_topic.setdefault(topic, []).append(index)
        return TxnLogValue(self.producer_id, self.epoch, self.timeout_ms, int(self.state),
                           tuple((t, tuple(ps)) for t, ps in by_topic.items()), self.last_update_ms, self.start_ms)

    @classmethod
    def from_record(cls, transactional_id: str, v: TxnLogValue) -> TxnMetadata:
        return cls(transactional_id, v.producer_id, v.producer_epoch, v.timeout_ms, TxnState(v.status),
                   {(t, p) for t, ps in v.partitions for p in ps}, v.start_ms, v.last_update_ms)

    def changed(self, **changes) -> TxnMetadata:
        """A copy with `changes`: the state to write; it replaces this one once written."""
        copy = TxnMetadata(self.transactional_id, self.producer_id, self.epoch, self.timeout_ms, self.state,
                           set(self.partitions), self.start_ms, self.last_update_ms)
        for name, value in changes.items():
            setattr(copy, name, value)
        return copy
