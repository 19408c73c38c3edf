"""Runs the poller on a worker thread and hands results to the GUI thread as queued signals.

The worker does everything that grows with the cluster (requests, snapshot assembly, table
projections, diffs, rates), so the GUI thread only swaps finished tables into models.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from partita.gui.domain import events as ev
from partita.gui.domain import health as hl
from partita.gui.domain import rates as rt
from partita.gui.domain import tables as T
from partita.gui.domain.snapshot import ClusterSnapshot
from partita.gui.services import reaper
from partita.gui.services.poller import Poller, PollFailure

from .bindings import QObject, QThread, Signal, Slot


@dataclass(frozen=True)
class ViewData:
    """A snapshot with everything the views show of it, built off the GUI thread."""

    snapshot: ClusterSnapshot
    overview: T.Table
    brokers: T.Table
    topics: T.Table
    partitions: T.Table
    groups: T.Table
    events: tuple[ev.ClusterEvent, ...]
    rates: rt.Rates | None
    built_in: float  # seconds spent building tables
    health: hl.HealthCounts | None = None
    # row indexes into `partitions`, so a view can show one topic's or one broker's partitions
    # without scanning 50,000 rows on the GUI thread
    topic_rows: dict[str, tuple[int, int]] | None = None
    broker_rows: dict[int, list[int]] | None = None
    event_lines: tuple[tuple[float, str, str], ...] = ()  # (time, kind, text), summarised


def build_view_data(
    snapshot: ClusterSnapshot, previous: ClusterSnapshot | None, sort_specs: dict | None = None
) -> ViewData:
    """Everything the views need, built on the worker thread. `sort_specs` maps a table name to
    the (column, descending) its view is sorted by, so big tables arrive already ordered."""
    t0 = time.perf_counter()
    specs = sort_specs or {}
    overview = T.overview_table(snapshot)
    brokers = T.brokers_table(snapshot)
    topics = T.with_search(T.topics_table(snapshot))
    partitions = T.with_orders(T.with_search(T.partitions_table(snapshot)), [specs.get("partitions")])
    groups = T.with_search(T.groups_table(snapshot))
    events = tuple(ev.diff(previous, snapshot))
    rates = rt.rates(previous, snapshot) if previous is not None else None
    topic_rows: dict[str, tuple[int, int]] = {}
    broker_rows: dict[int, list[int]] = {}
    for i, row in enumerate(partitions.rows):
        first, _end = topic_rows.get(row[0], (i, i))
        topic_rows[row[0]] = (first, i + 1)
        for b in row[3][0]:
            lst = broker_rows.get(b)
            if lst is None:
                broker_rows[b] = [i]
            else:
                lst.append(i)
    return ViewData(
        snapshot,
        overview,
        brokers,
        topics,
        partitions,
        groups,
        events,
        rates,
        time.perf_counter() - t0,
        hl.health_counts(snapshot),
        topic_rows,
        broker_rows,
        tuple(ev.summarize(list(events))),
    )


class _Worker(QObject):
    view_data_ready = Signal(object)  # ViewData
    refresh_failed = Signal(object)  # PollFailure
    finished = Signal()

    def __init__(self, fetch: Callable[[], ClusterSnapshot], interval: float) -> None:
        super().__init__()
        self.sort_specs: dict = {}  # set from the GUI thread (whole-dict assignment)
        self._previous: ClusterSnapshot | None = None
        self.poller = Poller(self._fetch_and_build, interval=interval)
        self._fetch = fetch

    def _fetch_and_build(self) -> ViewData:
        snap = self._fetch()
        data = build_view_data(snap, self._previous, self.sort_specs)
        old, self._previous = self._previous, snap
        reaper.dispose(old)
        del old
        return data

    @Slot()
    def run(self) -> None:
        try:
            self.poller.run(self.view_data_ready.emit, self.refresh_failed.emit)
        finally:
            self.finished.emit()
            QThread.currentThread().quit()


_retiring: set = set()  # bridges whose worker threads are still finishing


def wait_for_retired(wait_ms: int = 15000) -> None:
    """At exit: give retiring worker threads a bounded time to end."""
    for b in list(_retiring):
        b._thread.wait(wait_ms)
        b._close_client()
    _retiring.clear()


class ClusterBridge(QObject):
    """Owns one worker thread polling one cluster."""

    snapshot_changed = Signal(object)  # ClusterSnapshot
    view_data_changed = Signal(object)  # ViewData
    refresh_failed = Signal(object)  # PollFailure
    cluster_recovered = Signal()

    def __init__(self, fetch: Callable[[], ClusterSnapshot], interval: float = 5.0, close=None, parent=None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("partita-poller")
        self._worker = _Worker(fetch, interval)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.view_data_ready.connect(self._on_data)
        self._worker.refresh_failed.connect(self._on_failure)
        self._close = close
        self._failing = False
        self.latest: ViewData | None = None
        self.last_failure: PollFailure | None = None

    @property
    def poller(self) -> Poller:
        return self._worker.poller

    def set_sort_specs(self, specs: dict) -> None:
        """Which (column, descending) each big table is shown sorted by; the worker sorts ahead."""
        self._worker.sort_specs = dict(specs)

    def start(self) -> None:
        self._thread.start()

    def refresh_now(self) -> None:
        self._worker.poller.refresh_now()

    def stop(self, wait_ms: int = 15000) -> bool:
        """Cancel polling and wait for the worker thread; True if it ended in time."""
        self._worker.poller.stop()
        if self._thread.isRunning():
            self._thread.quit()
            ended = self._thread.wait(wait_ms)
        else:
            ended = True
        if ended:
            self._close_client()
        return ended

    def retire(self) -> None:
        """Cancel polling without waiting (the GUI thread must not wait for a refresh stuck on an
        unreachable cluster): results still in flight are dropped, the client is closed and the
        bridge deleted once the worker thread has ended."""
        self._worker.poller.stop()
        for sig in (self._worker.view_data_ready, self._worker.refresh_failed):
            try:
                sig.disconnect()
            except (RuntimeError, TypeError):
                pass
        _retiring.add(self)
        if not self._thread.isRunning():
            self._finish_retire()
            return
        self._thread.finished.connect(self._finish_retire)
        self._thread.quit()

    def _finish_retire(self) -> None:
        self._close_client()
        _retiring.discard(self)
        self.deleteLater()

    def _close_client(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            try:
                close()
            except Exception:
                pass

    @Slot(object)
    def _on_data(self, data: ViewData) -> None:
        self.latest = data
        recovered = self._failing
        self._failing = False
        self.last_failure = None
        self.view_data_changed.emit(data)
        self.snapshot_changed.emit(data.snapshot)
        if recovered:
            self.cluster_recovered.emit()

    @Slot(object)
    def _on_failure(self, failure: PollFailure) -> None:
        self._failing = True
        self.last_failure = failure
        self.refresh_failed.emit(failure)


class TaskRunner(QObject):
    """Runs one-off blocking calls (local cluster actions, connection tests) on a worker thread, one
    at a time, with results delivered as queued signals."""

    task_done = Signal(str, object)  # task name, result
    task_failed = Signal(str, str)  # task name, message

    class _Exec(QObject):
        done = Signal(str, object)
        failed = Signal(str, str)

        @Slot(str, object)
        def execute(self, name, fn):
            try:
                result = fn()
            except Exception as e:
                self.failed.emit(name, str(e) or type(e).__name__)
            else:
                self.done.emit(name, result)

    _submit = Signal(str, object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("partita-tasks")
        self._exec = TaskRunner._Exec()
        self._exec.moveToThread(self._thread)
        self._submit.connect(self._exec.execute)
        self._exec.done.connect(self.task_done)
        self._exec.failed.connect(self.task_failed)
        self._thread.start()

    def submit(self, name: str, fn: Callable[[], object]) -> None:
        self._submit.emit(name, fn)

    def stop(self, wait_ms: int = 30000) -> bool:
        self._thread.quit()
        return self._thread.wait(wait_ms)
