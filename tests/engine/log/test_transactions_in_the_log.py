"""Transactions as one partition log sees them: open transactions bound the last stable offset,
markers close them, aborts are remembered for read_committed fetches, and all of it survives
a clean reopen, a crash, truncation and retention."""

from __future__ import annotations

import pytest

from partita.engine.log.batch import iter_batches
from partita.engine.log.cleaner import plan
from partita.engine.log.control_batches import read_marker
from partita.engine.log.errors import (
    InvalidProducerEpochError,
    InvalidRecordError,
    InvalidTxnStateError,
    TransactionCoordinatorFencedError,
)
from partita.engine.log.partition_log import PartitionLog
from partita.engine.log.records import build_batch

from .helpers import NOW, batch, open_log

PID, EPOCH = 7, 0


@pytest.fixture
def plog(tmp_path):
    log = open_log(tmp_path / "t-0")
    yield log
    if not log.closed:
        log.close()


def txn_batch(n: int, seq: int, pid: int = PID, epoch: int = EPOCH) -> bytes:
    records = [(NOW, f"k{seq + i}".encode(), b"v") for i in range(n)]
    return build_batch(records, producer_id=pid, producer_epoch=epoch, base_sequence=seq, transactional=True)


def write(log: PartitionLog, data: bytes) -> int:
    return log.append_as_leader(data, 0, NOW).base_offset


def end(log: PartitionLog, commit: bool, pid: int = PID, epoch: int = EPOCH, coordinator_epoch: int = 0) -> int:
    return log.append_marker(commit, pid, epoch, coordinator_epoch, 0, NOW).base_offset


def aborted(log: PartitionLog, start: int = 0, stop: int | None = None) -> list[tuple[int, int, int]]:
    stop = log.log_end_offset if stop is None else stop
    return [(a.producer_id, a.first_offset, a.last_offset) for a in log.aborted_transactions(start, stop)]


def test_an_open_transaction_bounds_the_stable_offset_until_its_marker(plog):
    write(plog, batch(2))                                  # 0-1, not transactional
    assert plog.first_unstable_offset is None
    write(plog, txn_batch(3, 0))                           # 2-4
    write(plog, batch(1))                                  # 5: another producer's record
    write(plog, txn_batch(2, 3))                           # 6-7, same transaction
    assert plog.first_unstable_offset == 2
    marker = end(plog, commit=True)
    assert marker == 8 and plog.first_unstable_offset is None
    assert aborted(plog) == []
    assert plog.producer_state.last_entry(PID).current_txn_first_offset == -1


def test_an_abort_is_remembered_for_the_reads_it_touches(plog):
    write(plog, txn_batch(3, 0))                           # 0-2
    write(plog, txn_batch(1, 0, pid=9))                    # 3: producer 9's transaction
    end(plog, commit=False)                                # 4
    assert plog.first_unstable_offset == 3                 # producer 9's is still open
    end(plog, commit=True, pid=9)                          # 5
    assert aborted(plog) == [(PID, 0, 4)]
    assert aborted(plog, 5) == []                          # a read after the marker needs none
    assert aborted(plog, 0, 1) == [(PID, 0, 4)]            # any read overlapping the range does


def test_the_marker_is_kafkas_control_batch(plog):
    write(plog, txn_batch(1, 0))
    end(plog, commit=False, coordinator_epoch=4)
    data = plog.read(1, 1 << 20).records
    [(pos, h)] = list(iter_batches(data))
    assert (h.is_control, h.is_transactional, h.producer_id, h.base_sequence, h.record_count) == (
        True, True, PID, -1, 1)
    assert read_marker(data[pos:]) == (True, 4)


def test_producers_may_not_write_markers(plog):
    marker = build_batch([(NOW, b"\x00\x00\x00\x01", b"\x00\x00\x00\x00\x00\x00")], producer_id=PID,
                         producer_epoch=EPOCH, transactional=True, control=True)
    with pytest.raises(InvalidRecordError):
        write(plog, marker)


def test_a_plain_batch_inside_an_open_transaction_is_refused(plog):
    write(plog, txn_batch(1, 0))
    with pytest.raises(InvalidTxnStateError) as info:
        write(plog, batch(1, pid=PID, epoch=EPOCH, seq=1))
    assert info.value.code == 48
    assert plog.log_end_offset == 1


def test_a_fencing_marker_bumps_the_epoch_and_stale_markers_are_refused(plog):
    write(plog, txn_batch(1, 0))
    end(plog, commit=False, epoch=EPOCH + 1, coordinator_epoch=2)  # the coordinator fenced the producer
    with pytest.raises(InvalidProducerEpochError):
        write(plog, txn_batch(1, 1))                               # the old producer's next batch
    with pytest.raises(InvalidProducerEpochError):
        end(plog, commit=True, epoch=EPOCH)                        # a marker older than the epoch
    with pytest.raises(TransactionCoordinatorFencedError) as info:
        end(plog, commit=True, epoch=EPOCH + 1, coordinator_epoch=1)  # from an older coordinator
    assert info.value.code == 52
    assert plog.log_end_offset == 2


def test_transactions_survive_a_clean_reopen_and_a_crash(tmp_path):
    path = tmp_path / "t-0"
    log = open_log(path)
    write(log, txn_batch(2, 0))                 # 0-1, aborted
    end(log, commit=False)                      # 2
    log.roll()                                  # a snapshot at 3 holds the aborted range
    write(log, txn_batch(1, 0, pid=9))          # 3, aborted after the snapshot
    end(log, commit=False, pid=9)               # 4
    write(log, txn_batch(1, 2))                 # 5, open
    log.close()
    log = open_log(path)                        # clean: the snapshot at the end
    assert aborted(log) == [(PID, 0, 2), (9, 3, 4)] and log.first_unstable_offset == 5
    log.flush()
    log.release()                               # a crash: no clean-shutdown marker, replay from 3
    (path / "00000000000000000005.snapshot").unlink(missing_ok=True)
    log = open_log(path)
    try:
        assert aborted(log) == [(PID, 0, 2), (9, 3, 4)] and log.first_unstable_offset == 5
    finally:
        log.close()


def test_truncation_reopens_a_transaction_its_marker_closed(plog):
    write(plog, txn_batch(2, 0))                # 0-1
    end(plog, commit=False)                     # 2
    plog.truncate_to(2)
    assert plog.first_unstable_offset == 0 and aborted(plog) == []


def test_followers_track_transactions_from_the_leaders_batches(tmp_path):
    leader, follower = open_log(tmp_path / "l-0"), open_log(tmp_path / "f-0")
    try:
        write(leader, txn_batch(2, 0))
        end(leader, commit=False)
        write(leader, txn_batch(1, 2))
        follower.append_as_follower(leader.read(0, 1 << 20).records)
        assert aborted(follower) == [(PID, 0, 2)] and follower.first_unstable_offset == 3
    finally:
        leader.close()
        follower.close()


def test_aborted_ranges_below_the_log_start_are_forgotten(tmp_path):
    log = open_log(tmp_path / "t-0", segment_bytes=200)
    try:
        for seq in range(0, 6, 2):
            write(log, txn_batch(2, seq))
            end(log, commit=False)
        assert len(aborted(log)) == 3
        log.delete_records_before(log.log_end_offset)
        log.apply_retention(NOW)
        assert aborted(log) == []
    finally:
        log.close()


def test_the_cleaner_never_cleans_past_an_open_transaction(tmp_path):
    log = open_log(tmp_path / "t-0", segment_bytes=200, cleanup_policy="compact")
    try:
        write(log, txn_batch(2, 0))
        for _ in range(6):
            write(log, batch(2))
        log.roll()
        job = plan(log, log.log_end_offset, NOW)
        assert job is None or job.upper_bound <= 0
    finally:
        log.close()


# -- partition verification (KIP-890 part 1) ---------------------------------------------------


def verified_write(log: PartitionLog, data: bytes, guard) -> int:
    return log.append_as_leader(data, 0, NOW, verification_guard=guard).base_offset


def test_with_verification_on_a_batch_opens_its_transaction_only_with_the_guard(plog):
    from partita.engine.log.producer_state import UNVERIFIED

    with pytest.raises(InvalidTxnStateError):
        verified_write(plog, txn_batch(1, 0), UNVERIFIED)  # nothing verified
    guard = plog.start_verification(PID, EPOCH, NOW)
    assert guard is not None and plog.start_verification(PID, EPOCH, NOW) is guard  # one per producer
    assert verified_write(plog, txn_batch(1, 0), guard) == 0
    # open now: the producer's next batches need nothing verified, and there is nothing to verify
    assert plog.start_verification(PID, EPOCH, NOW) is None
    assert verified_write(plog, txn_batch(1, 1), UNVERIFIED) == 1
    assert plog.first_unstable_offset == 0


def test_a_marker_retires_a_guard_handed_out_before_it(plog):
    """The race KIP-890 closes: a produce request verified, then its transaction aborted before it
    was appended, must not open a transaction no coordinator knows."""
    write(plog, txn_batch(1, 0))
    end(plog, commit=False)
    guard = plog.start_verification(PID, EPOCH, NOW)
    end(plog, commit=False)  # say the coordinator aborted again (a timeout) meanwhile
    with pytest.raises(InvalidTxnStateError):
        verified_write(plog, txn_batch(1, 1), guard)
    assert plog.first_unstable_offset is None


def test_without_verification_a_batch_opens_its_transaction_as_before(plog):
    assert write(plog, txn_batch(1, 0)) == 0
    assert plog.first_unstable_offset == 0
