"""History: replay an incident from the local SQLite history (partita.gui.services.history).

The builder process records every refresh; this view reads the file on the task thread (never
on the GUI thread) when it is shown, when the range changes or when asked. A plot of the
health counts over the range, the events, and — for the moment picked (drag the line, or
select an event) — the partitions that had a flag then.
"""

from __future__ import annotations

import time

from partita.gui.domain import history as H
from partita.gui.services.history import HistoryStore

from .bindings import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    Qt,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    pyqtgraph,
)
from .models import TableModel
from .widgets import TablePanel

TASK = "history:"
RANGES = (("last hour", 3600.0), ("last 6 hours", 6 * 3600.0), ("last 24 hours", 86400.0),
          ("last 7 days", 7 * 86400.0))
SERIES = (("under_replicated", "under-replicated", "#9a6700"), ("offline", "offline", "#b3261e"),
          ("under_min_isr", "under min ISR", "#6a1b9a"), ("brokers_down", "brokers down", "#1565c0"))


def _clock(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def _gaps(xs: list[float]) -> set[int]:
    """Indexes of samples that follow a pause in the recording (the console closed, not
    connected, or the cluster not answering): more than three usual refresh intervals."""
    if len(xs) < 3:
        return set()
    steps = sorted(b - a for a, b in zip(xs, xs[1:], strict=False))
    limit = max(2.0, 3 * steps[len(steps) // 2])
    return {i for i in range(1, len(xs)) if xs[i] - xs[i - 1] > limit}


def _broken(samples, gaps: set[int], value) -> tuple[list[float], list[float]]:
    """x and y of one series, with a gap (NaN) before each sample that follows a pause, and
    where the value is unknown."""
    xs, ys = [], []
    for i, s in enumerate(samples):
        if i in gaps:  # the console was not watching: no line across that time
            xs.append(s.at)
            ys.append(float("nan"))
        v = value(s)
        xs.append(s.at)
        ys.append(float("nan") if v is None else v)
    return xs, ys


def _load(cluster: str, since: float):
    with HistoryStore() as store:
        return store.samples(cluster, since), store.events(cluster, since)


def _moment(cluster: str, at: float):
    with HistoryStore() as store:
        return store.problems_at(cluster, at), store.lagging_at(cluster, at)


class HistoryView(QWidget):
    def __init__(self, tasks, parent=None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.cluster: str | None = None
        self.samples: list = []
        self.events: list[tuple[float, str, str]] = []
        self.moment: float | None = None
        self.loading = False  # a read of the file is on the task thread

        pg = pyqtgraph()
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.addLegend(offset=(10, 10))
        self.curves = {key: self.plot.plot(name=label, pen=pg.mkPen(color, width=2), stepMode=None)
                       for key, label, color in SERIES}
        self.line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#444", width=1, style=Qt.PenStyle.DashLine))
        self.line.sigPositionChangeFinished.connect(lambda line: self.pick(float(line.value())))
        self.plot.addItem(self.line)
        self.line.hide()
        # consumer lag has its own scale (millions of messages beside a handful of partitions)
        self.lag_plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.lag_plot.showGrid(x=True, y=True, alpha=0.3)
        self.lag_plot.setMouseEnabled(x=True, y=False)
        self.lag_plot.setLabel("left", "consumer lag")
        self.lag_plot.setXLink(self.plot)
        self.lag_curve = self.lag_plot.plot(pen=pg.mkPen("#2e7d32", width=2))

        self.range = QComboBox(self)
        for label, _seconds in RANGES:
            self.range.addItem(label)
        self.range.currentIndexChanged.connect(lambda _i: self.load())
        self.reload = QPushButton("Reload", self)
        self.reload.clicked.connect(self.load)
        self.status = QLabel("", self)
        self.events_model = TableModel(H.EVENT_COLUMNS, self)
        self.events_panel = TablePanel(self.events_model, "Events")
        self.events_panel.current_key_changed.connect(self._event_picked)
        self.problems_model = TableModel(H.PROBLEM_COLUMNS, self)
        self.problems_panel = TablePanel(self.problems_model, "Partitions with a flag at the moment picked",
                                         "Filter (topic, flag: URP, OFFLINE, <MIN-ISR)")
        self.lag_model = TableModel(H.LAG_COLUMNS, self)
        self.lag_panel = TablePanel(self.lag_model, "Most lagging groups at the moment picked")
        self.moment_tabs = QTabWidget(self)
        self.moment_tabs.addTab(self.problems_panel, "Flagged partitions")
        self.moment_tabs.addTab(self.lag_panel, "Lagging groups")
        top = QHBoxLayout()
        top.addWidget(QLabel("History of", self))
        top.addWidget(self.range)
        top.addWidget(self.reload)
        top.addWidget(self.status, 1)
        tables = QSplitter(Qt.Orientation.Horizontal, self)
        tables.addWidget(self.events_panel)
        tables.addWidget(self.moment_tabs)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.plot)
        split.addWidget(self.lag_plot)
        split.addWidget(tables)
        split.setSizes([250, 120, 350])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        tasks.task_done.connect(self._on_done)
        tasks.task_failed.connect(self._on_failed)

    def set_cluster(self, cluster: str | None) -> None:
        if cluster != self.cluster:
            self.cluster = cluster
            self.samples, self.events, self.moment = [], [], None
            self._show()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt naming
        super().showEvent(event)
        self.load()

    def load(self) -> None:
        if self.cluster is None:
            self.status.setText("Not connected.")
            return
        cluster, since = self.cluster, time.time() - RANGES[self.range.currentIndex()][1]
        self.status.setText("Reading the history…")
        self.loading = True
        self.tasks.submit(TASK + "load", lambda: (cluster, _load(cluster, since)))

    def pick(self, at: float) -> None:
        """Show the flagged partitions as they were at `at`."""
        if self.cluster is None:
            return
        self.moment = at
        self.line.setValue(at)
        self.line.show()
        cluster = self.cluster
        self.tasks.submit(TASK + "at", lambda: (cluster, at, _moment(cluster, at)))

    def _event_picked(self, key) -> None:
        if key is not None and 0 <= key < len(self.events):
            self.pick(self.events[key][0])

    def _on_done(self, name: str, result) -> None:
        if not name.startswith(TASK):
            return
        if name == TASK + "load":
            cluster, (samples, events) = result
            self.loading = False
            if cluster == self.cluster:
                self.samples, self.events = samples, events
                self._show()
        elif name == TASK + "at":
            cluster, at, ((stored_at, problems), (lag_at, lagging)) = result
            if cluster == self.cluster and at == self.moment:
                self.problems_model.set_table(H.problems_table(problems))
                self.lag_model.set_table(H.lag_table(lagging))
                when = _clock(at)
                self.problems_panel.title.setText(
                    f"<b>At {when}</b>: {len(problems):,} partitions with a flag"
                    + ("" if stored_at is not None else " (no history from before then)"))
                self.lag_panel.title.setText(
                    f"<b>At {_clock(lag_at)}</b>: the most lagging groups" if lag_at is not None
                    else f"<b>At {when}</b>: no lag kept from before then")

    def _on_failed(self, name: str, message: str) -> None:
        if name.startswith(TASK):
            self.loading = False
            self.status.setText(f"<span style='color:#b3261e'>history unreadable: {message}</span>")

    def _show(self) -> None:
        samples = self.samples
        xs = [s.at for s in samples]
        gaps = _gaps(xs)
        for key, _label, _color in SERIES:
            self.curves[key].setData(*_broken(samples, gaps, lambda s, key=key: getattr(s, key)), connect="finite")
        self.lag_curve.setData(*_broken(samples, gaps, lambda s: s.total_lag), connect="finite")
        self.events_model.set_table(H.events_table(self.events, _clock))
        if samples:
            self.status.setText(f"{len(samples):,} refreshes from {_clock(xs[0])} to {_clock(xs[-1])}; "
                                f"{len(self.events):,} events. Drag the line or pick an event to see that moment.")
            if self.moment is None:
                self.pick(xs[-1])
        else:
            self.status.setText("No history of this cluster in that range yet.")
            self.problems_model.set_table(H.problems_table([]))
            self.lag_model.set_table(H.lag_table([]))
