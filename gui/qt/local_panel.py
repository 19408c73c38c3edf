"""Local cluster panel: start/stop the bundled cluster, kill/stop/start a broker, kill a rack.

Every action runs on the task thread; the panel shows each broker's process state from the
launcher, and the effects reach the other views through the poller like any cluster change.
"""

from __future__ import annotations

from partita.gui.domain import tables as T
from partita.gui.services.local_cluster import LocalCluster, LocalClusterState

from .bindings import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)
from .bridge import TaskRunner
from .models import TableModel
from .widgets import TablePanel

PROCESS_COLUMNS = (
    T.Column("Broker", "int"),
    T.Column("Address"),
    T.Column("Rack"),
    T.Column("PID", "int"),
    T.Column("Process"),
    T.Column("Controller"),
)


def process_table(st: LocalClusterState) -> T.Table:
    rows = []
    for b in st.brokers:
        proc = b.state or ("running" if b.alive else "stopped")
        rows.append((b.node_id, b.address, b.rack or "", b.pid if b.alive else None,
                     proc if b.alive else ("DOWN" if not b.state else b.state.upper()),
                     "controller" if b.node_id == st.controller_id else ""))
    return T.Table(PROCESS_COLUMNS, [r[0] for r in rows], rows)


class LocalClusterPanel(QWidget):
    state_changed = Signal(object)  # LocalClusterState
    action_failed = Signal(str)

    def __init__(self, cluster: LocalCluster, tasks: TaskRunner, poll_ms: int = 2000, parent=None) -> None:
        super().__init__(parent)
        self.cluster = cluster
        self.tasks = tasks
        self.state: LocalClusterState | None = None
        self.busy = False
        self.header = QLabel(f"<b>Local cluster “{cluster.name}”</b>", self)
        self.header.setWordWrap(True)
        self.message = QLabel("", self)
        self.message.setObjectName("local-message")
        self.message.setWordWrap(True)
        self.model = TableModel(PROCESS_COLUMNS)
        self.table = TablePanel(self.model, "Broker processes")
        self.start_cluster = QPushButton("Start cluster")
        self.stop_cluster = QPushButton("Stop cluster")
        self.kill_button = QPushButton("Kill broker (SIGKILL)")
        self.stop_button = QPushButton("Stop broker")
        self.start_button = QPushButton("Start broker")
        self.rack_box = QComboBox()
        self.kill_rack_button = QPushButton("Kill rack")
        self.start_cluster.clicked.connect(lambda: self._run("up", self.cluster.up))
        self.stop_cluster.clicked.connect(lambda: self._run("stop", self.cluster.stop))
        self.kill_button.clicked.connect(lambda: self._broker_action("kill", self.cluster.kill_broker))
        self.stop_button.clicked.connect(lambda: self._broker_action("stop-broker", self.cluster.stop_broker))
        self.start_button.clicked.connect(lambda: self._broker_action("start-broker", self.cluster.start_broker))
        self.kill_rack_button.clicked.connect(self._kill_rack)
        row1 = QHBoxLayout()
        for w in (self.start_cluster, self.stop_cluster):
            row1.addWidget(w)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        row2.addWidget(QLabel("Selected broker:"))
        for w in (self.kill_button, self.stop_button, self.start_button):
            row2.addWidget(w)
        row2.addSpacing(24)
        row2.addWidget(QLabel("Rack:"))
        row2.addWidget(self.rack_box)
        row2.addWidget(self.kill_rack_button)
        row2.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.header)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addWidget(self.message)
        lay.addWidget(self.table, 1)
        tasks.task_done.connect(self._on_done)
        tasks.task_failed.connect(self._on_failed)
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self._update_buttons()
        self.refresh()

    def refresh(self) -> None:
        if not self.busy:
            self.tasks.submit("local:status", self.cluster.status)

    def _run(self, name: str, fn) -> None:
        self.busy = True
        self.message.setText(f"{name}…")
        self._update_buttons()
        self.tasks.submit(f"local:{name}", fn)

    def _broker_action(self, name: str, fn) -> None:
        node = self.table.current_key()
        if node is None:
            self.message.setText("Select a broker first.")
            return
        self._run(f"{name} {node}", lambda: fn(node))

    def _kill_rack(self) -> None:
        rack = self.rack_box.currentText()
        if rack:
            self._run(f"kill rack {rack}", lambda: self.cluster.kill_rack(rack))

    def _on_done(self, name: str, result) -> None:
        if not name.startswith("local:"):
            return
        if name != "local:status":
            self.busy = False
            self.message.setText(f"{name[6:]}: done")
        if isinstance(result, LocalClusterState):
            self.apply_state(result)
        self._update_buttons()

    def _on_failed(self, name: str, message: str) -> None:
        if not name.startswith("local:"):
            return
        if name != "local:status":
            self.busy = False
        self.message.setText(f"{name[6:]} failed: {message}")
        self.action_failed.emit(message)
        self._update_buttons()

    def apply_state(self, st: LocalClusterState) -> None:
        self.state = st
        where = f" — {st.bootstrap}" if st.bootstrap else ""
        running = "running" if st.running else "not running"
        self.header.setText(f"<b>Local cluster “{self.cluster.name}”</b> ({running}{where})<br><small>{st.directory}</small>")
        self.model.set_table(process_table(st))
        racks = sorted(r for r in st.racks() if r)
        if [self.rack_box.itemText(i) for i in range(self.rack_box.count())] != racks:
            self.rack_box.clear()
            self.rack_box.addItems(racks)
        if self.table.current_key() is None and st.brokers:
            self.table.select_key(st.brokers[0].node_id)
        self.state_changed.emit(st)

    def _update_buttons(self) -> None:
        running = bool(self.state and self.state.running)
        idle = not self.busy
        self.start_cluster.setEnabled(idle and not running)
        self.stop_cluster.setEnabled(idle and running)
        for b in (self.kill_button, self.stop_button, self.start_button, self.kill_rack_button):
            b.setEnabled(idle and running)
