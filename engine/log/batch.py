"""Record batch v2 at the byte level: the 61-byte header, validation, in-place patches.

This is the produce/fetch hot path, so nothing here looks past a batch's header except
the CRC32C (a C call over a memoryview). Batches stay bytes from the socket to the disk:
the broker patches baseOffset and partitionLeaderEpoch in place (both lie before the
CRC'd range, so the CRC stays valid) and only rewrites the CRC when LogAppendTime forces
a new maxTimestamp.

Layout (big-endian), offsets in bytes:
    0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8
    17 crc u32 | 21 attributes i16 | 23 lastOffsetDelta i32 | 27 baseTimestamp i64
    35 maxTimestamp i64 | 43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32
    57 recordCount i32 | 61 records...
batchLength counts from byte 12 to the end, so a batch occupies batchLength + 12 bytes.
CRC32C covers attributes (byte 21) to the end.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from crc32c import crc32c

from .errors import CorruptRecordError, InvalidRecordError, InvalidTimestampError, UnsupportedMagicError

__all__ = [
    "HEADER_SIZE",
    "LOG_OVERHEAD",
    "BatchHeader",
    "read_header",
    "iter_batches",
    "validate_batches",
    "validate_timestamps",
    "patch_offsets",
    "set_max_timestamp",
    "batch_crc",
    "COMPRESSION_NAMES",
    "CREATE_TIME",
    "LOG_APPEND_TIME",
    "NO_TIMESTAMP",
]

HEADER_SIZE = 61  # Kafka's RECORD_BATCH_OVERHEAD
LOG_OVERHEAD = 12  # baseOffset + batchLength: the part batchLength does not count
MIN_BATCH_LENGTH = HEADER_SIZE - LOG_OVERHEAD
CRC_START = 21
MAGIC_OFFSET = 16

CREATE_TIME = 0
LOG_APPEND_TIME = 1
NO_TIMESTAMP = -1
INT32_MAX = 0x7FFFFFFF

COMPRESSION_NAMES = ("none", "gzip", "snappy", "lz4", "zstd")

_ATTR_COMPRESSION = 0x07
_ATTR_TIMESTAMP_TYPE = 0x08
_ATTR_TRANSACTIONAL = 0x10
_ATTR_CONTROL = 0x20

_HEADER = struct.Struct(">qiibIhiqqqhii")
assert _HEADER.size == HEADER_SIZE
_OFFSET_AND_LENGTH = struct.Struct(">qi")
_I64 = struct.Struct(">q")
_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_I16 = struct.Struct(">h")


class BatchHeader(NamedTuple):
    """The fixed fields of a v2 batch. `length` is Kafka's batchLength (bytes after byte 12)."""

    base_offset: int
    length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    record_count: int

    @property
    def compression(self) -> int:
        """0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd (COMPRESSION_NAMES for the names)."""
        return self.attributes & _ATTR_COMPRESSION

    @property
    def timestamp_type(self) -> int:
        """CREATE_TIME (0) or LOG_APPEND_TIME (1)."""
        return 1 if self.attributes & _ATTR_TIMESTAMP_TYPE else 0

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & _ATTR_TRANSACTIONAL)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & _ATTR_CONTROL)

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1

    @property
    def total_size(self) -> int:
        return self.length + LOG_OVERHEAD

    @property
    def last_sequence(self) -> int:
        """baseSequence + lastOffsetDelta, wrapping past INT32_MAX to 0 as Kafka's producer does."""
        if self.base_sequence < 0:
            return -1
        return (self.base_sequence + self.last_offset_delta) & INT32_MAX


def read_header(buf, position: int = 0) -> BatchHeader:
    """Unpack the header at `position`; the caller guarantees 61 bytes are there."""
    return BatchHeader._make(_HEADER.unpack_from(buf, position))


def iter_batches(buf) -> Iterator[tuple[int, BatchHeader]]:
    """(position, header) for each complete batch in `buf`, in order.

    Stops quietly at a trailing partial batch, as Kafka's readers do with the partial last
    batch of a fetch response. Checks nothing else: validate first where that matters.
    """
    end = len(buf)
    pos = 0
    unpack = _HEADER.unpack_from
    make = BatchHeader._make
    while pos + HEADER_SIZE <= end:
        header = make(unpack(buf, pos))
        size = header.length + LOG_OVERHEAD
        if header.length < MIN_BATCH_LENGTH or pos + size > end:
            return
        yield pos, header
        pos += size


def batch_crc(buf, position: int, length: int) -> int:
    """CRC32C of a batch's attributes..end (what its crc field must hold)."""
    with memoryview(buf) as view:
        return crc32c(view[position + CRC_START : position + LOG_OVERHEAD + length])


def validate_batches(buf, *, from_client: bool = True) -> list[BatchHeader]:
    """Check every batch in `buf` as the broker must before appending; return their headers.

    Always: complete batches back to back, sane batchLength, magic 2, CRC32C. With
    `from_client` (a produce request, as opposed to replication) also Kafka's cheap client
    checks: recordCount > 0 and equal to lastOffsetDelta + 1 (the header's own count, so
    compressed batches are checked too without decompressing), no control batches, and a
    sequence number whenever there is a producer id.
    Raises CorruptRecordError, UnsupportedMagicError or InvalidRecordError; appends nothing.
    """
    end = len(buf)
    pos = 0
    headers: list[BatchHeader] = []
    unpack = _HEADER.unpack_from
    make = BatchHeader._make
    with memoryview(buf) as view:
        while pos < end:
            if end - pos < LOG_OVERHEAD:
                raise CorruptRecordError(f"{end - pos} trailing bytes at position {pos} are not a batch")
            if end - pos < HEADER_SIZE:
                # Could be a pre-v2 message (shorter header): report the magic if it is there.
                if end - pos > MAGIC_OFFSET and view[pos + MAGIC_OFFSET] != 2:
                    raise UnsupportedMagicError(
                        f"magic {view[pos + MAGIC_OFFSET]} at position {pos}; only 2 is accepted"
                    )
                raise CorruptRecordError(f"truncated batch header at position {pos} ({end - pos} bytes)")
            header = make(unpack(buf, pos))
            if header.magic != 2:
                raise UnsupportedMagicError(f"magic {header.magic} at position {pos}; only 2 is accepted")
            length = header.length
            if length < MIN_BATCH_LENGTH:
                raise CorruptRecordError(
                    f"batch length {length} at position {pos} is below the minimum {MIN_BATCH_LENGTH}"
                )
            if pos + LOG_OVERHEAD + length > end:
                raise CorruptRecordError(
                    f"batch at position {pos} claims {length + LOG_OVERHEAD} bytes, only {end - pos} remain"
                )
            crc = crc32c(view[pos + CRC_START : pos + LOG_OVERHEAD + length])
            if crc != header.crc:
                raise CorruptRecordError(
                    f"CRC mismatch in batch at position {pos}: stored {header.crc:#010x}, computed {crc:#010x}"
                )
            if from_client:
                _check_client_batch(header, pos)
            headers.append(header)
            pos += LOG_OVERHEAD + length
    return headers


def _check_client_batch(header: BatchHeader, pos: int) -> None:
    count = header.record_count
    if count <= 0:
        raise InvalidRecordError(f"invalid record count {count} in batch at position {pos}")
    if header.last_offset_delta < 0 or header.last_offset_delta + 1 != count:
        raise InvalidRecordError(
            f"inconsistent batch at position {pos}: lastOffsetDelta {header.last_offset_delta} "
            f"but {count} records"
        )
    if header.attributes & _ATTR_CONTROL:
        raise InvalidRecordError(f"clients may not write control batches (position {pos})")
    if header.producer_id >= 0 and header.base_sequence < 0:
        raise InvalidRecordError(
            f"batch at position {pos} has producer id {header.producer_id} but no sequence number"
        )


def validate_timestamps(
    headers: list[BatchHeader], now_ms: int, before_max_ms: int, after_max_ms: int
) -> None:
    """CreateTime bounds (message.timestamp.before/after.max.ms) from the headers alone.

    Kafka checks every record; the header gives the first record's timestamp
    (baseTimestamp) and the largest (maxTimestamp), which catches the usual cases —
    a skewed producer clock — without decoding records. Records without a timestamp
    (-1) are exempt, as in Kafka.
    """
    low = now_ms - before_max_ms
    high = now_ms + after_max_ms
    for h in headers:
        if h.max_timestamp != NO_TIMESTAMP and h.max_timestamp > high:
            raise InvalidTimestampError(
                f"timestamp {h.max_timestamp} is out of range: more than {after_max_ms} ms "
                f"(message.timestamp.after.max.ms) ahead of the broker's clock {now_ms}"
            )
        if h.base_timestamp != NO_TIMESTAMP and h.base_timestamp < low:
            raise InvalidTimestampError(
                f"timestamp {h.base_timestamp} is out of range: more than {before_max_ms} ms "
                f"(message.timestamp.before.max.ms) behind the broker's clock {now_ms}"
            )


def patch_offsets(buf: bytearray, position: int, base_offset: int, leader_epoch: int) -> None:
    """Write baseOffset and partitionLeaderEpoch of the batch at `position` (outside the CRC)."""
    _I64.pack_into(buf, position, base_offset)
    _I32.pack_into(buf, position + 12, leader_epoch)


def set_max_timestamp(
    buf: bytearray, position: int, timestamp_type: int, max_timestamp: int, body=None
) -> bool:
    """Set the timestamp type bit and maxTimestamp, recomputing the CRC; False if unchanged.

    Kafka's setMaxTimestamp: for LogAppendTime the broker stamps every batch with its
    clock; for CreateTime it clears a LogAppendTime bit a client may have set. `buf` holds
    the whole batch at `position`, or, when `body` is given, only its 61-byte header, the
    records being `body` (so a leader can patch a header copy and leave the body alone).
    """
    attributes = _I16.unpack_from(buf, position + 21)[0]
    current_type = 1 if attributes & _ATTR_TIMESTAMP_TYPE else 0
    current_max = _I64.unpack_from(buf, position + 35)[0]
    if current_type == timestamp_type and current_max == max_timestamp:
        return False
    if timestamp_type == LOG_APPEND_TIME:
        attributes |= _ATTR_TIMESTAMP_TYPE
    else:
        attributes &= ~_ATTR_TIMESTAMP_TYPE
    _I16.pack_into(buf, position + 21, attributes)
    _I64.pack_into(buf, position + 35, max_timestamp)
    if body is None:
        crc = batch_crc(buf, position, _I32.unpack_from(buf, position + 8)[0])
    else:
        with memoryview(buf) as view:
            crc = crc32c(body, crc32c(view[position + CRC_START : position + HEADER_SIZE]))
    _U32.pack_into(buf, position + 17, crc)
    return True
