"""Transaction markers: the control batches a transaction coordinator has leaders append.

Kafka's format (EndTransactionMarker, ControlRecordType): one record in an uncompressed
batch with the control and transactional attributes, the producer's id and epoch and no
sequence. Its key is version int16 (0) + type int16 (0 abort, 1 commit); its value is
version int16 (0) + coordinator epoch int32.
"""

from __future__ import annotations

import struct

from .errors import CorruptRecordError
from .records import build_batch, iter_records

__all__ = ["ABORT", "COMMIT", "build_marker", "read_marker"]

ABORT, COMMIT = 0, 1
_KEY = struct.Struct(">hh")
_VALUE = struct.Struct(">hi")


def build_marker(commit: bool, producer_id: int, producer_epoch: int, coordinator_epoch: int,
                 timestamp: int) -> bytes:
    key = _KEY.pack(0, COMMIT if commit else ABORT)
    value = _VALUE.pack(0, coordinator_epoch)
    return build_batch([(timestamp, key, value)], producer_id=producer_id, producer_epoch=producer_epoch,
                       transactional=True, control=True)


def read_marker(batch) -> tuple[bool, int] | None:
    """(aborted, coordinator epoch) of a control batch; None for other control records
    (Kafka has leader-change and KRaft ones, which close no transaction)."""
    for record in iter_records(batch):
        key, value = record.key, record.value
        if key is None or len(key) < _KEY.size:
            raise CorruptRecordError("a control record without a valid key")
        _, kind = _KEY.unpack_from(key)
        if kind not in (ABORT, COMMIT):
            return None
        if value is None or len(value) < _VALUE.size:
            raise CorruptRecordError("a transaction marker without a valid value")
        return kind == ABORT, _VALUE.unpack_from(value)[1]
    return None
