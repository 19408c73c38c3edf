"""Reassign: drag replicas between brokers to build a plan, see its cost and rack risks, run it
(with a throttle), follow it, cancel it.

The plan lives here, in the GUI process, and is small; every decision about it is a pure
function of partita.gui.domain.reassignment. Talking to the cluster goes through the shared
TaskRunner's thread (one ReassignmentRunner, made there on first use); results come back as
signals. Progress needs no polling of its own: every refresh lists the reassignments in
progress, and a move's status is read from that and from the partition's replicas.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from pathlib import Path

from partita.gui.domain import reassignment as rp
from partita.gui.domain import tables as T
from partita.gui.domain.health import leader_not_preferred
from partita.gui.domain.view_data import ViewData

from .bindings import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    Qt,
    QTreeView,
    QVBoxLayout,
    QWidget,
)
from .models import TableModel
from .rack_layout import RackLayoutModel
from .widgets import TablePanel

TASK = "reassign:"
EFFECT_WORDS = ("offline", "refusing acks=all", "left with one copy")
SENT = "sent"


class _RunnerHolder:
    """One cluster's ReassignmentRunner, made on first use; touched on the tasks thread only."""

    def __init__(self, factory: Callable[[], object]) -> None:
        self.factory = factory
        self.runner = None

    def get(self):
        if self.runner is None:
            self.runner = self.factory()
        return self.runner

    def close(self) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            runner.close()


class ReassignView(QWidget):
    def __init__(self, tasks, parent=None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.plan = rp.Plan()
        self._data: ViewData | None = None
        self._runners: _RunnerHolder | None = None
        self._starting: list[tuple[str, int]] = []  # the moves of the start in flight
        self._submitted: dict[tuple[str, int], str | None] = {}  # sent moves -> the cluster's refusal
        self._sent_at = 0.0
        self._throttled: tuple[tuple[int, ...], tuple[str, ...]] | None = None  # to remove when done
        self._clearing: tuple[tuple[int, ...], tuple[str, ...]] | None = None
        self._expanded: set = set()
        self._first = True

        self.layout_model = RackLayoutModel(self)
        self.layout_model.moves_requested.connect(self.request_moves)
        self.tree = QTreeView(self)
        self.tree.setModel(self.layout_model)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.tree.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.tree.setDropIndicatorShown(True)
        self.tree.header().setStretchLastSection(True)
        self.tree.setColumnWidth(0, 220)

        self.plan_model = TableModel(T.PLAN_COLUMNS, self)
        self.plan_panel = TablePanel(self.plan_model, "Plan")
        self.running_model = TableModel(T.REASSIGNMENT_COLUMNS, self)
        self.running_panel = TablePanel(self.running_model, "Reassignments in progress (started by any tool)")
        self.cost_label = QLabel("Drag replicas onto other brokers to plan a reassignment.", self)
        self.risk_label = QLabel("", self)
        self.message = QLabel("", self)
        for label in (self.cost_label, self.risk_label, self.message):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.throttle = QSpinBox(self)
        self.throttle.setRange(0, 100_000)
        self.throttle.setSuffix(" MB/s per broker")
        self.throttle.setSpecialValueText("no throttle")
        self.throttle.setValue(50)
        self.throttle.valueChanged.connect(lambda _v: self._show_plan())
        self.run_button = QPushButton("Run", self)
        self.cancel_button = QPushButton("Cancel running", self)
        self.remove_button = QPushButton("Remove move", self)
        self.clear_button = QPushButton("Clear plan", self)
        self.export_button = QPushButton("Export JSON…", self)
        self.export_button.setToolTip("the plan as kafka-reassign-partitions --reassignment-json-file reads it")
        self.export_button.clicked.connect(self._choose_export)
        self.elect_button = QPushButton("Elect preferred leaders", self)
        self.elect_button.setToolTip("move leadership back to each partition's first replica where it is in sync "
                                     "(after a failover, or a reassignment that changed the first replica)")
        self.elect_button.clicked.connect(self.elect_preferred)
        self.elect_button.setEnabled(False)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.remove_button.clicked.connect(self.remove_current)
        self.clear_button.clicked.connect(self.clear)

        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("Throttle:", self))
        buttons.addWidget(self.throttle)
        for b in (self.run_button, self.cancel_button, self.remove_button, self.clear_button, self.export_button,
                  self.elect_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.plan_panel, 2)
        rl.addWidget(self.cost_label)
        rl.addWidget(self.risk_label)
        rl.addLayout(buttons)
        rl.addWidget(self.message)
        rl.addWidget(self.running_panel, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.tree)
        split.addWidget(right)
        split.setSizes([380, 820])
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        tasks.task_done.connect(self._on_done)
        tasks.task_failed.connect(self._on_failed)
        self._show_plan()

    # -- cluster -------------------------------------------------------------------------------

    def set_runner_factory(self, factory: Callable[[], object] | None) -> None:
        """A new cluster: a new runner, an empty plan."""
        old, self._runners = self._runners, (_RunnerHolder(factory) if factory is not None else None)
        if old is not None:
            self.tasks.submit(TASK + "close", old.close)
        self.plan, self._submitted, self._throttled, self._data = rp.Plan(), {}, None, None
        self._first = True
        self.layout_model.set_state(None, self.plan)
        self._show_plan()

    def update_data(self, d: ViewData) -> None:
        self._data = d
        # a move not sent yet follows its partition; a sent one keeps the state it was planned on
        # (while it runs, the partition lists old and new replicas together)
        states = {m.key: (m.state if m.key in self._submitted else s)
                  for m in self.plan.moves if (s := d.partition_state(m.key)) is not None}
        self.plan = rp.refresh_states(self.plan, states)
        self._rebuild_tree()
        self.running_model.set_table(d.reassignments)
        n = d.health.not_preferred_leader
        self.elect_button.setText(f"Elect preferred leaders ({n:,})" if n else "Elect preferred leaders")
        self.elect_button.setEnabled(n > 0)
        self._show_plan()
        self._maybe_clear_throttles()

    # -- planning ------------------------------------------------------------------------------

    def request_moves(self, replicas: list[tuple[str, int, int]], target: int) -> None:
        d = self._data
        if d is None:
            return
        ids = [b.node_id for b in d.summary.brokers]
        plan, problems = self.plan, []
        for topic, partition, source in replicas:
            state = d.partition_state((topic, partition))
            if state is None:
                problems.append(f"{topic}-{partition} is gone")
                continue
            try:
                plan = rp.move_replica(plan, state, source, target, ids)
            except rp.PlanError as e:
                problems.append(str(e))
            else:
                self._submitted.pop(state.key, None)  # edited after it was sent: a new move
        self.plan = plan
        self._say("; ".join(problems), bad=bool(problems))
        self._rebuild_tree()
        self._show_plan()

    def plan_spread(self, keys: list[tuple[str, int]]) -> None:
        """Adds moves that spread these partitions over the racks they lack (the rack audit's
        "Plan fixes"), each onto the least loaded live broker of a missing rack."""
        d = self._data
        if d is None:
            return
        states = [s for key in dict.fromkeys(keys) if (s := d.partition_state(key)) is not None]
        load = {node: len(rows) for node, rows in d.broker_rows.items()}
        before = self.plan
        self.plan, notes = rp.spread(self.plan, states, d.summary.brokers, load)
        moved = [s.key for s in states if self.plan.target_of(s.key) != before.target_of(s.key)]
        for key in moved:
            self._submitted.pop(key, None)
        text = f"Planned moves for {len(moved)} of {len(states)} partitions at risk."
        if notes:
            text += f" {len(notes)} left as they are: " + "; ".join(notes[:3]) + ("; …" if len(notes) > 3 else "")
        self._say(text)
        self._rebuild_tree()
        self._show_plan()

    def remove_current(self) -> None:
        key = self.plan_panel.current_key()
        if key is not None:
            self.plan = self.plan.without([key])
            self._submitted.pop(key, None)
            self._rebuild_tree()
            self._show_plan()

    def clear(self) -> None:
        self.plan, self._submitted = rp.Plan(), {}
        self._rebuild_tree()
        self._show_plan()
        self._say("")

    def export_json(self, path: Path) -> None:
        Path(path).write_text(rp.to_reassignment_json(self.plan) + "\n")

    def _choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the plan", "reassignment.json", "JSON (*.json)")
        if path:
            try:
                self.export_json(Path(path))
            except OSError as e:
                self._say(f"could not write {path}: {e.strerror or e}", bad=True)
            else:
                self._say(f"Plan written to {path}")

    # -- running -------------------------------------------------------------------------------

    def run(self) -> None:
        statuses = self.statuses()
        moves = [m for m, s in zip(self.plan.moves, statuses, strict=True) if s in (rp.PLANNED, rp.CANCELLED)
                 or s.startswith(rp.REFUSED)]
        runners = self._runners
        if runners is None:
            self._say("Not connected to a cluster.", bad=True)
            return
        if not moves:
            self._say("Nothing to run: every move in the plan is running or done." if self.plan
                      else "Nothing to run: drag replicas onto other brokers first.")
            return
        throttle = self.throttle.value() * 1_000_000 or None
        for m in moves:
            self._submitted[m.key] = None
        self._starting = [m.key for m in moves]
        self._sent_at = time.time()
        self.tasks.submit(TASK + "start", lambda: runners.get().start(moves, throttle))
        self._say(f"Starting {len(moves)} moves…")
        self._show_plan()

    def cancel(self) -> None:
        running = {key for key in self._data.reassignments.keys} if self._data else set()
        keys = [m.key for m in self.plan.moves if m.key in self._submitted and m.key in running]
        runners = self._runners
        if not keys or runners is None:
            self._say("Nothing of the plan is running.")
            return
        self.tasks.submit(TASK + "cancel", lambda: runners.get().cancel(keys))
        self._say(f"Cancelling {len(keys)} moves…")

    def elect_preferred(self) -> None:
        """A preferred leader election for every partition whose first replica is alive, in sync
        and not leading."""
        d, runners = self._data, self._runners
        if d is None or runners is None:
            self._say("Not connected to a cluster.", bad=True)
            return
        alive = {b.node_id for b in d.summary.brokers if b.alive}
        keys = [(row[0], row[1]) for row in d.partitions.rows
                if leader_not_preferred(row[2], row[3][0], row[4], alive)]
        if not keys:
            self._say("Every leader is on its preferred replica.")
            return
        self.tasks.submit(TASK + "elect", lambda: runners.get().elect_preferred(keys))
        self._say(f"Electing preferred leaders for {len(keys):,} partitions…")

    def _on_done(self, name: str, result) -> None:
        if not name.startswith(TASK):
            return
        if name == TASK + "start":
            for key, reason in result.refused.items():
                self._submitted[key] = reason
            if result.throttled_brokers or result.throttled_topics:
                old = self._throttled or ((), ())
                self._throttled = (tuple(sorted({*old[0], *result.throttled_brokers})),
                                   tuple(sorted({*old[1], *result.throttled_topics})))
            refused = len(result.refused)
            self._say(f"Started; {refused} refused by the cluster" if refused else "Started", bad=bool(refused))
        elif name == TASK + "cancel":
            self._say("Cancel sent" + (f"; refused: {result}" if result else ""), bad=bool(result))
        elif name == TASK + "clear":
            self._say("Moves over; throttles removed")
        elif name == TASK + "elect":
            self._say("Preferred leaders elected" + (f"; not moved: {result}" if result else ""), bad=bool(result))
        self._show_plan()

    def _on_failed(self, name: str, message: str) -> None:
        if not name.startswith(TASK):
            return
        if name == TASK + "start":
            for key in self._starting:
                if key in self._submitted:
                    self._submitted[key] = message
        if name == TASK + "clear" and self._throttled is None:
            self._throttled = self._clearing  # tried again after the next refresh
        self._say(message, bad=True)
        self._show_plan()

    def _maybe_clear_throttles(self) -> None:
        """Once no reassignment runs on a topic the console throttled (its own moves or anyone's),
        the throttles it set go: left behind, they would slow the next recovery."""
        d, runners = self._data, self._runners
        if self._throttled is None or d is None or runners is None or d.summary.taken_at < self._sent_at:
            return
        brokers, topics = self._throttled
        if any(topic in topics for topic, _partition in d.reassignments.keys):
            return
        self._clearing, self._throttled = self._throttled, None
        self.tasks.submit(TASK + "clear", lambda: runners.get().clear_throttles(brokers, topics))

    # -- showing -------------------------------------------------------------------------------

    def statuses(self) -> list[str]:
        d = self._data
        running = set(d.reassignments.keys) if d else set()
        before_sent = d is None or d.summary.taken_at < self._sent_at
        out = []
        for m in self.plan.moves:
            submitted = m.key in self._submitted
            error = self._submitted.get(m.key)
            if submitted and error is None and before_sent:
                out.append(SENT)
                continue
            current = d.partition_state(m.key) if d else None
            out.append(rp.move_status(m, current, m.key in running, error, submitted))
        return out

    def _show_plan(self) -> None:
        self.plan_model.set_table(T.plan_table(self.plan.moves, self.statuses()))
        if not self.plan:
            self.cost_label.setText("Drag replicas onto other brokers to plan a reassignment.")
            self.risk_label.setText("")
            return
        throttle = self.throttle.value() * 1_000_000 or None
        c = rp.cost(self.plan, throttle)
        text = (f"<b>{c.partitions:,} partitions, {c.replicas_added:,} new replicas</b>: "
                f"{T.format_cell('bytes', c.bytes_to_copy) or '0 B'} to copy")
        if c.unknown_sizes:
            text += f" (+ {c.unknown_sizes} of unknown size)"
        if c.seconds_at_throttle is not None:
            busiest = c.busiest_broker
            text += f"; about {_duration(c.seconds_at_throttle)} at {self.throttle.value()} MB/s per broker"
            if busiest is not None:
                text += (f" (broker {busiest} busiest: in {T.format_cell('bytes', c.bytes_in.get(busiest, 0))}, "
                         f"out {T.format_cell('bytes', c.bytes_out.get(busiest, 0))})")
        else:
            text += "; no throttle: as fast as the brokers can copy, beside client traffic"
        self.cost_label.setText(text)
        brokers = self._data.summary.brokers if self._data else ()
        self.risk_label.setText(_risk_text(rp.rack_changes(self.plan, brokers), rp.spread_warnings(self.plan, brokers)))

    def _rebuild_tree(self) -> None:
        model, tree = self.layout_model, self.tree
        if not self._first:
            self._expanded = set()
            for r in range(model.rowCount()):
                rack = model.index(r, 0)
                if tree.isExpanded(rack):
                    self._expanded.add(("rack", model.data(rack)))
                for b in range(model.rowCount(rack)):
                    broker = model.index(b, 0, rack)
                    if tree.isExpanded(broker):
                        self._expanded.add(("broker", model.node_id_at(broker)))
        model.set_state(self._data, self.plan)
        if self._data is None:
            return
        if self._first:
            self._first = False
            tree.expandToDepth(0)
            return
        for kind, name in self._expanded:
            index = model.rack_index(name) if kind == "rack" else model.broker_index(name)
            if index.isValid():
                tree.expand(index)

    def _say(self, text: str, bad: bool = False) -> None:
        text = html.escape(text)  # the cluster's own words are not markup
        self.message.setText(f"<span style='color:#b3261e'>{text}</span>" if bad and text else text)


def _risk_text(changes: list[rp.RackChange], warnings: list[str]) -> str:
    """What the plan changes in each rack's failure: offline and acks=all-refusing partitions per
    rack; "one copy left" only as a net count (moving a replica of a two-replica partition just
    moves that exposure from one rack to another)."""
    lines = []
    for c in changes:
        parts = []
        for word, before, after in zip(EFFECT_WORDS[:2], c.before[:2], c.after[:2], strict=True):
            if after != before:
                parts.append(f"{abs(after - before)} {'more' if after > before else 'fewer'} {word}")
        if parts:
            line = f"if rack {c.domain} failed: {', '.join(parts)} of the planned partitions"
            lines.append(f"<span style='color:#b3261e'>{line}</span>" if c.worse else line)
    net = sum(c.after[2] - c.before[2] for c in changes)
    if net:
        lines.append(f"rack failures that would leave a planned partition one copy: {abs(net)} "
                     f"{'more' if net > 0 else 'fewer'}")
    lines += [f"<span style='color:#9a6700'>{w}</span>" for w in warnings]
    if not lines:
        return "Rack risks: none changed by this plan."
    return "<b>Rack risks</b>: " + "<br>".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

