"""Offset and time indexes: lookups, truncation, Kafka's file format, damaged files."""

from __future__ import annotations

import struct

from partita.engine.log.offset_index import OffsetIndex
from partita.engine.log.time_index import TimeIndex


def test_offset_index_lookup_and_file_format(tmp_path):
    path = tmp_path / "00000000000000000100.index"
    idx = OffsetIndex.create(path, 100)
    assert idx.lookup(150) == 0  # nothing indexed: scan from the start
    for off, pos in [(110, 4100), (130, 8300), (170, 12500)]:
        idx.append(off, pos)
    assert [idx.lookup(o) for o in (100, 109, 110, 129, 130, 169, 170, 10**6)] == [
        0,
        0,
        4100,
        4100,
        8300,
        8300,
        12500,
        12500,
    ]
    assert path.read_bytes() == b""  # appends stay in memory until a flush
    idx.flush()
    assert path.read_bytes() == struct.pack(">iiiiii", 10, 4100, 30, 8300, 70, 12500)
    again = OffsetIndex.load(path, 100, log_size=20000)
    assert again.lookup(135) == 8300 and len(again) == 3


def test_offset_index_truncate(tmp_path):
    path = tmp_path / "x.index"
    idx = OffsetIndex.create(path, 0)
    for i in range(1, 6):
        idx.append(i * 10, i * 1000)
    idx.flush()
    idx.truncate_to(30)
    assert idx.last_entry() == (20, 2000)
    assert len(path.read_bytes()) == 16
    idx.append(25, 2500)
    idx.flush()
    assert OffsetIndex.load(path, 0, 10_000).last_entry() == (25, 2500)


def test_damaged_offset_index_is_refused(tmp_path):
    path = tmp_path / "x.index"
    path.write_bytes(struct.pack(">ii", 1, 100) + b"\x00\x01")  # not a whole entry
    assert OffsetIndex.load(path, 0, 1000) is None
    path.write_bytes(struct.pack(">iiii", 5, 100, 3, 200))  # keys out of order
    assert OffsetIndex.load(path, 0, 1000) is None
    path.write_bytes(struct.pack(">ii", 5, 5000))  # points past the log
    assert OffsetIndex.load(path, 0, 1000) is None
    assert OffsetIndex.load(tmp_path / "missing.index", 0, 1000) is None


def test_time_index_keeps_only_growing_timestamps(tmp_path):
    path = tmp_path / "00000000000000000050.timeindex"
    idx = TimeIndex.create(path, 50)
    idx.maybe_append(1000, 55)
    idx.maybe_append(900, 60)  # not larger: ignored
    idx.maybe_append(1000, 61)  # equal: ignored
    idx.maybe_append(2000, 70)
    idx.maybe_append(-1, 80)  # no timestamp: ignored
    assert len(idx) == 2
    assert idx.lookup(999) == (-1, 50)
    assert idx.lookup(1500) == (1000, 55)
    assert idx.lookup(5000) == (2000, 70)
    idx.flush()
    assert path.read_bytes() == struct.pack(">qiqi", 1000, 5, 2000, 20)
    loaded = TimeIndex.load(path, 50)
    assert loaded.last_entry() == (2000, 70)
    loaded.truncate_to(70)
    assert loaded.last_entry() == (1000, 55)
    assert len(path.read_bytes()) == 12
