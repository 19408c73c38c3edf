"""PartitionLog: append and read, segments, indexes, retention, truncation, reopening."""

from __future__ import annotations

import os

import pytest

from partita.engine.log.batch import LOG_APPEND_TIME, iter_batches, validate_batches
from partita.engine.log.errors import (
    CorruptRecordError,
    FencedLeaderEpochError,
    InvalidRecordError,
    InvalidTimestampError,
    MessageTooLargeError,
    OffsetOutOfRangeError,
    RecordListTooLargeError,
    UnexpectedAppendOffsetError,
)
from partita.engine.log.records import build_batch, iter_records

from .helpers import NOW, batch, headers_of, open_log, read_all

DAY = 24 * 3600 * 1000


@pytest.fixture
def plog(tmp_path):
    log = open_log(tmp_path / "orders-0")
    yield log
    if not log.closed:
        log.close()


# -- append and read ---------------------------------------------------------------------


def test_append_read_round_trip(plog):
    r1 = plog.append_as_leader(batch(3), leader_epoch=0, now_ms=NOW)
    r2 = plog.append_as_leader(batch(2), leader_epoch=0, now_ms=NOW)
    assert (r1.base_offset, r1.last_offset, r1.log_append_time, r1.duplicate) == (0, 2, -1, False)
    assert (r2.base_offset, r2.last_offset) == (3, 4)
    assert plog.log_end_offset == 5 and plog.log_start_offset == 0
    result = plog.read(0, 1 << 20)
    assert result.first_offset == 0
    headers = validate_batches(result.records, from_client=False)  # CRCs still valid after the patch
    assert [(h.base_offset, h.partition_leader_epoch) for h in headers] == [(0, 0), (3, 0)]
    assert [r.offset for r in read_all(plog)] == [0, 1, 2, 3, 4]


def test_offsets_and_epoch_are_patched_on_disk(plog, tmp_path):
    plog.append_as_leader(batch(2), leader_epoch=7, now_ms=NOW)
    plog.append_as_leader(batch(1), leader_epoch=7, now_ms=NOW)
    plog.flush()
    data = (tmp_path / "orders-0" / "00000000000000000000.log").read_bytes()
    headers = validate_batches(data, from_client=False)
    assert [(h.base_offset, h.partition_leader_epoch) for h in headers] == [(0, 7), (2, 7)]


def test_several_batches_in_one_append(plog):
    result = plog.append_as_leader(batch(2) + batch(3) + batch(1), leader_epoch=0, now_ms=NOW)
    assert (result.base_offset, result.last_offset) == (0, 5)
    assert [h.base_offset for h in headers_of(plog.read(0, 1 << 20).records)] == [0, 2, 5]


def test_read_from_the_middle_of_a_batch_returns_the_whole_batch(plog):
    plog.append_as_leader(batch(10), 0, NOW)
    plog.append_as_leader(batch(10), 0, NOW)
    result = plog.read(15, 1 << 20)
    assert result.first_offset == 10
    assert [h.base_offset for h in headers_of(result.records)] == [10]


def test_read_at_the_end_is_empty_and_beyond_is_out_of_range(plog):
    plog.append_as_leader(batch(3), 0, NOW)
    assert plog.read(3, 1000).records == b""
    with pytest.raises(OffsetOutOfRangeError) as info:
        plog.read(4, 1000)
    assert info.value.code == 1
    with pytest.raises(OffsetOutOfRangeError):
        plog.read(-1, 1000)


def test_empty_log_reads(plog):
    assert plog.read(0, 100) == (b"", 0)
    assert plog.offset_for_timestamp(0) is None
    assert plog.max_timestamp_offset() is None


def test_corrupt_batch_is_rejected_and_nothing_is_appended(plog):
    plog.append_as_leader(batch(1), 0, NOW)
    bad = bytearray(batch(2))
    bad[70] ^= 0x55
    with pytest.raises(CorruptRecordError):
        plog.append_as_leader(batch(3) + bytes(bad), 0, NOW)  # the good first batch is not kept either
    assert plog.log_end_offset == 1
    assert plog.size_bytes == len(batch(1))
    assert plog.append_as_leader(batch(1), 0, NOW).base_offset == 1


def test_empty_produce_is_invalid(plog):
    with pytest.raises(InvalidRecordError):
        plog.append_as_leader(b"", 0, NOW)


def test_max_message_bytes_is_per_batch(tmp_path):
    log = open_log(tmp_path / "t-0", max_message_bytes=500)
    small, big = batch(1, value_size=100), batch(1, value_size=600)
    log.append_as_leader(
        small + small + small + small + small, 0, NOW
    )  # 5 small batches > 500 bytes in total
    with pytest.raises(MessageTooLargeError) as info:
        log.append_as_leader(big, 0, NOW)
    assert info.value.code == 10
    assert log.log_end_offset == 5
    log.close()


def test_append_larger_than_a_segment_is_refused(tmp_path):
    log = open_log(tmp_path / "t-0", segment_bytes=1000)
    with pytest.raises(RecordListTooLargeError) as info:
        log.append_as_leader(batch(1, value_size=2000), 0, NOW)
    assert info.value.code == 18
    log.close()


def test_log_append_time_stamps_batches(tmp_path):
    log = open_log(tmp_path / "t-0", message_timestamp_type="LogAppendTime")
    result = log.append_as_leader(batch(3, ts=5), 0, NOW + 123)
    assert result.log_append_time == NOW + 123
    (h,) = validate_batches(log.read(0, 1 << 20).records, from_client=False)
    assert h.timestamp_type == LOG_APPEND_TIME and h.max_timestamp == NOW + 123
    assert log.offset_for_timestamp(NOW + 100) == (0, NOW + 123)
    log.close()


def test_create_time_out_of_bounds_is_invalid_timestamp(tmp_path):
    log = open_log(tmp_path / "t-0", message_timestamp_after_max_ms=60_000)
    with pytest.raises(InvalidTimestampError):
        log.append_as_leader(batch(1, ts=NOW + 3_600_000), 0, NOW)
    log.append_as_leader(batch(1, ts=NOW - 10 * DAY), 0, NOW)  # before.max.ms is unlimited by default
    assert log.log_end_offset == 1
    log.close()


def test_older_leader_epoch_is_fenced(plog):
    plog.append_as_leader(batch(1), 3, NOW)
    with pytest.raises(FencedLeaderEpochError):
        plog.append_as_leader(batch(1), 2, NOW)


def test_compressed_batches_pass_through_untouched(plog):
    kafka_records = pytest.importorskip("kafka.record.default_records")
    from partita.engine.log import compression

    for codec in (1, 3, 4):
        if not compression.available(codec):
            continue
        builder = kafka_records.DefaultRecordBatchBuilder(2, codec, False, -1, -1, -1, 1 << 20)
        for i in range(20):
            builder.append(i, timestamp=NOW + i, key=None, value=b"payload-%d" % i * 10, headers=[])
        data = bytes(builder.build())
        result = plog.append_as_leader(data, 0, NOW)
        stored = plog.read(result.base_offset, 1 << 20).records
        (h,) = headers_of(stored)
        assert h.compression == codec
        assert stored[61:] == data[61:] and stored[16:61] == data[16:61]  # only offset and epoch changed
        assert [r.offset for r in iter_records(stored)] == list(
            range(result.base_offset, result.base_offset + 20)
        )


# -- follower ------------------------------------------------------------------------------


def test_follower_appends_the_leaders_bytes(tmp_path):
    leader = open_log(tmp_path / "a" / "t-0")
    follower = open_log(tmp_path / "b" / "t-0")
    leader.append_as_leader(batch(2), 0, NOW)
    leader.append_as_leader(batch(3), 1, NOW)
    data = leader.read(0, 1 << 20).records
    result = follower.append_as_follower(data)
    assert (result.base_offset, result.last_offset) == (0, 4)
    assert follower.read(0, 1 << 20).records == data
    assert follower.epoch_entries() == [(0, 0), (1, 2)]
    with pytest.raises(UnexpectedAppendOffsetError):
        follower.append_as_follower(data)
    assert follower.append_as_follower(b"") is None
    leader.close()
    follower.close()


# -- segments and indexes -------------------------------------------------------------------


def test_roll_by_size_and_lookup_across_segments(tmp_path):
    log = open_log(tmp_path / "t-0", segment_bytes=4000, index_interval_bytes=300)
    for _ in range(200):
        log.append_as_leader(batch(2, value_size=40), 0, NOW)
    assert len(log.segments) > 5
    assert all(s.size <= 4000 for s in log.segments)
    names = sorted(p.name for p in (tmp_path / "t-0").glob("*.log"))
    assert names == [f"{s.base_offset:020d}.log" for s in log.segments]
    assert all(len(s.offset_index) > 0 for s in log.segments)
    for offset in (0, 1, 57, 123, 250, 399):
        result = log.read(offset, 200)
        first = headers_of(result.records)[0]
        assert first.base_offset <= offset <= first.last_offset
    assert [r.offset for r in read_all(log)] == list(range(400))
    log.close()


def test_roll_by_time_follows_record_timestamps(tmp_path):
    log = open_log(tmp_path / "t-0", segment_ms=60_000)
    log.append_as_leader(batch(1, ts=NOW), 0, NOW)
    log.append_as_leader(batch(1, ts=NOW + 30_000), 0, NOW)
    assert len(log.segments) == 1
    log.append_as_leader(batch(1, ts=NOW + 60_001), 0, NOW)
    assert [s.base_offset for s in log.segments] == [0, 2]
    log.close()


def test_roll_by_time_without_timestamps_uses_the_clock(tmp_path):
    log = open_log(tmp_path / "t-0", segment_ms=60_000)
    log.append_as_leader(batch(1, ts=-1), 0, NOW)
    log.append_as_leader(batch(1, ts=-1), 0, NOW + 60_001)
    assert [s.base_offset for s in log.segments] == [0, 1]
    log.close()


def test_read_honours_max_bytes_upper_bound_and_kip74(plog):
    sizes = []
    for n in range(1, 6):
        data = batch(n, value_size=100)
        sizes.append(len(data))
        plog.append_as_leader(data, 0, NOW)
    # offsets: [0], [1-2], [3-5], [6-9], [10-14]
    result = plog.read(0, sizes[0] + sizes[1] + sizes[2] - 1)
    assert [h.base_offset for h in headers_of(result.records)] == [0, 1]
    assert len(result.records) == sizes[0] + sizes[1]
    result = plog.read(3, 10)  # first batch bigger than max_bytes: returned whole (KIP-74)
    assert [h.base_offset for h in headers_of(result.records)] == [3]
    assert plog.read(3, 10, min_one=False).records == b""
    result = plog.read(0, 1 << 20, upper_bound=6)  # the high watermark
    assert [h.base_offset for h in headers_of(result.records)] == [0, 1, 3]
    assert plog.read(6, 1 << 20, upper_bound=6).records == b""
    result = plog.read(4, 1 << 20, upper_bound=5)
    assert [h.base_offset for h in headers_of(result.records)] == [3]


def test_read_past_a_large_batch(tmp_path):
    log = open_log(tmp_path / "t-0", index_interval_bytes=100)
    log.append_as_leader(batch(1, value_size=10), 0, NOW)
    log.append_as_leader(batch(1, value_size=300_000), 0, NOW)  # larger than the read-ahead
    log.append_as_leader(batch(1, value_size=10), 0, NOW)
    log.append_as_leader(batch(1, value_size=10), 0, NOW)
    result = log.read(2, 1000)
    assert [h.base_offset for h in headers_of(result.records)] == [2, 3]
    result = log.read(1, 100)
    assert [h.base_offset for h in headers_of(result.records)] == [1]
    log.close()


def test_many_small_batches_read_in_one_go(tmp_path):
    log = open_log(tmp_path / "t-0")
    for _ in range(1000):
        log.append_as_leader(batch(1), 0, NOW)
    result = log.read(500, 10_000)
    heads = headers_of(result.records)
    assert heads[0].base_offset == 500 and len(result.records) <= 10_000
    assert [h.base_offset for h in heads] == list(range(500, 500 + len(heads)))
    log.close()


# -- timestamps -------------------------------------------------------------------------------


def test_offset_for_timestamp_finds_the_first_record(tmp_path):
    log = open_log(tmp_path / "t-0", segment_bytes=2000, index_interval_bytes=200)
    for i in range(50):  # records at NOW + 0, 10, 20, ... in batches of 4
        log.append_as_leader(batch(4, ts=NOW + 40 * i, ts_step=10), 0, NOW)
    assert len(log.segments) > 3
    assert log.offset_for_timestamp(0) == (0, NOW)
    assert log.offset_for_timestamp(NOW + 15) == (2, NOW + 20)  # inside a batch: the record
    assert log.offset_for_timestamp(NOW + 1000) == (100, NOW + 1000)
    assert log.offset_for_timestamp(NOW + 1990) == (199, NOW + 1990)
    assert log.offset_for_timestamp(NOW + 1991) is None
    assert log.max_timestamp_offset() == (199, NOW + 1990)
    log.close()


def test_offset_for_timestamp_in_compressed_batch(plog):
    from partita.engine.log import compression

    if not compression.available(1):
        pytest.skip("gzip unavailable")
    data = build_batch([(NOW + 10 * i, None, b"v") for i in range(10)], compression_type=1)
    plog.append_as_leader(data, 0, NOW)
    assert plog.offset_for_timestamp(NOW + 41) == (5, NOW + 50)


def test_max_timestamp_offset_is_the_first_record_with_it(plog):
    plog.append_as_leader(
        build_batch([(NOW, None, b"a"), (NOW + 9, None, b"b"), (NOW + 3, None, b"c")]), 0, NOW
    )
    plog.append_as_leader(build_batch([(NOW + 9, None, b"d")]), 0, NOW)
    assert plog.max_timestamp_offset() == (1, NOW + 9)


# -- retention and deletion -----------------------------------------------------------------


def fill_segments(log, count: int, ts_of=lambda i: NOW):
    """Append until `count` segments exist; one batch per segment thanks to small segments."""
    i = 0
    while len(log.segments) < count or log.active.size == 0:
        log.append_as_leader(batch(5, value_size=200, ts=ts_of(i)), 0, NOW)
        i += 1


def test_retention_by_time(tmp_path):
    log = open_log(tmp_path / "t-0", segment_bytes=1200, retention_ms=DAY)
    fill_segments(log, 6, ts_of=lambda i: NOW - (10 - i) * DAY)  # batch i is (10 - i) days old
    before = log.size_bytes
    deleted = log.apply_retention(NOW)
    assert deleted > 0 and log.size_bytes == before - deleted
    assert len(log.segments) == 1  # everything is older than a day, but the active segment stays
    assert log.log_start_offset == log.segments[0].base_offset
    with pytest.raises(OffsetOutOfRangeError):
        log.read(0, 100)
    log.close()


def test_retention_by_time_keeps_recent_segments(tmp_path):
    log = open_log(tmp_path / "t-0", segment_bytes=1200, retention_ms=3 * DAY)
    fill_segments(log, 8, ts_of=lambda i: NOW - (7 - i) * DAY)
    log.apply_retention(NOW)
    assert all(NOW - s.max_timestamp <= 3 * DAY for s in log.segments[:-1])
    assert len(log.segments) == 4
    log.close()


def test_retention_by_size(tmp_path):
    log = open_log(tmp_path / "t-0", segment_bytes=1200, retention_ms=-1)
    fill_segments(log, 10)
    seg_size = log.segments[0].size
    log.config = log.config.replace(retention_bytes=3 * seg_size + 10)
    log.apply_retention(NOW)
    assert log.size_bytes <= 3 * seg_size + 10 + log.active.size
    assert len(log.segments) == 4 and log.log_start_offset == log.segments[0].base_offset
    log.close()


def test_retention_respects_the_high_watermark(tmp_path):
    log = open_log(tmp_path / "t-0", segment_bytes=1200, retention_ms=0)
    fill_segments(log, 5)
    hw = log.segments[2].base_offset
    log.apply_retention(NOW + DAY, high_watermark=hw)
    assert log.segments[0].base_offset == log.log_start_offset == hw
    log.close()


def test_compact_only_topics_are_not_deleted_by_retention(tmp_path):
    log = open_log(tmp_path / "t-0", segment_bytes=1200, retention_ms=0, cleanup_policy="compact")
    fill_segments(log, 4)
    assert log.apply_retention(NOW + DAY) == 0 and len(log.segments) == 4
    log.close()


def test_delete_records(tmp_path):
    log = open_log(tmp_path / "t-0", segment_bytes=1200)
    fill_segments(log, 5)
    third = log.segments[2].base_offset
    assert log.delete_records_before(third + 2) == third + 2
    assert log.log_start_offset == third + 2
    assert log.segments[0].base_offset == third  # whole segments below the start are gone
    with pytest.raises(OffsetOutOfRangeError):
        log.read(third + 1, 100)
    assert headers_of(log.read(third + 2, 100).records)[0].base_offset == third
    assert log.delete_records_before(1) == third + 2  # never backwards
    with pytest.raises(OffsetOutOfRangeError):
        log.delete_records_before(log.log_end_offset + 1)
    log.close()
    again = open_log(tmp_path / "t-0", segment_bytes=1200)
    assert again.log_start_offset == third + 2
    again.close()


def test_delete_all_records_up_to_the_end(plog):
    plog.append_as_leader(batch(3), 0, NOW)
    assert plog.delete_records_before(3) == 3
    assert plog.read(3, 100).records == b""
    assert plog.append_as_leader(batch(1), 0, NOW).base_offset == 3


# -- truncation ----------------------------------------------------------------------------


def test_truncate_to(tmp_path):
    log = open_log(tmp_path / "t-0", segment_bytes=1200)
    for epoch in range(4):
        for _ in range(3):
            log.append_as_leader(batch(5, value_size=200), epoch, NOW)
    assert len(log.segments) > 3
    cut = log.segments[2].base_offset + 5
    log.truncate_to(cut)
    assert log.log_end_offset == cut
    assert [r.offset for r in read_all(log)] == list(range(cut))
    assert log.latest_epoch == log.epoch_entries()[-1][0]
    assert all(start < cut for _, start in log.epoch_entries())
    result = log.append_as_leader(batch(1), 9, NOW)
    assert result.base_offset == cut
    log.close()
    again = open_log(tmp_path / "t-0", segment_bytes=1200)
    assert again.log_end_offset == cut + 1
    assert [r.offset for r in read_all(again)] == list(range(cut + 1))
    again.close()


def test_truncate_inside_a_batch_removes_the_whole_batch(plog):
    plog.append_as_leader(batch(5), 0, NOW)
    plog.append_as_leader(batch(5), 0, NOW)
    plog.truncate_to(7)
    assert plog.log_end_offset == 5


def test_truncate_fully_and_start_at(plog):
    plog.append_as_leader(batch(5), 0, NOW)
    plog.truncate_fully_and_start_at(1000)
    assert (plog.log_start_offset, plog.log_end_offset) == (1000, 1000)
    assert plog.epoch_entries() == []
    assert plog.append_as_leader(batch(1), 2, NOW).base_offset == 1000
    assert [s.base_offset for s in plog.segments] == [1000]


# -- reopening and recovery ------------------------------------------------------------------


def test_reopen_preserves_everything(tmp_path):
    path = tmp_path / "t-0"
    log = open_log(path, segment_bytes=3000, index_interval_bytes=256)
    for i in range(60):
        log.append_as_leader(batch(3, ts=NOW + i, value_size=50), i // 20, NOW)
    log.delete_records_before(10)
    state = (log.log_start_offset, log.log_end_offset, log.size_bytes, log.epoch_entries(), len(log.segments))
    records = read_all(log)
    log.close()
    again = open_log(path, segment_bytes=3000, index_interval_bytes=256)
    assert (
        again.log_start_offset,
        again.log_end_offset,
        again.size_bytes,
        again.epoch_entries(),
        len(again.segments),
    ) == state
    assert read_all(again) == records
    assert again.offset_for_timestamp(NOW + 30) == (90, NOW + 30)
    assert again.append_as_leader(batch(1), 2, NOW).base_offset == 180
    again.close()


def test_clean_open_does_not_scan_the_log(tmp_path, monkeypatch):
    from partita.engine.log.segment import Segment

    path = tmp_path / "t-0"
    log = open_log(path, segment_bytes=2000)
    for _ in range(30):
        log.append_as_leader(batch(5, value_size=50), 0, NOW)
    log.close()
    calls = []
    monkeypatch.setattr(Segment, "recover", lambda self, on_batch=None: calls.append(self) or 0)
    again = open_log(path, segment_bytes=2000)
    assert calls == []
    assert again.log_end_offset == 150
    again.close()


def crash(log):
    """Leave the log as a killed process would: no flush of indexes, no clean-shutdown marker."""
    log.release()


def test_torn_tail_is_truncated_after_a_crash(tmp_path):
    path = tmp_path / "t-0"
    log = open_log(path)
    for _ in range(10):
        log.append_as_leader(batch(4, value_size=30), 0, NOW)
    good_size = log.size_bytes
    log.append_as_leader(batch(4, value_size=30), 0, NOW)
    crash(log)
    seg = path / "00000000000000000000.log"
    os.truncate(seg, good_size + 50)  # the last batch only half written
    again = open_log(path)
    assert again.log_end_offset == 40 and again.size_bytes == good_size
    assert os.path.getsize(seg) == good_size
    assert again.append_as_leader(batch(1), 0, NOW).base_offset == 40
    assert [r.offset for r in read_all(again)] == list(range(41))
    again.close()


def test_garbage_after_a_clean_shutdown_is_truncated(tmp_path):
    path = tmp_path / "t-0"
    log = open_log(path)
    for _ in range(5):
        log.append_as_leader(batch(2), 0, NOW)
    size = log.size_bytes
    log.close()
    with open(path / "00000000000000000000.log", "ab") as f:
        f.write(b"\x00garbage that is not a batch" * 10)
    again = open_log(path)
    assert again.size_bytes == size and again.log_end_offset == 10
    again.close()


def test_corrupt_batch_in_the_middle_cuts_the_log_there(tmp_path):
    path = tmp_path / "t-0"
    log = open_log(path)
    positions = []
    for _ in range(6):
        positions.append(log.size_bytes)
        log.append_as_leader(batch(3, value_size=20), 0, NOW)
    crash(log)
    seg = path / "00000000000000000000.log"
    data = bytearray(seg.read_bytes())
    data[positions[3] + 70] ^= 0xFF  # a bit flip inside the 4th batch
    seg.write_bytes(bytes(data))
    again = open_log(path)
    assert again.log_end_offset == 9 and again.size_bytes == positions[3]
    again.close()


def test_crash_recovery_keeps_older_segments_and_their_indexes(tmp_path):
    path = tmp_path / "t-0"
    log = open_log(path, segment_bytes=1500, index_interval_bytes=100)
    for _ in range(20):
        log.append_as_leader(batch(4, value_size=40), 0, NOW)
    bases = [s.base_offset for s in log.segments]
    crash(log)
    (path / f"{bases[1]:020d}.index").unlink()  # a lost index is rebuilt on first use
    again = open_log(path, segment_bytes=1500, index_interval_bytes=100)
    assert [s.base_offset for s in again.segments] == bases
    assert again.log_end_offset == 80
    assert [r.offset for r in read_all(again)] == list(range(80))
    assert (path / f"{bases[1]:020d}.index").stat().st_size > 0
    again.close()


def test_delete_removes_the_directory(tmp_path):
    log = open_log(tmp_path / "t-0")
    log.append_as_leader(batch(1), 0, NOW)
    log.delete()
    assert not (tmp_path / "t-0").exists()


def test_closed_log_refuses_work(plog):
    plog.close()
    from partita.engine.log.errors import KafkaStorageError

    with pytest.raises(KafkaStorageError):
        plog.append_as_leader(batch(1), 0, NOW)


def test_iter_batches_of_a_whole_segment_file(plog, tmp_path):
    for n in (1, 2, 3):
        plog.append_as_leader(batch(n), 0, NOW)
    plog.flush()
    data = (tmp_path / "orders-0" / "00000000000000000000.log").read_bytes()
    assert [h.base_offset for _, h in iter_batches(data)] == [0, 1, 3]


def test_reads_match_a_brute_force_model(tmp_path):
    """Random batch sizes, small index interval and segments: every read returns exactly
    the batches a straightforward walk over all batches would."""
    import random

    rng = random.Random(7)
    log = open_log(tmp_path / "t-0", segment_bytes=6000, index_interval_bytes=150)
    for _ in range(300):
        log.append_as_leader(batch(rng.randint(1, 4), value_size=rng.choice([5, 40, 300, 900])), 0, NOW)
    model = []  # (segment base, base offset, last offset, size)
    for seg in log.segments:
        for _, h in seg.scan(0):
            model.append((seg.base_offset, h.base_offset, h.last_offset, h.total_size))
    end = log.log_end_offset
    for _ in range(600):
        offset = rng.randrange(end)
        max_bytes = rng.choice([1, 100, 500, 1500, 4000, 10_000])
        upper = rng.choice([None, end, rng.randrange(offset, end + 1)])
        min_one = rng.random() < 0.8
        limit = end if upper is None else min(upper, end)
        expected = []
        if offset < limit:
            i = next(i for i, m in enumerate(model) if m[2] >= offset)
            seg_base, total = model[i][0], 0
            for m in model[i:]:
                if m[0] != seg_base or m[1] >= limit:
                    break
                if total + m[3] > max_bytes:
                    if not expected and min_one:
                        expected.append(m[1])
                    break
                expected.append(m[1])
                total += m[3]
        result = log.read(offset, max_bytes, upper_bound=upper, min_one=min_one)
        got = [h.base_offset for h in headers_of(result.records)]
        assert got == expected, (offset, max_bytes, upper, min_one)
        assert len(result.records) == sum(h.total_size for h in headers_of(result.records))
        if got:
            assert result.first_offset == got[0]
    log.close()


def test_a_client_log_append_time_bit_is_cleared_on_create_time_topics(plog):
    data = build_batch([(NOW, None, b"x")], timestamp_type=LOG_APPEND_TIME)
    plog.append_as_leader(data, 0, NOW)
    (h,) = validate_batches(plog.read(0, 1000).records, from_client=False)
    assert h.timestamp_type == 0 and h.max_timestamp == NOW


def test_hundreds_of_batches_in_one_append(plog):
    data = b"".join(batch(1) for _ in range(1500))  # more buffers than one pwritev takes
    result = plog.append_as_leader(data, 0, NOW)
    assert (result.base_offset, result.last_offset) == (0, 1499)
    assert [r.offset for r in read_all(plog)] == list(range(1500))


def test_epoch_for_offset(plog):
    plog.append_as_leader(batch(3), 1, NOW)
    plog.append_as_leader(batch(3), 4, NOW)
    assert [plog.epoch_for_offset(o) for o in (0, 2, 3, 5)] == [1, 1, 4, 4]


def test_snapshots_do_not_pile_up_over_restarts(tmp_path):
    path = tmp_path / "t-0"
    for i in range(5):
        log = open_log(path)
        log.append_as_leader(batch(1, pid=3, epoch=0, seq=i), 0, NOW)
        log.close()
    assert [p.name for p in sorted(path.glob("*.snapshot"))] == [f"{5:020d}.snapshot"]


def test_crash_recovery_reads_only_segments_after_the_recovery_point(tmp_path, monkeypatch):
    from partita.engine.log.segment import Segment

    path = tmp_path / "t-0"
    log = open_log(path, segment_bytes=1500)
    for _ in range(20):
        log.append_as_leader(batch(4, value_size=40), 0, NOW)
    active_base = log.active.base_offset
    assert len(log.segments) > 3
    crash(log)
    recovered = []
    real = Segment.recover

    def spy(self, on_batch=None):
        recovered.append(self.base_offset)
        return real(self, on_batch)

    monkeypatch.setattr(Segment, "recover", spy)
    again = open_log(path, segment_bytes=1500)
    assert recovered == [active_base]  # rolling fsynced the others and moved the recovery point
    assert again.log_end_offset == 80
    again.close()


def test_a_failed_write_changes_nothing(plog, monkeypatch):
    import errno

    import partita.engine.log.segment as segment_module
    from partita.engine.log.errors import KafkaStorageError

    plog.append_as_leader(batch(2, pid=1, epoch=0, seq=0), 0, NOW)
    size = plog.size_bytes

    def disk_full(fd, buffers, position):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(segment_module.os, "pwritev", disk_full)
    with pytest.raises(KafkaStorageError) as info:
        plog.append_as_leader(batch(2, pid=1, epoch=0, seq=2), 0, NOW)
    assert info.value.code == 56
    monkeypatch.undo()
    assert (plog.log_end_offset, plog.size_bytes) == (2, size)
    assert plog.producer_state.last_entry(1).last_seq == 1
    assert plog.append_as_leader(batch(2, pid=1, epoch=0, seq=2), 0, NOW).base_offset == 2
