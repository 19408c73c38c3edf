"""Record batch v2 at the byte level: headers, validation, in-place patches."""

from __future__ import annotations

import struct

import pytest
from crc32c import crc32c

from partita.engine.log import compression
from partita.engine.log.batch import (
    HEADER_SIZE,
    LOG_APPEND_TIME,
    iter_batches,
    patch_offsets,
    read_header,
    set_max_timestamp,
    validate_batches,
    validate_timestamps,
)
from partita.engine.log.errors import (
    CorruptRecordError,
    InvalidRecordError,
    InvalidTimestampError,
    UnsupportedMagicError,
    error_for_code,
)
from partita.engine.log.records import build_batch, iter_offsets_and_timestamps, iter_records

from .helpers import NOW, batch

kafka_records = pytest.importorskip("kafka.record.default_records")


def kafka_python_batch(codec: int, count: int = 5, base_ts: int = NOW) -> bytes:
    """A batch built by a real Kafka client library (kafka-python), possibly compressed."""
    builder = kafka_records.DefaultRecordBatchBuilder(
        magic=2,
        compression_type=codec,
        is_transactional=False,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    for i in range(count):
        builder.append(
            i,
            timestamp=base_ts + 10 * i,
            key=f"key-{i}".encode(),
            value=b"value-%d" % i * 20,
            headers=[("h", b"x")],
        )
    return bytes(builder.build())


def test_header_fields_and_properties():
    data = build_batch(
        [(NOW, b"a", b"1"), (NOW + 5, b"b", b"2"), (NOW + 2, None, None)],
        base_offset=100,
        producer_id=7,
        producer_epoch=3,
        base_sequence=11,
        partition_leader_epoch=4,
        transactional=True,
    )
    h = read_header(data)
    assert h.base_offset == 100 and h.magic == 2 and h.partition_leader_epoch == 4
    assert h.record_count == 3 and h.last_offset_delta == 2
    assert h.last_offset == 102 and h.next_offset == 103
    assert h.total_size == len(data) == h.length + 12
    assert (h.base_timestamp, h.max_timestamp) == (NOW, NOW + 5)
    assert (h.producer_id, h.producer_epoch, h.base_sequence, h.last_sequence) == (7, 3, 11, 13)
    assert h.is_transactional and not h.is_control
    assert h.compression == 0 and h.timestamp_type == 0
    assert h.crc == crc32c(data[21:])


def test_last_sequence_wraps_like_kafka():
    data = build_batch([(NOW, None, b"x")] * 3, producer_id=1, producer_epoch=0, base_sequence=2**31 - 2)
    assert read_header(data).last_sequence == 0


def test_iter_batches_stops_at_a_partial_batch():
    a, b = batch(2), batch(3)
    blob = a + b + b[:30]
    found = list(iter_batches(blob))
    assert [pos for pos, _ in found] == [0, len(a)]
    assert [h.record_count for _, h in found] == [2, 3]


def test_validate_accepts_several_batches():
    headers = validate_batches(batch(1) + batch(4) + batch(2))
    assert [h.record_count for h in headers] == [1, 4, 2]


def test_bad_crc_is_corrupt_message():
    data = bytearray(batch(3))
    data[-1] ^= 0xFF
    with pytest.raises(CorruptRecordError) as info:
        validate_batches(bytes(data))
    assert info.value.code == 2 and "CRC" in str(info.value)


@pytest.mark.parametrize("cut", [5, 40, 70])
def test_truncated_input_is_corrupt(cut):
    data = batch(3, value_size=30)
    with pytest.raises(CorruptRecordError):
        validate_batches(data + data[:cut])


def test_too_small_batch_length_is_corrupt():
    data = bytearray(batch(1))
    struct.pack_into(">i", data, 8, 20)
    with pytest.raises(CorruptRecordError):
        validate_batches(bytes(data))


def test_old_magic_is_rejected_as_invalid_record():
    data = bytearray(batch(1))
    data[16] = 1
    with pytest.raises(UnsupportedMagicError) as info:
        validate_batches(bytes(data))
    assert info.value.code == 87
    assert isinstance(info.value, InvalidRecordError)


def _rewrite(data: bytes, offset: int, fmt: str, value) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    struct.pack_into(">I", out, 17, crc32c(bytes(out[21:])))
    return bytes(out)


def test_record_count_must_match_last_offset_delta():
    bad = _rewrite(batch(3), 57, ">i", 2)
    with pytest.raises(InvalidRecordError) as info:
        validate_batches(bad)
    assert info.value.code == 87
    # Replication takes the leader's batches as they are (compacted batches have gaps).
    assert validate_batches(bad, from_client=False)


def test_zero_records_is_invalid():
    with pytest.raises(InvalidRecordError):
        validate_batches(_rewrite(_rewrite(batch(1), 57, ">i", 0), 23, ">i", -1))


def test_clients_may_not_write_control_batches():
    data = build_batch([(NOW, b"\x00\x00\x00\x00", b"")], control=True, producer_id=1, producer_epoch=0)
    with pytest.raises(InvalidRecordError, match="control"):
        validate_batches(data)


def test_producer_id_without_sequence_is_invalid():
    with pytest.raises(InvalidRecordError, match="sequence"):
        validate_batches(batch(1, pid=5, epoch=0, seq=-1))


def test_patching_offsets_keeps_the_crc_valid():
    data = bytearray(batch(4))
    patch_offsets(data, 0, 123456789, 42)
    (h,) = validate_batches(bytes(data))
    assert h.base_offset == 123456789 and h.partition_leader_epoch == 42
    assert [r.offset for r in iter_records(bytes(data))] == [123456789 + i for i in range(4)]


def test_set_max_timestamp_for_log_append_time_rewrites_the_crc():
    data = bytearray(batch(2))
    assert set_max_timestamp(data, 0, LOG_APPEND_TIME, NOW + 999)
    (h,) = validate_batches(bytes(data))
    assert h.timestamp_type == LOG_APPEND_TIME and h.max_timestamp == NOW + 999
    assert [ts for _, ts in iter_offsets_and_timestamps(bytes(data))] == [NOW + 999] * 2
    assert not set_max_timestamp(data, 0, LOG_APPEND_TIME, NOW + 999)


def test_timestamp_bounds_from_headers():
    headers = validate_batches(batch(1, ts=NOW))
    validate_timestamps(headers, NOW, 1000, 1000)
    with pytest.raises(InvalidTimestampError) as info:
        validate_timestamps(validate_batches(batch(1, ts=NOW + 5000)), NOW, 1000, 1000)
    assert info.value.code == 32
    with pytest.raises(InvalidTimestampError):
        validate_timestamps(validate_batches(batch(1, ts=NOW - 5000)), NOW, 1000, 1000)
    validate_timestamps(validate_batches(batch(1, ts=-1)), NOW, 0, 0)  # no timestamp: exempt


def test_error_codes_are_kafkas():
    assert error_for_code(1).__name__ == "OffsetOutOfRangeError"
    assert {c: error_for_code(c).code for c in (1, 2, 10, 18, 32, 45, 46, 47, 56, 59, 87)} == {
        c: c for c in (1, 2, 10, 18, 32, 45, 46, 47, 56, 59, 87)
    }


@pytest.mark.parametrize("codec", [0, 1, 2, 3, 4], ids=["none", "gzip", "snappy", "lz4", "zstd"])
def test_batches_from_kafka_python_validate_and_decode(codec):
    if not compression.available(codec):
        pytest.skip(f"codec {codec} library not installed")
    try:
        data = kafka_python_batch(codec)
    except Exception as exc:  # kafka-python lacks the codec's library
        pytest.skip(f"kafka-python cannot build codec {codec}: {exc}")
    (h,) = validate_batches(data)
    assert h.compression == codec and h.record_count == 5
    records = list(iter_records(data))
    assert [r.timestamp for r in records] == [NOW + 10 * i for i in range(5)]
    assert records[3].key == b"key-3" and records[3].headers == (("h", b"x"),)


@pytest.mark.parametrize("codec", [1, 3, 4], ids=["gzip", "lz4", "zstd"])
def test_our_batches_read_back_by_kafka_python(codec):
    if not compression.available(codec):
        pytest.skip("codec library not installed")
    data = build_batch(
        [(NOW + i, b"k%d" % i, b"v" * 50) for i in range(10)], compression_type=codec, base_offset=5
    )
    reader = kafka_records.DefaultRecordBatch(bytearray(data))
    assert reader.validate_crc()
    assert [r.offset for r in reader] == list(range(5, 15))


def test_header_size_is_61():
    assert HEADER_SIZE == 61
