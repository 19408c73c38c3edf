"""Idempotent producers: duplicates, sequence and epoch checks, state after reopen/truncation."""

from __future__ import annotations

import pytest

from partita.engine.log.errors import InvalidProducerEpochError, OutOfOrderSequenceError

from .helpers import NOW, batch, open_log


@pytest.fixture
def plog(tmp_path):
    log = open_log(tmp_path / "t-0")
    yield log
    if not log.closed:
        log.close()


def produce(log, n: int, pid: int, epoch: int, seq: int):
    return log.append_as_leader(batch(n, pid=pid, epoch=epoch, seq=seq), 0, NOW)


def test_in_order_batches_are_appended(plog):
    assert produce(plog, 3, 1, 0, 0).base_offset == 0
    assert produce(plog, 2, 1, 0, 3).base_offset == 3
    assert produce(plog, 1, 2, 0, 0).base_offset == 5  # another producer
    entry = plog.producer_state.last_entry(1)
    assert (entry.epoch, entry.last_seq, entry.last_offset) == (0, 4, 4)


def test_a_retried_batch_is_a_duplicate_with_its_original_offsets(plog):
    produce(plog, 3, 1, 0, 0)
    produce(plog, 2, 1, 0, 3)
    produce(plog, 4, 1, 0, 5)
    end = plog.log_end_offset
    dup = produce(plog, 2, 1, 0, 3)
    assert dup.duplicate and (dup.base_offset, dup.last_offset) == (3, 4)
    assert plog.log_end_offset == end  # nothing appended


def test_only_the_last_five_batches_are_remembered(plog):
    for i in range(7):
        produce(plog, 1, 1, 0, i)
    assert produce(plog, 1, 1, 0, 2).duplicate  # among the last five (2..6)
    with pytest.raises(OutOfOrderSequenceError):
        produce(plog, 1, 1, 0, 1)  # too old to recognise: out of order


def test_gap_in_sequence_is_out_of_order(plog):
    produce(plog, 2, 1, 0, 0)
    with pytest.raises(OutOfOrderSequenceError) as info:
        produce(plog, 1, 1, 0, 5)
    assert info.value.code == 45
    assert plog.log_end_offset == 2


def test_epoch_bump_must_start_at_zero(plog):
    produce(plog, 2, 1, 0, 0)
    with pytest.raises(OutOfOrderSequenceError):
        produce(plog, 1, 1, 1, 2)
    assert produce(plog, 1, 1, 1, 0).base_offset == 2
    with pytest.raises(InvalidProducerEpochError) as info:
        produce(plog, 1, 1, 0, 2)  # a zombie with the old epoch
    assert info.value.code == 47


def test_unknown_producer_is_accepted_at_any_sequence(plog):
    # Kafka >= 2.5 (KIP-360): its state may have gone with old segments.
    assert produce(plog, 1, 9, 3, 4711).base_offset == 0
    assert produce(plog, 1, 9, 3, 4712).base_offset == 1


def test_sequence_wraps_after_int32_max(plog):
    top = 2**31 - 1
    produce(plog, 2, 1, 0, top - 1)  # sequences top-1, top
    assert produce(plog, 1, 1, 0, 0).base_offset == 2


def test_non_idempotent_batches_skip_the_checks(plog):
    produce(plog, 1, -1, -1, -1)
    produce(plog, 1, -1, -1, -1)
    assert plog.log_end_offset == 2


def test_a_failed_append_leaves_the_state_alone(plog):
    produce(plog, 1, 1, 0, 0)
    with pytest.raises(OutOfOrderSequenceError):
        # first batch fine, second out of order: neither goes in, state unchanged
        plog.append_as_leader(batch(1, pid=1, epoch=0, seq=1) + batch(1, pid=1, epoch=0, seq=9), 0, NOW)
    assert plog.producer_state.last_entry(1).last_seq == 0
    assert produce(plog, 1, 1, 0, 1).base_offset == 1


@pytest.mark.parametrize("clean", [True, False], ids=["clean", "crash"])
def test_state_survives_reopen(tmp_path, clean):
    path = tmp_path / "t-0"
    log = open_log(path, segment_bytes=1000)
    for i in range(20):
        produce(log, 2, 1, 0, 2 * i)
    produce(log, 1, 2, 5, 0)
    assert len(log.segments) > 2
    log.close() if clean else log.release()
    again = open_log(path, segment_bytes=1000)
    assert produce(again, 2, 1, 0, 38).duplicate
    assert produce(again, 1, 1, 0, 40).base_offset == 41
    with pytest.raises(OutOfOrderSequenceError):
        produce(again, 1, 2, 5, 7)
    again.close()


def test_state_after_truncation(plog):
    produce(plog, 2, 1, 0, 0)
    produce(plog, 2, 1, 0, 2)
    produce(plog, 2, 1, 0, 4)
    plog.truncate_to(4)
    assert plog.producer_state.last_entry(1).last_seq == 3
    assert produce(plog, 2, 1, 0, 4).base_offset == 4  # no longer a duplicate


def test_follower_takes_the_state_from_the_leaders_batches(tmp_path):
    leader = open_log(tmp_path / "a" / "t-0")
    follower = open_log(tmp_path / "b" / "t-0")
    produce(leader, 2, 1, 0, 0)
    produce(leader, 2, 1, 0, 2)
    follower.append_as_follower(leader.read(0, 1 << 20).records)
    # after a leader change the follower detects the retry itself
    assert produce(follower, 2, 1, 0, 2).duplicate
    leader.close()
    follower.close()


DAY_MS = 86_400_000


def test_idle_producers_are_forgotten_and_their_next_batch_is_accepted(plog):
    plog.append_as_leader(batch(1, pid=1, epoch=0, seq=0, ts=NOW - 2 * DAY_MS), 0, NOW)
    plog.append_as_leader(batch(1, pid=2, epoch=0, seq=0, ts=NOW - 1000), 0, NOW)
    assert plog.remove_expired_producers(NOW, DAY_MS) == 1
    assert plog.producer_state.last_entry(1) is None and plog.producer_state.last_entry(2) is not None
    # forgotten: its next batch is an unknown producer's, accepted at any sequence (no duplicate check)
    assert not plog.append_as_leader(batch(1, pid=1, epoch=0, seq=1, ts=NOW), 0, NOW).duplicate
    assert plog.producer_state.last_entry(1).last_seq == 1


def test_an_open_transaction_keeps_its_producer_however_idle(plog):
    from partita.engine.log.records import build_batch

    old = NOW - 2 * DAY_MS
    plog.append_as_leader(build_batch([(old, b"k", b"v")], producer_id=3, producer_epoch=0, base_sequence=0,
                                      transactional=True), 0, NOW)
    assert plog.remove_expired_producers(NOW, DAY_MS) == 0
    plog.append_marker(False, 3, 0, 0, 0, NOW)  # the abort's marker is the producer's latest write
    assert plog.remove_expired_producers(NOW, DAY_MS) == 0
    assert plog.remove_expired_producers(NOW + DAY_MS, DAY_MS) == 1


def test_the_last_timestamp_is_the_latest_batchs_not_the_largest(plog):
    """As Kafka's ProducerStateEntry: what DescribeProducers shows and expiry counts from."""
    produce = plog.append_as_leader
    produce(batch(1, pid=1, epoch=0, seq=0, ts=NOW), 0, NOW)
    produce(batch(1, pid=1, epoch=0, seq=1, ts=NOW - 5000), 0, NOW)
    assert plog.producer_state.last_entry(1).last_timestamp == NOW - 5000


def test_a_snapshot_after_expiry_leaves_the_producer_out(tmp_path):
    log = open_log(tmp_path / "t-0")
    log.append_as_leader(batch(1, pid=1, epoch=0, seq=0, ts=NOW - 2 * DAY_MS), 0, NOW)
    log.remove_expired_producers(NOW, DAY_MS)
    log.close()  # writes the snapshot at the log end: a clean reopen replays nothing
    reopened = open_log(tmp_path / "t-0")
    try:
        assert reopened.producer_state.last_entry(1) is None
    finally:
        reopened.close()
