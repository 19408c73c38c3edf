"""A refresh's results travel between processes in slices and come back whole and equal."""

from __future__ import annotations

import pickle

import pytest

from partita.gui.domain import tables
from partita.gui.domain.snapshot import Partition
from partita.gui.domain.view_data import build_view_data
from partita.gui.services import slices

from .factories import group, snapshot


def big_snapshot(n=3000, taken_at=100.0, shift=0):
    parts = [
        Partition(f"topic-{i % 40}", i, 1 + i % 3, (1, 2, 3), (1, 2, 3) if i % 11 else (1, 2),
                  start_offset=0, end_offset=shift + (i * 7919) % 100_000, size_bytes=i * 10)
        for i in range(n)
    ]
    return snapshot(taken_at=taken_at, partitions=parts, groups=[group(f"g{i}") for i in range(300)], alive=(1, 2))


def reassemble(frames):
    assembler = slices.Assembler()
    results = [assembler.feed(f) for f in frames]
    assert all(r is None for r in results[:-1])
    return results[-1]


def test_a_view_data_reassembles_equal_from_small_slices():
    view = build_view_data(big_snapshot(shift=500, taken_at=105.0), big_snapshot(), {"partitions": (9, True)})
    frames = list(slices.frames(view, items_per_slice=100))
    got = reassemble(frames)
    assert got == view
    assert got.partitions.orders == view.partitions.orders and got.broker_rows == view.broker_rows
    assert got.rates == view.rates and got.event_lines == view.event_lines
    # a group's detail comes back as the tables made from the snapshot itself would be
    source = big_snapshot(shift=500, taken_at=105.0)
    for gid in ("g0", "g299"):
        lag, members = got.group_tables(gid)
        assert lag == tables.group_partitions_table(source, gid) and lag.rows
        assert members == tables.group_members_table(source, gid) and members.rows
    assert [t.rows for t in got.group_tables("no such group")] == [[], []]
    # every slice holds at most 100 items, so no single unpickle is big
    slice_frames = [f for f in frames if f[:1] == slices.SLICE]
    assert len(slice_frames) > 30
    assert all(len(pickle.loads(f[1:])[1]) <= 100 for f in slice_frames)
    # the graph frame is small: the tables' rows went in the slices; it carries the broker row
    # indexes, arrays of 4 bytes per replica that unpickle as one copy each
    broker_index_bytes = sum(len(a) * a.itemsize for a in view.broker_rows.values())
    assert len(frames[-1]) - broker_index_bytes < sum(len(f) for f in slice_frames) / 10


def test_containers_keep_kind_sharing_and_small_ones_stay_in_the_graph():
    shared = list(range(50))
    obj = {
        "list": shared,
        "again": shared,
        "tuple": tuple(range(25)),
        "dict": {i: str(i) for i in range(30)},
        "small": [1, 2, 3],
        "nested": [[i] * 3 for i in range(12)],
    }
    got = reassemble(slices.frames(obj, items_per_slice=10))
    assert got == obj
    assert got["list"] is got["again"]
    assert type(got["tuple"]) is tuple and type(got["dict"]) is dict


def test_an_unknown_frame_is_refused():
    with pytest.raises(ValueError):
        slices.Assembler().feed(b"Xjunk")


def test_the_gui_thread_assembles_the_frames_over_several_event_loop_turns(qtbot):
    from partita.gui.qt.stepwise import StepwiseAssembler
    from partita.gui.services.builder_process import Received

    view = build_view_data(big_snapshot(n=20000), None)
    frames = list(slices.frames(view, items_per_slice=500))
    assembler = StepwiseAssembler()
    got = []
    assembler.assembled.connect(lambda data, stats: got.append((data, stats)))
    assembler.start(Received(frames, 1.0, 2.0, 3.0))
    assert not got  # start() only schedules the work
    qtbot.waitUntil(lambda: bool(got), timeout=10000)
    data, stats = got[0]
    assert data == view
    assert stats.frames == len(frames) and stats.bytes == sum(map(len, frames))
    assert stats.turns > 1 and stats.longest_unpickle_ms < stats.unpickle_seconds * 1000


def test_a_newer_refresh_replaces_one_still_being_assembled(qtbot):
    from partita.gui.qt.stepwise import StepwiseAssembler
    from partita.gui.services.builder_process import Received

    old = build_view_data(big_snapshot(n=20000), None)
    new = build_view_data(big_snapshot(n=3000, taken_at=200.0), None)
    assembler = StepwiseAssembler()
    got = []
    assembler.assembled.connect(lambda data, stats: got.append(data))
    assembler.start(Received(list(slices.frames(old, items_per_slice=200)), 0, 0, 0))
    qtbot.wait(1)  # a turn or two: part of the old one is in
    assembler.start(Received(list(slices.frames(new, items_per_slice=200)), 0, 0, 0))
    qtbot.waitUntil(lambda: bool(got), timeout=10000)
    qtbot.wait(50)
    assert got == [new]
