"""Moving a log between log dirs while it stays in use: what changes between the bulk copy and
the catch-up ends up in the moved log, a cancel leaves nothing behind, and a crash between the
final renames is finished at the next start."""

from __future__ import annotations

import threading
import time

import pytest

from partita.engine.log.config import LogConfig
from partita.engine.log.log_manager import LogManager
from partita.engine.log.log_move import MOVED_FROM_FILE, MoveCancelled
from partita.engine.log.pacing import SharedByteRate

from .helpers import NOW, batch, read_all

SMALL_SEGMENTS = LogConfig(segment_bytes=2000, index_interval_bytes=100)


@pytest.fixture
def dirs(tmp_path):
    return [tmp_path / "d1", tmp_path / "d2"]


def fill(plog, batches: int, records: int = 5) -> None:
    for _ in range(batches):
        plog.append_as_leader(batch(records, value_size=50), 1, NOW)


def leftovers(d) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name != ".lock")


def test_appends_rolls_and_deletions_during_the_copy_are_in_the_moved_log(dirs):
    mgr = LogManager(dirs, SMALL_SEGMENTS)
    plog = mgr.create("t", 0, log_dir=dirs[0])
    fill(plog, 30)
    assert len(plog.segments) > 3
    move = mgr.begin_move("t", 0, dirs[1])
    move.copy_bulk()
    # While the bulk copy was running the log went on: appends into the active segment, new
    # segments, and the oldest segments deleted (DeleteRecords).
    fill(plog, 12)
    plog.delete_records_before(plog.segments[2].base_offset)
    expected = read_all(plog)
    start, end = plog.log_start_offset, plog.log_end_offset

    moved, retired = mgr.complete_move(move)
    assert moved.directory == dirs[1] / "t-0" and mgr.dir_of("t", 0) == dirs[1]
    assert (moved.log_start_offset, moved.log_end_offset) == (start, end)
    assert read_all(moved) == expected
    assert retired.name.endswith("-delete") and not (dirs[0] / "t-0").exists()
    assert not (moved.directory / MOVED_FROM_FILE).exists()
    assert moved.append_as_leader(batch(1), 1, NOW).base_offset == end
    mgr.close()


def test_only_the_bytes_appended_to_the_active_segment_are_copied_again(dirs):
    mgr = LogManager(dirs, LogConfig(index_interval_bytes=100))
    plog = mgr.create("t", 0, log_dir=dirs[0])
    fill(plog, 20)
    move = mgr.begin_move("t", 0, dirs[1])
    move.copy_bulk()
    bulk = move.copied_bytes
    fill(plog, 10)  # the same (active) segment grows
    assert len(plog.segments) == 1
    expected = read_all(plog)
    appended = plog.size_bytes - bulk
    moved, _ = mgr.complete_move(move)
    assert read_all(moved) == expected
    # the catch-up copied the new bytes of the segment, and its small files again, not the segment
    assert appended <= move.copied_bytes - bulk < appended + bulk // 2
    mgr.close()


def test_a_truncation_during_the_copy_is_not_taken_for_an_append(dirs):
    mgr = LogManager(dirs, SMALL_SEGMENTS)
    plog = mgr.create("t", 0, log_dir=dirs[0])
    fill(plog, 6)  # one segment, still active
    move = mgr.begin_move("t", 0, dirs[1])
    move.copy_bulk()
    # A follower's truncation after a leader change, then more (different) data than was cut:
    # the file is as long as before or longer, but its copied prefix is no longer right.
    plog.truncate_to(10)
    for _ in range(6):
        plog.append_as_leader(batch(5, value_size=70), 2, NOW)
    expected = read_all(plog)
    moved, _ = mgr.complete_move(move)
    assert read_all(moved) == expected
    assert moved.epoch_entries() == plog.epoch_entries() == [(1, 0), (2, 10)]
    mgr.close()


def test_a_cancelled_move_leaves_the_log_where_it_was_and_no_copy(dirs):
    mgr = LogManager(dirs, SMALL_SEGMENTS)
    plog = mgr.create("t", 0, log_dir=dirs[0])
    fill(plog, 10)
    move = mgr.begin_move("t", 0, dirs[1])
    move.cancel()
    with pytest.raises(MoveCancelled):
        move.copy_bulk()
    assert leftovers(dirs[1]) == []
    assert mgr.get("t", 0) is plog and plog.append_as_leader(batch(1), 1, NOW).base_offset == 50
    mgr.close()


def test_a_move_whose_partition_is_deleted_meanwhile_stops(dirs):
    mgr = LogManager(dirs, SMALL_SEGMENTS)
    fill(mgr.create("t", 0, log_dir=dirs[0]), 10)
    move = mgr.begin_move("t", 0, dirs[1])
    mgr.delete("t", 0)
    with pytest.raises(MoveCancelled, match="gone"):
        move.copy_bulk()
    assert leftovers(dirs[1]) == []
    mgr.close()


def test_moving_to_the_dir_it_is_in_is_nothing_to_do(dirs):
    mgr = LogManager(dirs)
    mgr.create("t", 0, log_dir=dirs[0])
    assert mgr.begin_move("t", 0, dirs[0]) is None
    with pytest.raises(ValueError, match="not one of"):
        mgr.begin_move("t", 0, dirs[0].parent / "elsewhere")
    mgr.close()


def test_a_crash_between_the_two_renames_is_finished_at_the_next_start(dirs):
    mgr = LogManager(dirs, SMALL_SEGMENTS)
    plog = mgr.create("t", 0, log_dir=dirs[0])
    fill(plog, 20)
    expected = read_all(plog)
    move = mgr.begin_move("t", 0, dirs[1])
    move.copy_bulk()
    plog.close()
    move.finish()  # the copy has the partition's name; the crash comes before the old dir is retired
    assert (dirs[0] / "t-0").exists() and (dirs[1] / "t-0" / MOVED_FROM_FILE).exists()
    plog.release()
    mgr.close()

    again = LogManager(dirs, SMALL_SEGMENTS)
    assert again.dir_of("t", 0) == dirs[1]
    assert not (dirs[0] / "t-0").exists() and not (dirs[1] / "t-0" / MOVED_FROM_FILE).exists()
    assert read_all(again.get("t", 0)) == expected
    again.close()


def test_shared_byte_rate_paces_all_copiers_on_one_timeline():
    now = [100.0]
    limit = [1000]
    pace = SharedByteRate(lambda: limit[0], clock=lambda: now[0])
    assert pace.delay_after(500) == pytest.approx(0.5)
    assert pace.delay_after(500) == pytest.approx(1.0)  # another copier, at the same moment: after the first
    now[0] += 2.0  # idle time is not saved up for later bursts
    assert pace.delay_after(1000) == pytest.approx(1.0)
    limit[0] = 0  # the limit removed: no more waiting
    assert pace.delay_after(10**9) == 0.0


def test_a_cancel_ends_a_paced_copy_at_once(dirs):
    mgr = LogManager(dirs, SMALL_SEGMENTS)
    fill(mgr.create("t", 0, log_dir=dirs[0]), 10)
    move = mgr.begin_move("t", 0, dirs[1])
    move.pace = SharedByteRate(lambda: 1)  # one byte per second: the first chunk would wait an hour
    threading.Timer(0.2, move.cancel).start()
    started = time.monotonic()
    with pytest.raises(MoveCancelled):
        move.copy_bulk()
    assert time.monotonic() - started < 10
    assert leftovers(dirs[1]) == []
    mgr.close()


def test_the_offset_copied_advances_within_a_segment_being_copied(dirs):
    """DescribeLogDirs' lag of a future replica counts the part of a big segment already copied
    (through its offset index), not only whole segments: Kafka's lag is its log end minus the
    future replica's."""
    mgr = LogManager(dirs, LogConfig(index_interval_bytes=4096))
    plog = mgr.create("t", 0, log_dir=dirs[0])
    for _ in range(60):  # one segment of ~3 MB: three sendfile chunks
        plog.append_as_leader(batch(50, value_size=1000), 1, NOW)
    end = plog.log_end_offset
    move = mgr.begin_move("t", 0, dirs[1])
    move.pace = SharedByteRate(lambda: 100_000)  # the index goes at once; after 1 MiB of the log, a 10 s wait
    copier = threading.Thread(target=lambda: pytest.raises(MoveCancelled, move.copy_bulk))
    copier.start()
    try:
        deadline = time.monotonic() + 10
        while move.copied_bytes < 1024 * 1024:
            assert time.monotonic() < deadline, "the first chunk of the log was never copied"
            time.sleep(0.01)
        assert 0 < move.offset_copied() < end
        assert move.offset_copied() >= end // 3 - 100  # about a third of the records, by their bytes
    finally:
        move.cancel()
        copier.join(10)
    mgr.close()
