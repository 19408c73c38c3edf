"""`__transaction_state` records in Kafka's format (TransactionLogKey / TransactionLogValue).

Key: version int16 (0), transactional_id string. Value, version 0 (what the engine writes;
Kafka 4 reads it): producer_id int64, producer_epoch int16, transaction_timeout_ms int32,
transaction_status int8, transaction_partitions nullable array [topic string,
partition_ids array int32], transaction_last_update_timestamp_ms int64,
transaction_start_timestamp_ms int64. A null value (tombstone) removes the id. Version 1
(flexible, with transaction version 2's tagged fields) is Kafka's for TV2 producers, which
the engine does not serve; it reads only what it writes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["TRANSACTION_STATE_TOPIC", "TxnLogValue", "RecordFormatError", "encode_key", "decode_key", "encode_value", "decode_value"]

TRANSACTION_STATE_TOPIC = "__transaction_state"

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_HEAD = struct.Struct(">hqhib")  # version, producer id, epoch, timeout, status
_TIMES = struct.Struct(">qq")


class RecordFormatError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class TxnLogValue:
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    status: int
    partitions: tuple[tuple[str, tuple[int, ...]], ...]
    last_update_ms: int
    start_ms: int


def encode_key(transactional_id: str) -> bytes:
    raw = transactional_id.encode()
    return _I16.pack(0) + _I16.pack(len(raw)) + raw


def decode_key(data: bytes) -> str:
    try:
        (version,) = _I16.unpack_from(data, 0)
        (size,) = _I16.unpack_from(data, 2)
    except struct.error as exc:
        raise RecordFormatError(f"a transaction log key cut short: {exc}") from exc
    if version not in (0,) or size < 0 or 4 + size > len(data):
        raise RecordFormatError(f"not a transaction log key (version {version}, length {size})")
    return data[4 : 4 + size].decode()


def encode_value(v: TxnLogValue) -> bytes:
    out = [_HEAD.pack(0, v.producer_id, v.producer_epoch, v.timeout_ms, v.status)]
    out.append(_I32.pack(len(v.partitions)))
    for topic, partitions in v.partitions:
        raw = topic.encode()
        out.append(_I16.pack(len(raw)) + raw + _I32.pack(len(partitions)))
        out.extend(_I32.pack(p) for p in partitions)
    out.append(_TIMES.pack(v.last_update_ms, v.start_ms))
    return b"".join(out)


def decode_value(data: bytes) -> TxnLogValue:
    try:
        version, pid, epoch, timeout, status = _HEAD.unpack_from(data, 0)
        if version == 0:
            return _decode_v0_rest(data, _HEAD.size, pid, epoch, timeout, status)
    except (struct.error, UnicodeDecodeError, IndexError) as exc:
        raise RecordFormatError(f"a transaction log value cut short: {exc}") from exc
    raise RecordFormatError(f"unknown transaction log value version {version}")


def _decode_v0_rest(data, pos, pid, epoch, timeout, status) -> TxnLogValue:
    (count,) = _I32.unpack_from(data, pos)
    pos += 4
    partitions = []
    for _ in range(max(count, 0)):
        (size,) = _I16.unpack_from(data, pos)
        topic = bytes(data[pos + 2 : pos + 2 + size]).decode()
        pos += 2 + size
        (n,) = _I32.unpack_from(data, pos)
        pos += 4
        partitions.append((topic, tuple(_I32.unpack_from(data, pos + 4 * i)[0] for i in range(n))))
        pos += 4 * n
    last_update, start = _TIMES.unpack_from(data, pos)
    return TxnLogValue(pid, epoch, timeout, status, tuple(partitions), last_update, start)
