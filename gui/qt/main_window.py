"""The main window: tabs of views over one cluster, an unreachable banner, the local cluster panel."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from partita.gui.domain.view_data import ViewData
from partita.gui.services.cluster_client import KafkaClientFactory
from partita.gui.services.local_cluster import LocalCluster, LocalClusterState
from partita.gui.services.poller import PollFailure
from partita.gui.services.profiles import ProfileStore
from partita.gui.services.reassignment import ReassignmentRunner
from partita.gui.services.settings import ConnectionSettings

from . import stepwise
from .bindings import QAction, QLabel, QMainWindow, QTabWidget, QTimer, QVBoxLayout, QWidget, Signal
from .bridge import ClusterBridge, TaskRunner, wait_for_retired
from .connection_dialog import ConnectionDialog
from .history_view import HistoryView
from .local_panel import LocalClusterPanel
from .planner_view import ReassignView
from .views import BrokersView, GroupsView, OverviewView, RackAuditView, TopicsView
from .widgets import Banner


def _hms(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def _collect_garbage() -> None:
    import gc

    gc.collect()


class MainWindow(QMainWindow):
    first_data_arrived = Signal()
    data_applied = Signal(object)  # ViewData, once every view shows it
    connected_to = Signal(str)  # bootstrap servers

    def __init__(
        self,
        *,
        interval: float = 5.0,
        local: LocalCluster | None = None,
        store_factory=ProfileStore,
        request_timeout: float = 10.0,
        max_backoff: float = 30.0,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Partita")
        self.resize(1280, 800)
        self.interval = interval
        self.request_timeout = request_timeout
        self.max_backoff = max_backoff
        self.tasks = TaskRunner(self)
        self.bridge: ClusterBridge | None = None
        self.settings: ConnectionSettings | None = None
        self.latest: ViewData | None = None
        self._store_factory = store_factory
        self._got_first = False
        self._pending: ViewData | None = None
        self._pending_views: list = []

        self.banner = Banner(self)
        self.overview = OverviewView()
        self.brokers = BrokersView()
        self.rack_audit = RackAuditView()
        self.reassign = ReassignView(self.tasks)
        self.history = HistoryView(self.tasks)
        self.rack_audit.fix_requested.connect(self._plan_rack_fixes)
        self.topics = TopicsView()
        self.groups = GroupsView()
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.overview, "Overview")
        self.tabs.addTab(self.brokers, "Brokers && racks")
        self.tabs.addTab(self.rack_audit, "Rack audit")
        self.tabs.addTab(self.reassign, "Reassign")
        self.tabs.addTab(self.topics, "Topics && partitions")
        self.tabs.addTab(self.groups, "Consumer groups")
        self.tabs.addTab(self.history, "History")
        self.topics.model.layoutChanged.connect(self._push_sort_specs)
        self.views = {"overview": self.overview, "brokers": self.brokers, "rack_audit": self.rack_audit,
                      "reassign": self.reassign, "topics": self.topics, "groups": self.groups,
                      "history": self.history}
        self.local_panel: LocalClusterPanel | None = None
        if local is not None:
            self.add_local_panel(local)
        self.placeholder = QLabel("Not connected. Use Connect… to choose a cluster.", self)
        self.placeholder.setObjectName("placeholder")

        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.banner)
        lay.addWidget(self.placeholder)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        tb = self.addToolBar("Main")
        tb.setObjectName("main-toolbar")
        self.connect_action = QAction("Connect…", self)
        self.connect_action.triggered.connect(self.open_connection_dialog)
        self.refresh_action = QAction("Refresh", self)
        self.refresh_action.setShortcut("F5")
        self.refresh_action.triggered.connect(self.refresh_now)
        tb.addAction(self.connect_action)
        tb.addAction(self.refresh_action)
        self.where = QLabel("", self)
        tb.addWidget(self.where)
        self.status = self.statusBar()
        self._banner_timer = QTimer(self)
        self._banner_timer.setInterval(1000)
        self._banner_timer.timeout.connect(self._update_banner)
        # full garbage collections, rarely (see partita.gui.app.tune_gc)
        self._gc_timer = QTimer(self)
        self._gc_timer.setInterval(10 * 60 * 1000)
        self._gc_timer.timeout.connect(_collect_garbage)
        self._gc_timer.start()

    # -- connection ----------------------------------------------------------------------------

    def connect_to(self, settings: ConnectionSettings) -> None:
        self.connect_client(KafkaClientFactory(settings, timeout=self.request_timeout), settings)

    def connect_client(self, client_factory, settings: ConnectionSettings) -> None:
        """Poll the client `client_factory` (picklable) makes in the builder process (anything
        with snapshot() and close()) and show what it returns."""
        self.disconnect_cluster()
        self.settings = settings
        self.setWindowTitle(f"Partita — {settings.name or settings.bootstrap}")
        bridge = ClusterBridge(client_factory, interval=self.interval, parent=self)
        bridge.view_data_changed.connect(self._on_data)
        bridge.refresh_failed.connect(self._on_failure)
        bridge.cluster_recovered.connect(self._on_recovered)
        bridge.poller.max_backoff = self.max_backoff
        self.bridge = bridge
        self.reassign.set_runner_factory(partial(ReassignmentRunner, settings, self.request_timeout))
        self._push_sort_specs()
        self.where.setText(f"  {settings.name + ' · ' if settings.name else ''}{settings.bootstrap}")
        self.placeholder.setText(f"Connecting to {settings.bootstrap}…")
        self.status.showMessage(f"Connecting to {settings.bootstrap}…")
        bridge.start()
        self.connected_to.emit(settings.bootstrap)

    def _push_sort_specs(self) -> None:
        if self.bridge is not None:
            self.bridge.set_sort_specs({"partitions": self.topics.model.sort_spec})

    def disconnect_cluster(self, wait: bool = False) -> None:
        """Stop polling the current cluster. Without `wait` the GUI thread does not wait for a
        refresh in flight (switching clusters stays instant even if the old one hangs)."""
        if self.bridge is not None:
            if wait:
                self.bridge.stop()
                self.bridge.deleteLater()
            else:
                self.bridge.retire()
            self.bridge = None
        self._pending = None
        self._pending_views = []
        self.banner.hide()
        self._banner_timer.stop()

    def refresh_now(self) -> None:
        if self.bridge is not None:
            self.bridge.refresh_now()

    def open_connection_dialog(self) -> ConnectionDialog:
        try:
            store = self._store_factory()
        except Exception as e:
            store = None
            self.status.showMessage(f"Profiles unavailable: {e}")
        dlg = ConnectionDialog(self.tasks, store, self)
        if self.settings is not None:
            dlg.set_settings(self.settings)
        dlg.accepted.connect(lambda: self.connect_to(dlg.settings()))
        dlg.open()
        return dlg

    # -- local cluster -------------------------------------------------------------------------

    def add_local_panel(self, local: LocalCluster) -> LocalClusterPanel:
        self.local_panel = LocalClusterPanel(local, self.tasks)
        self.tabs.addTab(self.local_panel, "Local cluster")
        self.views["local"] = self.local_panel
        return self.local_panel

    def start_local(self, local: LocalCluster) -> None:
        """Start (or reuse) the local cluster off the GUI thread, then connect to it."""
        panel = self.local_panel or self.add_local_panel(local)
        self.placeholder.setText(f"Starting the local cluster “{local.name}” (3 brokers, racks a, b, c)…")
        self.status.showMessage("Starting the local cluster…")

        def on_done(name, result):
            if name == "local:startup" and isinstance(result, LocalClusterState):
                self.tasks.task_done.disconnect(on_done)
                panel.apply_state(result)
                panel.message.setText("Cluster running.")
                self.connect_to(ConnectionSettings(name=f"local:{local.name}", bootstrap=result.bootstrap,
                                                   local_cluster=local.name))

        def on_failed(name, message):
            if name == "local:startup":
                self.placeholder.setText(f"The local cluster did not start: {message}")
                self.banner.show_message(f"The local cluster did not start: {message}")

        self.tasks.task_done.connect(on_done)
        self.tasks.task_failed.connect(on_failed)
        self.tasks.submit("local:startup", local.up)

    def _plan_rack_fixes(self, keys) -> None:
        self.reassign.plan_spread(keys)
        self.tabs.setCurrentWidget(self.reassign)

    # -- results -------------------------------------------------------------------------------

    def _on_data(self, d: ViewData) -> None:
        """New data: update the views one per event-loop turn, the visible one first, so that no
        single turn of the GUI thread does all of them (paints and input go in between)."""
        first = self._pending is None
        self._pending = d
        current = self.tabs.currentWidget()
        views = [self.overview, self.brokers, self.rack_audit, self.reassign, self.topics, self.groups]
        self._pending_views = [v for v in views if v is current] + [v for v in views if v is not current]
        if first:
            QTimer.singleShot(0, self._apply_next)

    def _apply_next(self) -> None:
        d = self._pending
        if d is None:
            return
        if self._pending_views:
            self._pending_views.pop(0).update_data(d)
        if self._pending_views:
            QTimer.singleShot(0, self._apply_next)
            return
        self._pending = None
        old, self.latest = self.latest, d
        stepwise.dispose(old)  # free the previous tables a few milliseconds per turn
        del old
        self.placeholder.hide()
        s = d.summary
        self.history.set_cluster(s.cluster_id or s.bootstrap)  # the key the builder records under
        self.status.showMessage(
            f"{s.bootstrap} · refreshed {_hms(s.taken_at)} in {s.refresh_seconds:.2f} s · "
            f"{len(s.brokers)} brokers · {s.topic_count:,} topics · {s.partition_count:,} partitions · "
            f"{s.group_count:,} groups" + (f" · {len(s.warnings)} warnings" if s.warnings else "")
        )
        self.data_applied.emit(d)
        if not self._got_first:
            self._got_first = True
            self.first_data_arrived.emit()

    def _on_failure(self, f: PollFailure) -> None:
        self._banner_timer.start()
        self._update_banner()
        if self.latest is None:
            self.placeholder.setText(f"Cannot reach {self.settings.bootstrap if self.settings else 'the cluster'}: {f.reason}")

    def _update_banner(self) -> None:
        f = self.bridge.last_failure if self.bridge is not None else None
        if f is None:
            self._banner_timer.stop()
            self.banner.hide()
            return
        last = (
            f"Showing the last known state from {_hms(self.latest.summary.taken_at)}."
            if self.latest is not None
            else "Nothing known yet."
        )
        self.banner.show_message(
            f"Cluster unreachable since {_hms(f.since)} ({f.failures} failed refresh{'es' * (f.failures != 1)}): "
            f"{f.reason}. {last} Retrying automatically every {f.retry_in:g} s."
        )

    def _on_recovered(self) -> None:
        self._banner_timer.stop()
        self.banner.hide()
        self.status.showMessage("Cluster reachable again", 5000)

    # -- screenshots ---------------------------------------------------------------------------

    def save_screenshots(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        out = []
        from .bindings import QApplication

        current = self.tabs.currentIndex()
        for name, view in self.views.items():
            self.tabs.setCurrentWidget(view)
            QApplication.processEvents()
            if name == "overview":
                self.overview.throughput.redraw_now()
                QApplication.processEvents()
            if name == "history":  # its read of the file runs on the task thread
                deadline = time.monotonic() + 5
                while self.history.loading and time.monotonic() < deadline:
                    QApplication.processEvents()
                    time.sleep(0.01)
                QApplication.processEvents()
            path = directory / f"{name}.png"
            self.grab().save(str(path))
            out.append(path)
        self.tabs.setCurrentIndex(current)
        return out

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        self.disconnect_cluster(wait=True)
        wait_for_retired()
        if self.local_panel is not None:
            self.local_panel.timer.stop()
        self.reassign.set_runner_factory(None)  # closes its admin client on the tasks thread
        self.tasks.stop()
        super().closeEvent(event)
