"""A topic's compression.type other than `producer`: batches are stored in that codec, their
records and header fields (producer state, timestamps, offsets) unchanged."""

from __future__ import annotations

import struct

import pytest

from partita.engine.log.batch import iter_batches
from partita.engine.log.errors import CorruptRecordError
from partita.engine.log.records import build_batch, iter_records

from .helpers import NOW, open_log

GZIP, LZ4 = 1, 3


def stored(plog):
    """(codec, records) of every batch in the log."""
    data = plog.read(0, 1 << 20).records
    return [(h.compression, [(r.offset, r.timestamp, r.key, r.value, r.headers)
                             for r in iter_records(data[pos : pos + h.total_size])])
            for pos, h in iter_batches(data)]


def records(n):
    return [(NOW + i, f"k{i}".encode(), f"value {i}".encode() * 20, (("h", b"x"),)) for i in range(n)]


def test_a_gzip_topic_stores_an_uncompressed_batch_as_gzip_with_its_producer_state(tmp_path):
    plog = open_log(tmp_path / "t-0", compression_type="gzip")
    batch = build_batch(records(5), producer_id=7, producer_epoch=0, base_sequence=0)
    first = plog.append_as_leader(batch, 0, NOW)
    [(codec, rows)] = stored(plog)
    assert codec == GZIP
    assert rows == [(i, NOW + i, f"k{i}".encode(), f"value {i}".encode() * 20, (("h", b"x"),)) for i in range(5)]
    again = plog.append_as_leader(batch, 0, NOW)  # the producer's retry: recognised after recompression too
    assert again.duplicate and again.base_offset == first.base_offset == 0
    assert plog.append_as_leader(build_batch(records(2), producer_id=7, producer_epoch=0, base_sequence=5),
                                 0, NOW).base_offset == 5


def test_an_uncompressed_topic_stores_compressed_batches_uncompressed_and_producer_keeps_them(tmp_path):
    plain = open_log(tmp_path / "plain-0", compression_type="uncompressed")
    plain.append_as_leader(build_batch(records(3), compression_type=LZ4), 0, NOW)
    assert [codec for codec, _ in stored(plain)] == [0]
    kept = open_log(tmp_path / "kept-0")  # compression.type=producer, the default
    batch = build_batch(records(3), compression_type=LZ4)
    kept.append_as_leader(batch, 0, NOW)
    assert [codec for codec, _ in stored(kept)] == [LZ4]
    assert kept.read(0, 1 << 20).records[16:] == batch[16:]  # offset and leader epoch patched, nothing else


@pytest.mark.parametrize("codec, name", [(GZIP, "gzip"), (LZ4, "lz4"), (4, "zstd")])
def test_a_topics_compression_level_is_used_and_the_records_read_back(tmp_path, codec, name):
    rows_at = {}
    for level in {"gzip": (1, 9), "lz4": (1, 9, 17), "zstd": (-5, 3, 19)}[name]:
        plog = open_log(tmp_path / f"{name}{level}-0", compression_type=name, **{f"compression_{name}_level": level})
        plog.append_as_leader(build_batch(records(50)), 0, NOW)
        [(stored_codec, rows)] = stored(plog)
        assert stored_codec == codec
        rows_at[level] = rows
    assert len({tuple(map(str, rows)) for rows in rows_at.values()}) == 1  # same records at every level


def test_a_batch_that_cannot_be_decompressed_is_refused_and_nothing_is_appended(tmp_path):
    plog = open_log(tmp_path / "t-0", compression_type="zstd")
    batch = bytearray(build_batch(records(3), compression_type=GZIP))
    batch[61:] = b"\x1f\x8b not gzip at all" + bytes(len(batch) - 61 - 18)
    from crc32c import crc32c

    struct.pack_into(">I", batch, 17, crc32c(bytes(batch[21:])))  # a valid CRC over a bad payload
    with pytest.raises(CorruptRecordError, match="cannot be decompressed"):
        plog.append_as_leader(bytes(batch), 0, NOW)
    assert plog.log_end_offset == 0
