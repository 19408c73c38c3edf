"""A producer's batch is untrusted: record lengths, counts and compressed sizes are bounded."""

from __future__ import annotations

import os
import struct

import pytest
from crc32c import crc32c

from partita.engine.log import compression, records
from partita.engine.log.errors import CorruptRecordError, InvalidRecordError
from partita.engine.log.records import build_batch, iter_records, keyless_record_indexes


def with_crc(batch: bytearray) -> bytes:
    struct.pack_into(">I", batch, 17, crc32c(bytes(batch[21:])))
    return bytes(batch)


def test_a_record_that_steps_backwards_or_overflows_is_invalid():
    batch = bytearray(build_batch([(0, b"k", b"v")]))
    struct.pack_into(">i", batch, 57, 0x7FFFFFFF)  # recordCount
    batch[61] = 0x01  # length -1
    for read in (keyless_record_indexes, lambda b: list(iter_records(b))):
        with pytest.raises(InvalidRecordError):
            read(with_crc(batch))


@pytest.mark.parametrize("patch, why", [
    (lambda b: b.__setitem__(61, b[61] + 2), "does not fit"),  # zigzag: one byte more than the batch has
    (lambda b: b.__setitem__(61, b[61] - 2), "announced length"),  # one byte less than its fields take
])
def test_iter_records_checks_each_record_against_its_length(patch, why):
    batch = bytearray(build_batch([(0, b"key", b"value")]))
    patch(batch)
    with pytest.raises(InvalidRecordError, match=why):
        list(iter_records(with_crc(batch)))


def test_offset_deltas_must_grow_within_the_batch():
    batch = bytearray(build_batch([(0, b"a", b"1"), (0, b"b", b"2")]))
    struct.pack_into(">i", batch, 23, 0)  # lastOffsetDelta 0, but the second record says 1
    with pytest.raises(InvalidRecordError, match="offset delta"):
        list(iter_records(with_crc(batch)))


@pytest.mark.parametrize("codec", [1, 2, 3, 4])
def test_decompression_stops_at_the_limit(codec):
    if not compression.available(codec):
        pytest.skip(f"codec {codec} library missing")  # all are installed by the project's test deps
    bomb = compression.compress(codec, bytes(4 << 20))
    assert len(compression.decompress(codec, bomb, 8 << 20)) == 4 << 20
    with pytest.raises(compression.DecompressedTooLarge):
        compression.decompress(codec, bomb, 1 << 20)


def test_a_decompression_bomb_is_refused_as_corrupt(monkeypatch):
    monkeypatch.setattr(records, "MAX_DECOMPRESSED_BYTES", 1 << 20)
    batch = build_batch([(0, b"k", bytes(2 << 20))], compression_type=4)
    with pytest.raises(CorruptRecordError, match="inflate past"):
        list(iter_records(batch))
    garbage = bytearray(build_batch([(0, b"k", os.urandom(100))], compression_type=1))
    garbage[61:] = b"\x1f\x8b not gzip" + bytes(len(garbage) - 61 - 11)
    with pytest.raises(CorruptRecordError, match="cannot be decompressed"):
        keyless_record_indexes(with_crc(garbage))
