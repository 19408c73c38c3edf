"""LogManager: several log dirs, discovery on start, placement, deletion, moves, retention."""

from __future__ import annotations

import shutil

import pytest

from partita.engine.log.config import LogConfig
from partita.engine.log.errors import KafkaStorageError
from partita.engine.log.log_manager import LogManager, parse_partition_dir

from .helpers import NOW, batch, read_all


@pytest.fixture
def dirs(tmp_path):
    return [tmp_path / "d1", tmp_path / "d2", tmp_path / "d3"]


def test_parse_partition_dir_names():
    assert parse_partition_dir("orders-0") == ("orders", 0)
    assert parse_partition_dir("my-dashed.topic-name-12") == ("my-dashed.topic-name", 12)
    assert parse_partition_dir("__consumer_offsets-49") == ("__consumer_offsets", 49)
    for bad in ("orders", "orders-", "-3", "orders-x", "orders-0.abc-delete", "orders-0.abc-future"):
        assert parse_partition_dir(bad) is None


def test_partitions_spread_over_dirs_and_are_found_again(dirs):
    mgr = LogManager(dirs, LogConfig())
    for p in range(6):
        mgr.create("my-topic.v2", p).append_as_leader(batch(p + 1), 0, NOW)
    per_dir = {d: len(parts) for d, parts in mgr.sizes_by_dir().items()}
    assert per_dir == {d: 2 for d in dirs}
    placed = {p: mgr.dir_of("my-topic.v2", p) for p in range(6)}
    mgr.close()

    again = LogManager(dirs, LogConfig())
    assert sorted(again.all()) == [("my-topic.v2", p) for p in range(6)]
    for p in range(6):
        assert again.dir_of("my-topic.v2", p) == placed[p]
        assert again.get("my-topic.v2", p).log_end_offset == p + 1
    sizes = again.sizes_by_dir()
    assert sum(len(v) for v in sizes.values()) == 6
    assert all(size > 0 for parts in sizes.values() for size in parts.values())
    again.close()


def test_create_in_a_chosen_dir_and_idempotently(dirs):
    mgr = LogManager(dirs)
    plog = mgr.create("t", 0, log_dir=dirs[2])
    assert plog.directory == dirs[2] / "t-0"
    assert mgr.create("t", 0, LogConfig(retention_ms=5)) is plog
    assert plog.config.retention_ms == 5
    with pytest.raises(ValueError):
        mgr.create("u", 0, log_dir=dirs[0].parent / "elsewhere")
    mgr.close()


def test_delete(dirs):
    mgr = LogManager(dirs)
    mgr.create("t", 0).append_as_leader(batch(1), 0, NOW)
    path = mgr.get("t", 0).directory
    assert mgr.delete("t", 0)
    assert mgr.get("t", 0) is None and not path.exists()
    assert not mgr.delete("t", 0)
    assert list(path.parent.iterdir()) == [path.parent / ".lock"]
    mgr.close()


def test_leftovers_of_interrupted_deletes_and_moves_are_cleaned(dirs):
    for name in ("t-0.0123abcd-delete", "t-1.4567-future"):
        (dirs[0] / name).mkdir(parents=True)
        (dirs[0] / name / "00000000000000000000.log").write_bytes(b"")
    mgr = LogManager(dirs)
    assert mgr.all() == {}
    assert [p.name for p in dirs[0].iterdir()] == [".lock"]
    mgr.close()


def test_move_between_dirs(dirs):
    mgr = LogManager(dirs)
    plog = mgr.create("t", 0, log_dir=dirs[0])
    for _ in range(10):
        plog.append_as_leader(batch(3), 1, NOW)
    before = read_all(plog)
    move = mgr.begin_move("t", 0, dirs[1])
    move.copy_bulk()  # the broker runs it in a worker thread
    moved, retired = mgr.complete_move(move)
    shutil.rmtree(retired)
    assert mgr.dir_of("t", 0) == dirs[1]
    assert not (dirs[0] / "t-0").exists()
    assert read_all(moved) == before and moved.epoch_entries() == [(1, 0)]
    assert moved.append_as_leader(batch(1), 1, NOW).base_offset == 30
    mgr.close()


def test_same_partition_in_two_dirs_is_refused(dirs):
    mgr = LogManager(dirs[:1])
    mgr.create("t", 0)
    mgr.close()
    mgr = LogManager(dirs[1:2])
    mgr.create("t", 0)
    mgr.close()
    with pytest.raises(KafkaStorageError, match="two log dirs"):
        LogManager(dirs[:2])


def test_a_log_dir_is_locked_while_in_use(dirs):
    mgr = LogManager(dirs[:1])
    with pytest.raises(KafkaStorageError, match="in use"):
        LogManager(dirs[:1])
    mgr.close()
    LogManager(dirs[:1]).close()


def test_retention_over_all_logs(dirs):
    mgr = LogManager(dirs, LogConfig(segment_bytes=1200, retention_ms=1000))
    for p in range(3):
        plog = mgr.create("t", p)
        for _ in range(6):
            plog.append_as_leader(batch(5, value_size=200, ts=NOW - 10_000), 0, NOW)
    deleted = mgr.apply_retention(NOW)
    assert deleted > 0
    assert all(len(plog.segments) == 1 for plog in mgr.all().values())
    mgr.close()
