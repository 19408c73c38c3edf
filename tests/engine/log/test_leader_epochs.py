"""Leader epoch cache: Kafka's assignment rules, OffsetForLeaderEpoch answers, the checkpoint."""

from __future__ import annotations

import pytest

from partita.engine.log.leader_epochs import CHECKPOINT_FILE, LeaderEpochCache

from .helpers import NOW, batch, open_log


def cache_with(tmp_path, *entries):
    c = LeaderEpochCache(tmp_path)
    for epoch, start in entries:
        c.assign(epoch, start)
    return c


def test_checkpoint_file_is_kafkas_format(tmp_path):
    cache_with(tmp_path, (0, 0), (2, 100), (5, 250))
    assert (tmp_path / CHECKPOINT_FILE).read_text() == "0\n3\n0 0\n2 100\n5 250\n"
    assert LeaderEpochCache(tmp_path).entries() == [(0, 0), (2, 100), (5, 250)]


def test_assign_rules(tmp_path):
    c = cache_with(tmp_path, (1, 10))
    assert not c.assign(1, 20)  # same epoch, later offset: nothing to record
    assert c.assign(1, 5)  # same epoch, earlier start replaces it
    assert c.entries() == [(1, 5)]
    c.assign(3, 30)
    c.assign(2, 20)  # contradicts epoch 3: it goes
    assert c.entries() == [(1, 5), (2, 20)]
    with pytest.raises(ValueError):
        c.assign(-1, 0)


def test_end_offset_for(tmp_path):
    c = cache_with(tmp_path, (1, 10), (3, 50), (6, 90))
    leo = 120
    assert c.end_offset_for(6, leo) == (6, 120)  # the latest epoch ends at the log end
    assert c.end_offset_for(3, leo) == (3, 90)
    assert c.end_offset_for(4, leo) == (3, 90)  # unknown epoch in between: the one before it
    assert c.end_offset_for(1, leo) == (1, 50)
    assert c.end_offset_for(0, leo) == (0, 10)  # below every entry: where the first starts
    assert c.end_offset_for(7, leo) == (-1, -1)
    assert c.end_offset_for(-1, leo) == (-1, -1)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert LeaderEpochCache(empty).end_offset_for(0, 5) == (-1, -1)


def test_truncation(tmp_path):
    c = cache_with(tmp_path, (1, 10), (3, 50), (6, 90))
    c.truncate_from_end(50)
    assert c.entries() == [(1, 10)]
    other = tmp_path / "other"
    other.mkdir()
    c = cache_with(other, (1, 10), (3, 50), (6, 90))
    c.truncate_from_start(60)
    assert c.entries() == [(3, 60), (6, 90)]
    c.truncate_from_start(90)
    assert c.entries() == [(6, 90)]


def test_partition_log_epochs(tmp_path):
    log = open_log(tmp_path / "t-0")
    log.append_as_leader(batch(5), 0, NOW)
    log.append_as_leader(batch(5), 0, NOW)
    log.append_as_leader(batch(5), 2, NOW)
    log.append_as_leader(batch(5), 4, NOW)
    assert log.latest_epoch == 4
    assert log.epoch_entries() == [(0, 0), (2, 10), (4, 15)]
    assert log.end_offset_for(0) == (0, 10)
    assert log.end_offset_for(1) == (0, 10)
    assert log.end_offset_for(2) == (2, 15)
    assert log.end_offset_for(4) == (4, 20)
    assert log.epoch_start_offset(2) == 10
    assert log.epoch_start_offset(7) == 20  # a new epoch starts at the log end
    log.assign_epoch_start_offset(7)
    assert log.end_offset_for(4) == (4, 20) and log.latest_epoch == 7
    log.truncate_to(15)
    assert log.epoch_entries() == [(0, 0), (2, 10)]
    log.close()
    again = open_log(tmp_path / "t-0")
    assert again.epoch_entries() == [(0, 0), (2, 10)]
    again.close()


def test_damaged_checkpoint_is_rebuilt_from_batches(tmp_path):
    path = tmp_path / "t-0"
    log = open_log(path)
    log.append_as_leader(batch(3), 1, NOW)
    log.append_as_leader(batch(3), 4, NOW)
    log.close()
    (path / CHECKPOINT_FILE).write_text("0\n7\nnonsense\n")
    again = open_log(path)
    assert again.epoch_entries() == [(1, 0), (4, 3)]
    again.close()
