"""Log compaction on PartitionLog: plan, clean (as the worker thread runs it) and swap."""

from __future__ import annotations

import os

import pytest

from partita.engine.log import cleaner, compression
from partita.engine.log.batch import iter_batches
from partita.engine.log.batch_filter import DELETE_HORIZON_FLAG
from partita.engine.log.errors import InvalidRecordError, RecordValidationError
from partita.engine.log.records import build_batch

from .helpers import NOW, open_log, read_all

HOUR = 3_600_000


def put(plog, *pairs, ts=NOW, compression_type=0, pid=-1, epoch=-1, seq=-1):
    """Append one batch of (key, value) records; returns its base offset."""
    records = [(ts, k.encode() if k is not None else None, v.encode() if v is not None else None) for k, v in pairs]
    batch = build_batch(records, compression_type=compression_type, producer_id=pid, producer_epoch=epoch,
                        base_sequence=seq)
    return plog.append_as_leader(batch, leader_epoch=0, now_ms=NOW).base_offset


def compact(plog, now=NOW, high_watermark=None):
    job = cleaner.plan(plog, plog.log_end_offset if high_watermark is None else high_watermark, now, force=True)
    assert job is not None, "nothing to clean"
    result = cleaner.clean(job)
    assert plog.swap_cleaned(result)
    return result


def survivors(plog):
    return [(r.offset, r.key.decode(), None if r.value is None else r.value.decode()) for r in read_all(plog)]


def all_headers(plog):
    out = []
    for seg in plog.segments:
        data = seg.read(0, seg.size)
        out += [h for _, h in iter_batches(data)]
    return out


@pytest.fixture
def plog(tmp_path):
    log = open_log(tmp_path / "compacted-0", cleanup_policy="compact")
    yield log
    if not log.closed:
        log.close()


def test_the_latest_value_per_key_survives_at_its_offset(plog):
    put(plog, ("a", "a1"), ("b", "b1"))  # 0, 1
    put(plog, ("a", "a2"))  # 2
    plog.roll(NOW)
    put(plog, ("c", "c1"), ("b", "b2"))  # 3, 4
    put(plog, ("a", "a3"))  # 5
    plog.roll(NOW)
    put(plog, ("a", "active"))  # 6: the active segment is never cleaned
    compact(plog)
    assert survivors(plog) == [(3, "c", "c1"), (4, "b", "b2"), (5, "a", "a3"), (6, "a", "active")]
    assert plog.log_start_offset == 0 and plog.log_end_offset == 7
    assert plog.cleaner_checkpoint == 6
    # Rewritten batches keep their base and last offsets; a fully obsolete batch is gone.
    spans = [(h.base_offset, h.last_offset, h.record_count) for h in all_headers(plog)]
    assert spans == [(3, 4, 2), (5, 5, 1), (6, 6, 1)]
    # Reads from any offset still work, including offsets that were removed.
    assert plog.read(0, 1 << 20).first_offset == 3
    assert plog.read(1, 1 << 20).first_offset == 3


def test_the_active_segment_and_data_above_the_high_watermark_are_untouched(plog):
    put(plog, ("a", "1"))
    put(plog, ("a", "2"))
    before = survivors(plog)
    assert cleaner.plan(plog, plog.log_end_offset, NOW, force=True) is None  # only an active segment
    plog.roll(NOW)
    put(plog, ("a", "3"))
    assert cleaner.plan(plog, high_watermark=1, now_ms=NOW, force=True) is None  # HW inside the segment
    compact(plog)
    assert survivors(plog) == [*before[1:], (2, "a", "3")]


def test_tombstones_are_kept_then_removed_after_delete_retention(tmp_path):
    plog = open_log(tmp_path / "t-0", cleanup_policy="compact", delete_retention_ms=HOUR)
    put(plog, ("a", "1"), ("b", "1"))
    put(plog, ("a", None))  # tombstone for a
    plog.roll(NOW)
    put(plog, ("b", "2"))
    plog.roll(NOW)
    compact(plog, now=NOW)
    assert survivors(plog) == [(2, "a", None), (3, "b", "2")]
    tomb = next(h for h in all_headers(plog) if h.base_offset == 2)
    assert tomb.attributes & DELETE_HORIZON_FLAG and tomb.base_timestamp == NOW + HOUR
    assert [r.timestamp for r in read_all(plog) if r.offset == 2] == [NOW]  # record timestamps unchanged

    put(plog, ("c", "1"))  # new dirty data, so that the log is cleaned again
    plog.roll(NOW)
    compact(plog, now=NOW + HOUR - 1)  # not yet past the horizon
    assert (2, "a", None) in survivors(plog)
    put(plog, ("d", "1"))
    plog.roll(NOW)
    compact(plog, now=NOW + HOUR)
    assert [s for s in survivors(plog) if s[1] == "a"] == []
    plog.close()


@pytest.mark.parametrize("codec", [compression.GZIP, compression.SNAPPY, compression.LZ4, compression.ZSTD])
def test_compressed_batches_are_filtered_and_recompressed_with_their_codec(plog, codec):
    if not compression.available(codec):
        pytest.fail(f"codec {codec} is not installed in the venv")
    put(plog, ("a", "1"), ("b", "1"), ("a", "2"), ("c", "1"), compression_type=codec)
    put(plog, ("b", "2"))
    plog.roll(NOW)
    compact(plog)
    headers = all_headers(plog)
    assert headers[0].compression == codec and headers[0].record_count == 2
    assert (headers[0].base_offset, headers[0].last_offset) == (0, 3)
    assert survivors(plog) == [(2, "a", "2"), (3, "c", "1"), (4, "b", "2")]


def test_the_last_batch_of_an_idempotent_producer_stays_as_an_empty_batch(tmp_path):
    path = tmp_path / "p-0"
    plog = open_log(path, cleanup_policy="compact")
    put(plog, ("a", "1"), pid=7, epoch=0, seq=0)  # 0
    put(plog, ("a", "2"), ("a", "3"))  # 1, 2: a non-idempotent producer supersedes it
    plog.roll(NOW)
    put(plog, ("z", "1"))
    compact(plog)
    headers = all_headers(plog)
    empty = headers[0]
    assert (empty.base_offset, empty.record_count, empty.producer_id, empty.base_sequence) == (0, 0, 7, 0)
    assert survivors(plog) == [(2, "a", "3"), (3, "z", "1")]
    # The producer state rebuilds from the cleaned log alone, and the producer goes on in sequence.
    plog.release()
    for snapshot in path.glob("*.snapshot"):
        snapshot.unlink()
    plog = open_log(path, cleanup_policy="compact")
    assert plog.producer_state.last_entry(7).last_seq == 0
    assert put(plog, ("a", "4"), pid=7, epoch=0, seq=1) == 4
    plog.close()


def test_min_compaction_lag_keeps_recent_segments_dirty(tmp_path):
    plog = open_log(tmp_path / "lag-0", cleanup_policy="compact", min_compaction_lag_ms=HOUR)
    put(plog, ("a", "old"), ts=NOW - 2 * HOUR)
    plog.roll(NOW)
    put(plog, ("a", "recent"), ts=NOW - 1000)
    plog.roll(NOW)
    put(plog, ("a", "active"))
    result = compact(plog)
    # Only the old segment was cleanable: nothing in it is superseded within the dirty range.
    assert result.end_offset == 1
    assert survivors(plog) == [(0, "a", "old"), (1, "a", "recent"), (2, "a", "active")]
    compact_later = cleaner.plan(plog, plog.log_end_offset, NOW + HOUR, force=True)
    plog.swap_cleaned(cleaner.clean(compact_later))
    assert survivors(plog) == [(1, "a", "recent"), (2, "a", "active")]
    plog.close()


def test_dirty_ratio_and_max_compaction_lag_decide_when_to_clean(tmp_path):
    plog = open_log(tmp_path / "r-0", cleanup_policy="compact", min_cleanable_dirty_ratio=0.5)
    put(plog, ("a", "1"))
    plog.roll(NOW)
    put(plog, ("a", "2"))
    assert cleaner.plan(plog, plog.log_end_offset, NOW) is not None  # all dirty: ratio 1
    compact(plog)
    plog.roll(NOW)
    put(plog, ("b", "1"))
    # Clean part (a=1) vs dirty part (a=2), batches of the same size: ratio 0.5, not above.
    assert cleaner.plan(plog, plog.log_end_offset, NOW) is None
    plog.config = plog.config.replace(max_compaction_lag_ms=HOUR)
    assert cleaner.plan(plog, plog.log_end_offset, NOW + 2 * HOUR) is not None
    plog.close()


def test_small_cleaned_segments_are_grouped_up_to_segment_bytes(tmp_path):
    plog = open_log(tmp_path / "g-0", cleanup_policy="compact", segment_bytes=4096)
    for i in range(40):
        put(plog, (f"k{i % 4}", f"v{i}"))
        plog.roll(NOW)
    assert len(plog.segments) == 41
    compact(plog)
    assert len(plog.segments) <= 3
    assert survivors(plog) == [(36 + i, f"k{i}", f"v{36 + i}") for i in range(4)]
    assert all(seg.size <= 4096 for seg in plog.segments)


def test_a_truncation_during_the_clean_abandons_it(plog):
    put(plog, ("a", "1"))
    put(plog, ("a", "2"))
    plog.roll(NOW)
    put(plog, ("a", "3"))
    plog.roll(NOW)
    put(plog, ("b", "1"))
    job = cleaner.plan(plog, plog.log_end_offset, NOW, force=True)
    result = cleaner.clean(job)  # the worker thread's part
    plog.truncate_to(2)  # a leader change meanwhile
    assert not plog.swap_cleaned(result)
    assert survivors(plog) == [(0, "a", "1"), (1, "a", "2")]
    assert not result.scratch.exists()


def test_retention_during_the_clean_abandons_it(tmp_path):
    plog = open_log(tmp_path / "cd-0", cleanup_policy="compact,delete", retention_ms=HOUR)
    put(plog, ("a", "1"), ts=NOW - 2 * HOUR)
    plog.roll(NOW)
    put(plog, ("a", "2"))
    plog.roll(NOW)
    put(plog, ("b", "1"))
    result = cleaner.clean(cleaner.plan(plog, plog.log_end_offset, NOW, force=True))
    assert plog.apply_retention(NOW) > 0
    assert not plog.swap_cleaned(result)
    assert survivors(plog) == [(1, "a", "2"), (2, "b", "1")]
    plog.close()


def test_a_crash_while_cleaning_leaves_the_log_as_it_was(tmp_path):
    path = tmp_path / "crash-0"
    plog = open_log(path, cleanup_policy="compact")
    put(plog, ("a", "1"))
    plog.roll(NOW)
    put(plog, ("a", "2"))
    plog.roll(NOW)
    put(plog, ("b", "1"))
    before = survivors(plog)
    cleaner.clean(cleaner.plan(plog, plog.log_end_offset, NOW, force=True))  # cleaned/ written, no swap
    plog.release()  # the broker dies
    plog = open_log(path, cleanup_policy="compact")
    assert not (path / "cleaned").exists()
    assert survivors(plog) == before
    plog.close()


def test_a_crash_in_the_middle_of_the_swap_is_completed_on_open(tmp_path):
    path = tmp_path / "swap-0"
    plog = open_log(path, cleanup_policy="compact")
    put(plog, ("a", "1"))
    plog.roll(NOW)
    put(plog, ("a", "2"), ("c", "1"))
    plog.roll(NOW)
    put(plog, ("b", "1"))
    result = cleaner.clean(cleaner.plan(plog, plog.log_end_offset, NOW, force=True))
    [group] = result.groups
    assert [s.base_offset for s in group] == [0, 1]
    # Step 1 of the swap happened (the cleaned log is now 0.log.swap), then the broker died
    # before the replaced segments were deleted.
    os.replace(result.scratch / f"{0:020d}.log", path / f"{0:020d}.log.swap")
    plog.release()
    plog = open_log(path, cleanup_policy="compact")
    assert not list(path.glob("*.swap")) and not (path / "cleaned").exists()
    assert [s.base_offset for s in plog.segments] == [0, 3]
    assert survivors(plog) == [(1, "a", "2"), (2, "c", "1"), (3, "b", "1")]
    assert plog.read(2, 1 << 20).first_offset == 1  # indexes rebuilt from the swapped-in log
    plog.close()


def test_a_compacted_topic_refuses_records_without_a_key(plog, tmp_path):
    with pytest.raises(RecordValidationError) as refused:
        put(plog, ("a", "1"), (None, "no key"), (None, "none either"))
    assert isinstance(refused.value, InvalidRecordError) and refused.value.code == 87
    message = "Compacted topic cannot accept message without key in topic partition compacted-0."
    assert refused.value.record_errors == [(1, message), (2, message)]
    assert plog.log_end_offset == 0
    plain = open_log(tmp_path / "plain-0")
    assert put(plain, (None, "fine")) == 0
    plain.close()


def test_the_cleaner_reads_at_the_pace_it_is_given_and_a_stop_ends_the_wait(plog):
    """log.cleaner.io.max.bytes.per.second: every chunk read waits its turn on the shared pace;
    a stop during the wait abandons the clean at once."""
    import threading
    import time

    from partita.engine.log.pacing import SharedByteRate

    put(plog, *[(f"k{i % 10}", "v" * 100) for i in range(200)])
    plog.roll(NOW)
    put(plog, ("z", "active"))
    read = []

    class Recording(SharedByteRate):
        def delay_after(self, nbytes):
            read.append(nbytes)
            return super().delay_after(nbytes)

    job = cleaner.plan(plog, plog.log_end_offset, NOW, force=True)
    job.pace = Recording(lambda: 0)  # unlimited: no wait, every chunk counted
    result = cleaner.clean(job)
    assert result.bytes_read > 0 and sum(read) >= result.bytes_read  # every byte read went through the pace
    assert plog.swap_cleaned(result)

    put(plog, *[(f"k{i % 10}", "w" * 100) for i in range(200)])
    plog.roll(NOW)
    put(plog, ("z", "active2"))
    job = cleaner.plan(plog, plog.log_end_offset, NOW, force=True)
    job.pace = SharedByteRate(lambda: 1)  # one byte per second: the first chunk would wait for hours
    threading.Timer(0.2, job.stop.set).start()
    started = time.monotonic()
    with pytest.raises(cleaner.CleanAborted):
        cleaner.clean(job)
    assert time.monotonic() - started < 10
