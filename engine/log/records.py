"""The records inside a v2 batch: build a batch, and walk its records. Off the hot path.

Fetch never comes here, nor produce except to a compacted topic (whose records must have
keys). Users: ListOffsets by timestamp (the first record at or after a timestamp sits
somewhere inside one batch), the log cleaner, the group coordinator and tools that write
or read their own records, and tests. Compressed batches are handled when
the codec's library is installed (compression.py).

Record layout (inside the batch, after the 61-byte header, possibly compressed):
    length varint | attributes i8 | timestampDelta varlong | offsetDelta varint
    | keyLength varint | key | valueLength varint | value | headerCount varint
    | (headerKeyLength varint | headerKey | headerValueLength varint | headerValue)*
All varints are zigzag-encoded; a length of -1 means null.

A producer's batch is untrusted: every length is checked against what is left, and a
compressed records section is inflated to at most MAX_DECOMPRESSED_BYTES (a small
decompression bomb would otherwise take the broker's memory). A section that cannot be
inflated is CorruptRecordError (CORRUPT_MESSAGE); records that do not fit their lengths or
counts are InvalidRecordError (INVALID_RECORD), as Kafka's record reader answers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from crc32c import crc32c

from . import compression
from .batch import HEADER_SIZE, LOG_APPEND_TIME, LOG_OVERHEAD, read_header
from .errors import CorruptRecordError, InvalidRecordError

MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024
_MIN_RECORD_BYTES = 6  # attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount

__all__ = [
    "Record",
    "build_batch",
    "assemble_batch",
    "iter_records",
    "iter_offsets_and_timestamps",
    "keyless_record_indexes",
]


class Record(NamedTuple):
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


# -- varints ---------------------------------------------------------------------------


def _put_varint(out: bytearray, value: int) -> None:
    v = (value << 1) ^ (value >> 63)
    while v > 0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _varint(buf, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise InvalidRecordError("a record is cut short")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise CorruptRecordError("varint longer than 10 bytes")


def _put_bytes(out: bytearray, data: bytes | None) -> None:
    if data is None:
        _put_varint(out, -1)
    else:
        _put_varint(out, len(data))
        out += data


# -- building ---------------------------------------------------------------------------


def build_batch(
    records: Sequence[tuple],
    *,
    base_offset: int = 0,
    compression_type: int = 0,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    partition_leader_epoch: int = -1,
    transactional: bool = False,
    control: bool = False,
    timestamp_type: int = 0,
) -> bytes:
    """A complete v2 batch with a valid CRC32C.

    `records` holds (timestamp, key, value) or (timestamp, key, value, headers) tuples,
    headers being (str, bytes | None) pairs; offsets are consecutive from `base_offset`.
    """
    if not records:
        raise ValueError("a batch needs at least one record")
    attributes = (
        compression_type | (timestamp_type << 3) | (0x10 if transactional else 0) | (0x20 if control else 0)
    )
    rows = [
        Record(delta, rec[0], rec[1], rec[2], tuple(rec[3]) if len(rec) > 3 else ())
        for delta, rec in enumerate(records)
    ]
    return assemble_batch(
        rows,
        base_offset=base_offset,
        last_offset_delta=len(records) - 1,
        attributes=attributes,
        base_timestamp=records[0][0],
        max_timestamp=max(r[0] for r in records),
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        partition_leader_epoch=partition_leader_epoch,
    )


def assemble_batch(
    records: Sequence[Record],
    *,
    base_offset: int,
    last_offset_delta: int,
    attributes: int,
    base_timestamp: int,
    max_timestamp: int,
    producer_id: int,
    producer_epoch: int,
    base_sequence: int,
    partition_leader_epoch: int,
    compression_level: int | None = None,
) -> bytes:
    """A v2 batch from records whose `offset` is the offset delta, with every header field given.

    The log cleaner uses it to rewrite a batch with fewer records: the offset deltas, the
    lastOffsetDelta and the sequence numbers stay those of the original batch, and the
    records are compressed with the codec in `attributes`. An empty `records` gives an
    uncompressed batch with no records (Kafka's empty header, kept for producer state).
    """
    body = bytearray()
    for rec in records:
        r = bytearray(b"\x00")  # attributes
        _put_varint(r, rec.timestamp - base_timestamp)
        _put_varint(r, rec.offset)
        _put_bytes(r, rec.key)
        _put_bytes(r, rec.value)
        _put_varint(r, len(rec.headers))
        for hk, hv in rec.headers:
            _put_bytes(r, hk.encode())
            _put_bytes(r, hv)
        _put_varint(body, len(r))
        body += r
    payload = compression.compress(attributes & 0x07, bytes(body), compression_level) if records else b""
    length = HEADER_SIZE - LOG_OVERHEAD + len(payload)
    tail = (
        struct.pack(
            ">hiqqqhii",
            attributes,
            last_offset_delta,
            base_timestamp,
            max_timestamp,
            producer_id,
            producer_epoch,
            base_sequence,
            len(records),
        )
        + payload
    )
    crc = crc32c(tail)
    return struct.pack(">qiibI", base_offset, length, partition_leader_epoch, 2, crc) + tail


# -- reading ----------------------------------------------------------------------------


def _records_section(batch) -> tuple[object, bytes | memoryview]:
    header = read_header(batch, 0)
    end = LOG_OVERHEAD + header.length
    if len(batch) < end or header.length < HEADER_SIZE - LOG_OVERHEAD:
        raise CorruptRecordError("incomplete batch")
    data = memoryview(batch)[HEADER_SIZE:end]
    if header.compression:
        try:
            data = compression.decompress(header.compression, data, MAX_DECOMPRESSED_BYTES)
        except compression.CodecUnavailable:
            raise
        except Exception as exc:  # each codec library has its own error types
            raise CorruptRecordError(f"the batch's records cannot be decompressed: {exc}") from exc
    return header, data


def _record_end(data, pos: int) -> tuple[int, int]:
    """(start of the record's fields, end of the record) for the record whose length is at `pos`."""
    length, pos = _varint(data, pos)
    if length < _MIN_RECORD_BYTES or pos + length > len(data):
        raise InvalidRecordError(f"a record's length {length} does not fit the batch")
    return pos, pos + length


def iter_offsets_and_timestamps(batch) -> Iterator[tuple[int, int]]:
    """(offset, timestamp) of each record, skipping keys, values and headers.

    For a LogAppendTime batch every record carries the batch's maxTimestamp, as Kafka
    reports it. Raises compression.CodecUnavailable for a codec whose library is missing.
    """
    header = read_header(batch, 0)
    if header.timestamp_type == LOG_APPEND_TIME:
        for i in range(header.record_count):
            yield header.base_offset + i, header.max_timestamp
        return
    header, data = _records_section(batch)
    pos = 0
    base_offset, base_ts = header.base_offset, header.base_timestamp
    end = len(data)
    for _ in range(header.record_count):
        if pos >= end:
            raise InvalidRecordError("batch holds fewer records than its count says")
        start, pos = _record_end(data, pos)
        ts_delta, p = _varint(data, start + 1)  # after the attributes
        off_delta, _ = _varint(data, p)
        yield base_offset + off_delta, base_ts + ts_delta


def iter_records(batch) -> Iterator[Record]:
    """Every record of the batch with its key, value and headers.

    Each record must fill exactly the length it announces, its offset deltas must grow within
    the batch's lastOffsetDelta (compaction leaves gaps, never a step back), and a header key
    may not be null, as Kafka checks; anything else is CorruptRecordError.
    """
    header, data = _records_section(batch)
    log_append = header.timestamp_type == LOG_APPEND_TIME
    pos = 0
    previous_delta = -1
    for _ in range(header.record_count):
        p, end = _record_end(data, pos)
        p += 1  # attributes
        ts_delta, p = _varint(data, p)
        off_delta, p = _varint(data, p)
        if not previous_delta < off_delta <= header.last_offset_delta:
            raise InvalidRecordError(f"record offset delta {off_delta} out of order or past the batch's last")
        previous_delta = off_delta
        key, p = _read_bytes(data, p, end)
        value, p = _read_bytes(data, p, end)
        count, p = _varint(data, p)
        if p > end:
            raise InvalidRecordError("a record's fields run past its announced length")
        if not 0 <= count <= end - p:
            raise InvalidRecordError(f"a record announces {count} headers")
        headers = []
        for _ in range(count):
            hk, p = _read_bytes(data, p, end)
            if hk is None:
                raise InvalidRecordError("a record header has a null key")
            hv, p = _read_bytes(data, p, end)
            headers.append((hk.decode("utf-8", "replace"), hv))
        if p != end:
            raise InvalidRecordError(f"a record's fields end at {p - end:+d} bytes from its announced length")
        ts = header.max_timestamp if log_append else header.base_timestamp + ts_delta
        yield Record(header.base_offset + off_delta, ts, key, value, tuple(headers))
        pos = end


def _read_bytes(data, pos: int, end: int) -> tuple[bytes | None, int]:
    n, pos = _varint(data, pos)
    if n < 0:
        if n != -1:
            raise InvalidRecordError(f"invalid length {n} in a record")
        return None, pos
    if pos + n > end:
        raise InvalidRecordError("a key, value or header runs past its record")
    return bytes(data[pos : pos + n]), pos + n


def keyless_record_indexes(batch) -> list[int]:
    """Indexes (within the batch) of the records that have no key; reads nothing past each key length.

    What a compacted topic's leader checks before appending (Kafka refuses such records).
    """
    header, data = _records_section(batch)
    out = []
    pos = 0
    end = len(data)
    for i in range(header.record_count):
        if pos >= end:
            raise InvalidRecordError("batch holds fewer records than its count says")
        start, pos = _record_end(data, pos)
        _, p = _varint(data, start + 1)  # timestampDelta
        _, p = _varint(data, p)  # offsetDelta
        key_length, _ = _varint(data, p)
        if key_length < -1:
            raise InvalidRecordError(f"invalid key length {key_length}")
        if key_length == -1:
            out.append(i)
    return out
