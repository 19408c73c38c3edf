"""The Reassign view without a cluster: the rack layout tree (qtmodeltester), dragging replicas
onto brokers, the plan with its cost and rack risks."""

from __future__ import annotations

import json

import pytest

from partita.gui.domain.snapshot import Partition
from partita.gui.domain.view_data import build_view_data
from partita.gui.qt.bindings import QModelIndex, Qt
from partita.gui.qt.bridge import TaskRunner
from partita.gui.qt.planner_view import ReassignView
from partita.gui.qt.rack_layout import MIME, RackLayoutModel

from .factories import snapshot


def view_data(**kw):
    partitions = [
        Partition("orders", 0, 1, (1, 2), (1, 2), size_bytes=4_000_000),
        Partition("orders", 1, 2, (2, 3), (2, 3), size_bytes=1_000_000),
        Partition("logs", 0, 3, (3,), (3,), size_bytes=None),
    ]
    return build_view_data(snapshot(partitions=partitions, min_isr=1, **kw), None)


def replica_index(model: RackLayoutModel, node_id: int, name: str) -> QModelIndex:
    broker = model.broker_index(node_id)
    for row in range(model.rowCount(broker)):
        index = model.index(row, 0, broker)
        if model.data(index) == name:
            return index
    raise AssertionError(f"{name} not under broker {node_id}")


def children(model: RackLayoutModel, node_id: int) -> list[tuple[str, str]]:
    broker = model.broker_index(node_id)
    return [(model.data(model.index(r, 0, broker)), model.data(model.index(r, 1, broker)))
            for r in range(model.rowCount(broker))]


@pytest.fixture
def tasks():
    runner = TaskRunner()
    yield runner
    runner.stop()


def test_the_rack_layout_passes_qtmodeltester_with_and_without_a_plan(qtmodeltester, qtbot, tasks):
    view = ReassignView(tasks)
    qtbot.addWidget(view)
    model = view.layout_model
    qtmodeltester.check(model)  # empty
    view.update_data(view_data(alive=(1, 2)))
    qtmodeltester.check(model)
    assert [model.data(model.index(r, 0)) for r in range(model.rowCount())] == ["a", "b", "c"]
    assert model.data(model.index(2, 1)) == "1 broker, 1 down"
    view.request_moves([("orders", 0, 1)], 3)
    qtmodeltester.check(model)


def test_dragging_a_replica_onto_a_broker_plans_the_move_with_cost_and_risk(qtbot, tasks):
    view = ReassignView(tasks)
    qtbot.addWidget(view)
    view.update_data(view_data())
    model = view.layout_model
    assert children(model, 1) == [("orders-0", "leader · 3.8 MiB")]
    mime = model.mimeData([replica_index(model, 2, "orders-0")])
    assert json.loads(bytes(mime.data(MIME)).decode()) == [["orders", 0, 2]]
    assert not model.canDropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, model.rack_index("a"))
    with qtbot.waitSignal(model.moves_requested):
        assert model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, model.broker_index(3))
    # the move is in the plan, and the tree shows the replica planned on broker 3, gone from 2
    assert [(m.key, m.target) for m in view.plan.moves] == [(("orders", 0), (1, 3))]
    assert ("orders-0", "planned here") in children(view.layout_model, 3)
    assert "orders-0" not in [name for name, _ in children(view.layout_model, 2)]
    row = [view.plan_model.data(view.plan_model.index(0, c)) for c in range(view.plan_model.columnCount())]
    assert row == ["orders", "0", "1,2", "1,3", "3", "2", "3.8 MiB", "planned"]
    view.throttle.setValue(2)
    assert "4.0 MB" not in view.cost_label.text() and "3.8 MiB to copy" in view.cost_label.text()
    assert "about 2 s at 2 MB/s per broker" in view.cost_label.text()
    assert view.risk_label.text() == "Rack risks: none changed by this plan."


def test_a_move_that_doubles_up_a_rack_is_flagged_and_impossible_drops_say_why(qtbot, tasks):
    view = ReassignView(tasks)
    qtbot.addWidget(view)
    view.update_data(view_data())
    view.request_moves([("orders", 1, 3)], 2)  # broker 2 holds it already
    assert "broker 2 already holds a replica of orders-1" in view.message.text()
    assert not view.plan
    view.request_moves([("orders", 1, 3)], 1)  # fine: racks b and a
    assert "none changed" in view.risk_label.text()
    view.remove_current()  # nothing selected: nothing removed
    view.plan_panel.select_key(("orders", 1))
    view.remove_current()
    assert not view.plan
    view.request_moves([("logs", 0, 3)], 1)
    assert "(+ 1 of unknown size)" in view.cost_label.text()


def test_the_plan_exports_for_kafka_reassign_partitions(qtbot, tasks, tmp_path):
    view = ReassignView(tasks)
    qtbot.addWidget(view)
    view.update_data(view_data())
    view.request_moves([("orders", 0, 1)], 3)
    view.export_json(tmp_path / "plan.json")
    assert json.loads((tmp_path / "plan.json").read_text())["partitions"] == [
        {"topic": "orders", "partition": 0, "replicas": [3, 2]}]


def test_a_refresh_that_changes_no_replica_keeps_the_selection_for_a_drag(qtbot, tasks):
    view = ReassignView(tasks)
    qtbot.addWidget(view)
    view.update_data(view_data())
    model = view.layout_model
    view.tree.expandAll()
    picked = replica_index(model, 2, "orders-1")
    view.tree.selectionModel().select(picked, view.tree.selectionModel().SelectionFlag.Select)
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    with qtbot.waitSignal(model.dataChanged):
        view.update_data(view_data())  # a new refresh: offsets and sizes may differ, replicas do not
    assert resets == [] and view.tree.selectionModel().isSelected(picked)
    view.update_data(view_data(alive=(1, 2)))  # broker 3 down: same replicas, new texts
    assert resets == [] and model.data(model.index(2, 1)) == "1 broker, 1 down"
    view.request_moves([("orders", 1, 3)], 1)  # the layout changes: rebuilt, expansion kept
    assert resets == [1] and view.tree.isExpanded(model.broker_index(2))


def test_run_says_why_it_does_nothing(qtbot, tasks):
    view = ReassignView(tasks)
    qtbot.addWidget(view)
    view.run()
    assert "Not connected" in view.message.text()
    view.set_runner_factory(lambda: pytest.fail("no runner is made for nothing"))
    view.update_data(view_data())
    view.run()
    assert view.message.text() == "Nothing to run: drag replicas onto other brokers first."
