"""Qt models: qtmodeltester, in-place updates, sort/filter, selection kept across resets, copy, CSV."""

from __future__ import annotations

import pytest

from partita.gui.domain import history as H
from partita.gui.domain import rack_audit
from partita.gui.domain import tables as T
from partita.gui.domain.snapshot import Partition
from partita.gui.qt.bindings import QGuiApplication, Qt
from partita.gui.qt.models import KEY_ROLE, TableModel
from partita.gui.qt.widgets import TablePanel

from .factories import group, snapshot


def many_partitions(n=50, end=0):
    return [Partition(f"t{i % 5}", i, 1 + i % 3, (1, 2, 3), (1, 2, 3), start_offset=0, end_offset=end + i) for i in range(n)]


@pytest.mark.parametrize(
    "build",
    [
        T.overview_table,
        T.brokers_table,
        T.topics_table,
        T.partitions_table,
        T.groups_table,
        lambda s: T.group_partitions_table(s, "billing"),
        lambda s: T.group_members_table(s, "billing"),
        lambda s: T.rack_tables(rack_audit.audit(s))[0],
        lambda s: T.rack_tables(rack_audit.audit(s))[1],
        lambda s: T.rack_tables(rack_audit.audit(s, per_broker=True))[0],
        lambda s: T.rack_tables(rack_audit.audit(s, per_broker=True))[1],
        lambda s: H.problems_table(H.problem_rows(T.partitions_table(s))),
        lambda s: H.events_table([(s.taken_at, "broker down", "broker 3 down")] * 3, str),
        T.reassignments_table,
    ],
)
def test_every_table_model_passes_qtmodeltester(qtmodeltester, build):
    s = snapshot(partitions=many_partitions(), groups=[group()], alive=(1, 2))
    table = build(s)
    model = TableModel(table.columns)
    model.set_table(table)
    qtmodeltester.check(model)
    model.sort(1, Qt.SortOrder.DescendingOrder)
    model.set_filter("t1")
    model.set_table(build(snapshot(partitions=many_partitions(30), groups=[group()])))
    model.set_filter("")
    qtmodeltester.check(model)


def test_same_rows_update_in_place_with_data_changed(qtbot):
    model = TableModel(T.PARTITION_COLUMNS)
    model.set_table(T.partitions_table(snapshot(partitions=many_partitions())))
    changed, resets = [], []
    model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))
    model.modelReset.connect(lambda: resets.append(1))
    parts = many_partitions()
    parts[7] = parts[7]._replace(end_offset=999)
    parts[9] = parts[9]._replace(isr=(1, 2))
    model.set_table(T.partitions_table(snapshot(partitions=parts)))
    assert resets == []
    assert len(changed) == 1
    lo, hi = changed[0]
    rows_changed = {model.row_of(("t2", 7)), model.row_of(("t4", 9))}
    assert lo == min(rows_changed) and hi == max(rows_changed)
    model.set_table(T.partitions_table(snapshot(partitions=parts)))
    assert len(changed) == 1  # nothing changed, no signal


def test_sort_and_filter_in_model():
    model = TableModel(T.PARTITION_COLUMNS)
    model.set_table(T.partitions_table(snapshot(partitions=many_partitions())))
    model.sort(9, Qt.SortOrder.DescendingOrder)  # end offset
    assert model.data(model.index(0, 9)) == "49"
    model.set_filter("t3")
    assert model.rowCount() == 10
    assert all(model.data(model.index(r, 0)) == "t3" for r in range(10))
    assert model.data(model.index(0, 1), KEY_ROLE) == ("t3", 48)
    model.set_filter("urp")
    assert model.rowCount() == 0


def test_panel_keeps_selection_and_scroll_across_reset(qtbot):
    model = TableModel(T.PARTITION_COLUMNS)
    panel = TablePanel(model, "Partitions")
    qtbot.addWidget(panel)
    panel.resize(800, 300)
    panel.show()
    model.set_table(T.partitions_table(snapshot(partitions=many_partitions(200))))
    key = ("t2", 152)
    assert panel.select_key(key)
    panel.view.scrollTo(model.index(model.row_of(key), 0))
    top_before = model.key_at(panel.view.rowAt(0))
    # a topic appears: the rows change shape, the model resets
    more = many_partitions(200) + [Partition("a-new", 0, 1, (1,), (1,))]
    model.set_table(T.partitions_table(snapshot(partitions=more)))
    assert panel.current_key() == key
    assert [model.key_at(i.row()) for i in panel.view.selectionModel().selectedRows()] == [key]
    assert model.key_at(panel.view.rowAt(0)) == top_before


def test_copy_and_csv_export(qtbot, tmp_path):
    model = TableModel(T.BROKER_COLUMNS)
    panel = TablePanel(model, "Brokers")
    qtbot.addWidget(panel)
    model.set_table(T.brokers_table(snapshot(alive=(1, 3))))
    text = panel.copy_to_clipboard()
    assert text.splitlines()[0].startswith("Id\tAddress\tRack")
    assert "DOWN" in text.splitlines()[2]
    assert QGuiApplication.clipboard().text() == text
    panel.select_key(3)
    assert panel.copy_to_clipboard().splitlines()[1].startswith("3\t")
    out = tmp_path / "brokers.csv"
    with qtbot.waitSignal(panel.exported, timeout=5000):
        panel.export_csv(str(out))
    lines = out.read_text().splitlines()
    assert lines[0].startswith("Id,Address,Rack") and len(lines) == 4


def test_filter_words_must_all_match():
    parts = [Partition("orders", 0, 1, (1, 2), (1,)), Partition("orders", 1, 1, (1, 2), (1, 2)), Partition("audit", 0, 1, (1, 2), (1,))]
    model = TableModel(T.PARTITION_COLUMNS)
    model.set_table(T.with_search(T.partitions_table(snapshot(partitions=parts))))
    model.set_filter("orders urp")
    assert [model.key_at(r) for r in range(model.rowCount())] == [("orders", 0)]
    model.set_filter("URP")
    assert model.rowCount() == 2


def test_selection_follows_its_row_when_sorting_and_when_values_reorder(qtbot):
    model = TableModel(T.PARTITION_COLUMNS)
    panel = TablePanel(model, "Partitions")
    qtbot.addWidget(panel)
    model.set_table(T.partitions_table(snapshot(partitions=many_partitions(100))))
    key = ("t3", 33)
    panel.select_key(key)
    model.sort(9, Qt.SortOrder.DescendingOrder)
    assert panel.current_key() == key
    # end offsets move so the sorted order changes: a layout change, the selection stays on the row
    parts = many_partitions(100)
    parts[33] = parts[33]._replace(end_offset=10**9)
    model.set_table(T.partitions_table(snapshot(partitions=parts)))
    assert model.row_of(key) == 0
    assert panel.current_key() == key
    assert [model.key_at(i.row()) for i in panel.view.selectionModel().selectedRows()] == [key]
