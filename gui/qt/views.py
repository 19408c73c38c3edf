"""The main views. Each takes ViewData from the bridge and swaps tables into its models."""

from __future__ import annotations

import time
from collections import deque

from partita.gui.domain import tables as T
from partita.gui.domain.view_data import ViewData, rows_of

from .bindings import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    Qt,
    QTabWidget,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
    pyqtgraph,
)
from .models import TableModel
from .widgets import HealthTile, TablePanel


class ThroughputPlot(QWidget):
    """Messages/s from end-offset deltas. One QTimer redraws at most once a second with setData."""

    def __init__(self, history: int = 720, parent=None) -> None:
        super().__init__(parent)
        pg = pyqtgraph()
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.plot.setLabel("left", "messages/s")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setDownsampling(mode="peak")
        self.plot.setClipToView(True)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.getViewBox().setLimits(yMin=0)
        self.curve = self.plot.plot(pen=pg.mkPen("#1565c0", width=2), fillLevel=0, brush=(21, 101, 192, 40))
        self.xs: deque[float] = deque(maxlen=history)
        self.ys: deque[float] = deque(maxlen=history)
        self._dirty = False
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self._redraw)
        self.timer.start()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)

    def add(self, at: float, value: float) -> None:
        self.xs.append(at)
        self.ys.append(value)
        self._dirty = True

    def _redraw(self) -> None:
        if self._dirty:
            self._dirty = False
            self.curve.setData(list(self.xs), list(self.ys))
            top = max(self.ys, default=0)
            self.plot.setYRange(0, max(10.0, top * 1.15), padding=0)

    def redraw_now(self) -> None:
        self._dirty = True
        self._redraw()


EVENT_COLUMNS = (T.Column("Time"), T.Column("Event"), T.Column("Detail"))
MAX_EVENTS = 5000


class OverviewView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tiles = {
            "brokers": HealthTile("brokers up"),
            "down": HealthTile("brokers down"),
            "urp": HealthTile("under-replicated"),
            "offline": HealthTile("offline partitions"),
            "minisr": HealthTile("under min ISR"),
            "groups": HealthTile("consumer groups"),
            "rate": HealthTile("messages/s"),
        }
        grid = QGridLayout()
        for i, tile in enumerate(self.tiles.values()):
            grid.addWidget(tile, 0, i)
        self.model = TableModel(T.OVERVIEW_COLUMNS)
        self.table = TablePanel(self.model, "Cluster")
        self.events_model = TableModel(EVENT_COLUMNS)
        self.events = TablePanel(self.events_model, "Events")
        self._event_rows: list[tuple] = []
        self._event_keys: list[int] = []
        self._event_seq = 0
        self.throughput = ThroughputPlot()
        right = QSplitter(Qt.Orientation.Vertical)
        box = QWidget()
        bl = QVBoxLayout(box)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(QLabel("<b>Throughput</b> (from end-offset deltas)"))
        bl.addWidget(self.throughput)
        right.addWidget(box)
        right.addWidget(self.events)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setSizes([450, 550])
        lay = QVBoxLayout(self)
        lay.addLayout(grid)
        lay.addWidget(split, 1)

    def update_data(self, d: ViewData) -> None:
        h = d.health
        self.tiles["brokers"].set_value(h.brokers_up, "ok" if h.brokers_up else "bad")
        self.tiles["down"].set_value(h.brokers_down, "bad" if h.brokers_down else "ok")
        self.tiles["urp"].set_value(f"{h.under_replicated:,}", "warn" if h.under_replicated else "ok")
        self.tiles["offline"].set_value(f"{h.offline:,}", "bad" if h.offline else "ok")
        self.tiles["minisr"].set_value(f"{h.under_min_isr:,}", "bad" if h.under_min_isr else "ok")
        self.tiles["groups"].set_value(f"{d.summary.group_count:,}", "ok")
        if d.rates is not None:
            self.tiles["rate"].set_value(f"{d.rates.messages_per_s:,.0f}", "ok")
            self.throughput.add(d.rates.at, d.rates.messages_per_s)
        self.model.set_table(d.overview)
        if d.event_lines:
            new_rows, new_keys = [], []
            for at, kind, text in reversed(d.event_lines):
                self._event_seq += 1
                new_rows.append((time.strftime("%H:%M:%S", time.localtime(at)), kind, text))
                new_keys.append(self._event_seq)
            self._event_rows = (new_rows + self._event_rows)[:MAX_EVENTS]
            self._event_keys = (new_keys + self._event_keys)[:MAX_EVENTS]
            self.events_model.set_table(T.Table(EVENT_COLUMNS, list(self._event_keys), list(self._event_rows)))

    def event_texts(self) -> list[str]:
        return [r[2] for r in self._event_rows]


class BrokersView(QWidget):
    """Brokers & racks; selecting a broker lists the partitions it holds."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = TableModel(T.BROKER_COLUMNS)
        self.table = TablePanel(self.model, "Brokers & racks")
        self.partitions_model = TableModel(T.PARTITION_COLUMNS)
        self.partitions = TablePanel(self.partitions_model, "Partitions on the selected broker")
        self.racks = QLabel(self)
        self.racks.setObjectName("racks")
        self.racks.setWordWrap(True)
        self._data: ViewData | None = None
        self.table.current_key_changed.connect(lambda _k: self._update_partitions())
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.partitions)
        split.setSizes([300, 400])
        lay = QVBoxLayout(self)
        lay.addWidget(self.racks)
        lay.addWidget(split, 1)

    def update_data(self, d: ViewData) -> None:
        self._data = d
        self.model.set_table(d.brokers)
        racks: dict[str, list[str]] = {}
        for b in d.summary.brokers:
            mark = f"{b.node_id}" if b.alive else f"<span style='color:#b3261e'>{b.node_id}✕</span>"
            racks.setdefault(b.rack or "(no rack)", []).append(mark)
        self.racks.setText(
            "<b>Racks</b>&nbsp;&nbsp;" + "&nbsp;&nbsp;&nbsp;".join(f"{r}: [{' '.join(ids)}]" for r, ids in sorted(racks.items()))
        )
        if self.table.current_key() is None and d.brokers.keys:
            self.table.select_key(d.brokers.keys[0])
        else:
            self._update_partitions()

    def _update_partitions(self) -> None:
        if self._data is None:
            return
        node = self.table.current_key()
        if node is None:
            self.partitions_model.set_table(T.empty(T.PARTITION_COLUMNS))
            self.partitions.title.setText("<b>Partitions on the selected broker</b>")
            return
        sub = rows_of(self._data.partitions, self._data.broker_rows.get(node, ()))
        self.partitions.title.setText(f"<b>Partitions on broker {node}</b> (L = leader)")
        self.partitions_model.set_table(sub)


class RackAuditView(QWidget):
    """What the failure of each rack, or of each broker, would do; selecting one lists the
    partitions it would hurt, and a rack's can be handed to the reassignment planner to be
    spread over the racks."""

    fix_requested = Signal(object)  # [(topic, partition)] at risk in the selected rack

    RACKS, BROKERS = "each rack", "each broker (before a restart)"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = TableModel(T.RACK_COLUMNS)
        self.racks = TablePanel(self.model, "If it failed now")
        self.risks_model = TableModel(T.RACK_RISK_COLUMNS)
        self.risks = TablePanel(self.risks_model, "Partitions at risk", "Filter (topic, flag: OFFLINE, <MIN-ISR)")
        self.domain = QComboBox(self)
        self.domain.addItems([self.RACKS, self.BROKERS])
        self.domain.setToolTip("judge the failure of one rack at a time, or of one broker at a time")
        self.domain.currentIndexChanged.connect(lambda _i: self._show())
        self.note = QLabel(
            "Each rack (a broker without a rack counts as its own), or each broker, is judged as if it failed now, "
            "on top of what is already down. Kafka only spreads replicas over racks it is told about; with "
            "unclean leader election off (the default) an out-of-sync replica cannot take over.", self)
        self.note.setObjectName("rack-audit-note")
        self.note.setWordWrap(True)
        self.fix_button = QPushButton("Plan fixes in Reassign", self)
        self.fix_button.setEnabled(False)
        self.fix_button.clicked.connect(lambda: self.fix_requested.emit(self.keys_at_risk()))
        self._data: ViewData | None = None
        self.racks.current_key_changed.connect(lambda _k: self._update_risks())
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.racks)
        split.addWidget(self.risks)
        split.setSizes([200, 500])
        top = QHBoxLayout()
        top.addWidget(QLabel("Fail", self))
        top.addWidget(self.domain)
        top.addWidget(self.note, 1)
        top.addWidget(self.fix_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)

    @property
    def per_broker(self) -> bool:
        return self.domain.currentText() == self.BROKERS

    def _tables(self, d: ViewData) -> tuple[T.Table, T.Table, dict[str, tuple[int, int]]]:
        if self.per_broker:
            return d.broker_failures, d.broker_failure_risks, d.broker_failure_rows
        return d.racks, d.rack_risks, d.rack_risk_rows

    def keys_at_risk(self) -> list[tuple[str, int]]:
        if self._data is None:
            return []
        _summary, risks, rows = self._tables(self._data)
        first, end = rows.get(self.racks.current_key(), (0, 0))
        return [(row[1], row[2]) for row in risks.rows[first:end]]

    def update_data(self, d: ViewData) -> None:
        self._data = d
        self._show()

    def _show(self) -> None:
        if self._data is None:
            return
        summary, _risks, _rows = self._tables(self._data)
        self.model.set_table(summary)
        if self.racks.current_key() not in summary.keys and summary.keys:
            self.racks.select_key(summary.keys[0])
        else:
            self._update_risks()

    def _update_risks(self) -> None:
        if self._data is None:
            return
        _summary, risks, rows = self._tables(self._data)
        domain = self.racks.current_key()
        first, end = rows.get(domain, (0, 0))
        if domain is None:
            self.risks.title.setText("<b>Partitions at risk</b>")
        elif first == end:
            self.risks.title.setText(f"<b>If {domain} failed</b>: every partition keeps enough in-sync replicas")
        else:
            self.risks.title.setText(f"<b>If {domain} failed</b>: {end - first:,} partitions hurt")
        self.risks_model.set_table(rows_of(risks, range(first, end)))
        # moving replicas between racks cannot protect a partition from losing one broker: that
        # takes more replicas (or a restart once the others are back in sync)
        self.fix_button.setEnabled(end > first and not self.per_broker)
        self.fix_button.setToolTip(
            "a broker's loss is not fixed by moving replicas: add replicas, or wait until the ISR is full"
            if self.per_broker else "moves that spread these partitions' replicas over the racks they lack")


class TopicsView(QWidget):
    """Topics, and the partitions of the selected topic (all partitions when none is selected)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.topics_model = TableModel(T.TOPIC_COLUMNS)
        self.topics = TablePanel(self.topics_model, "Topics")
        self.model = TableModel(T.PARTITION_COLUMNS)
        self.partitions = TablePanel(self.model, "Partitions", "Filter (topic, flag: URP, OFFLINE, <MIN-ISR)")
        self._data: ViewData | None = None
        self.topics.current_key_changed.connect(lambda _k: self._update_partitions())
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.topics)
        split.addWidget(self.partitions)
        split.setSizes([250, 450])
        lay = QVBoxLayout(self)
        lay.addWidget(split)

    def update_data(self, d: ViewData) -> None:
        self._data = d
        self.topics_model.set_table(d.topics)
        self._update_partitions()

    def _update_partitions(self) -> None:
        if self._data is None:
            return
        topic = self.topics.current_key()
        if topic is None:
            self.partitions.title.setText("<b>Partitions</b> (all topics; L = leader)")
            self.model.set_table(self._data.partitions)
        else:
            self.partitions.title.setText(f"<b>Partitions of {topic}</b> (L = leader)")
            first, end = self._data.topic_rows.get(topic, (0, 0))
            self.model.set_table(rows_of(self._data.partitions, range(first, end)))


class GroupsView(QWidget):
    """Consumer groups; the selected group's per-partition lag and members."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = TableModel(T.GROUP_COLUMNS)
        self.groups = TablePanel(self.model, "Consumer groups")
        self.lag_model = TableModel(T.GROUP_PARTITION_COLUMNS)
        self.lag = TablePanel(self.lag_model, "Partitions")
        self.members_model = TableModel(T.GROUP_MEMBER_COLUMNS)
        self.members = TablePanel(self.members_model, "Members")
        self.detail = QTabWidget(self)
        self.detail.addTab(self.lag, "Lag per partition")
        self.detail.addTab(self.members, "Members")
        self._data: ViewData | None = None
        self.groups.current_key_changed.connect(lambda _k: self._update_detail())
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.groups)
        split.addWidget(self.detail)
        split.setSizes([300, 400])
        lay = QVBoxLayout(self)
        lay.addWidget(split)

    def update_data(self, d: ViewData) -> None:
        self._data = d
        self.model.set_table(d.groups)
        if self.groups.current_key() is None and d.groups.keys:
            self.groups.select_key(d.groups.keys[0])
        else:
            self._update_detail()

    def _update_detail(self) -> None:
        if self._data is None:
            return
        gid = self.groups.current_key()
        if gid is None:
            self.lag_model.set_table(T.empty(T.GROUP_PARTITION_COLUMNS))
            self.members_model.set_table(T.empty(T.GROUP_MEMBER_COLUMNS))
            return
        d = self._data
        self.lag.title.setText(f"<b>{gid}</b>: committed, end offset and lag")
        self.members.title.setText(f"<b>{gid}</b>: members")
        lag, members = d.group_tables(gid)
        self.lag_model.set_table(lag)
        self.members_model.set_table(members)
