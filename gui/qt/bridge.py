"""Runs the poller on a worker thread, the refreshes in a builder process, and hands results to
the GUI thread.

The builder process (partita.gui.services.view_builder) does everything that grows with the
cluster: requests, snapshot assembly, table projections, diffs, rates. The worker thread only
waits for its answer on the socket and passes the frames on, still pickled, as a queued signal;
the GUI thread unpickles them a few milliseconds per event-loop turn (stepwise.py) and then
swaps the finished tables into models.
"""

from __future__ import annotations

from collections.abc import Callable

from partita.gui.domain.view_data import ViewData
from partita.gui.services.builder_process import BuilderProcess, Received
from partita.gui.services.poller import Poller, PollFailure

from .bindings import QObject, QThread, Signal, Slot
from .stepwise import StepwiseAssembler, TransferStats

__all__ = ["ClusterBridge", "TaskRunner", "ViewData", "wait_for_retired"]


class _Worker(QObject):
    frames_received = Signal(object)  # Received: one refresh's ViewData, still pickled
    refresh_failed = Signal(object)  # PollFailure
    finished = Signal()

    def __init__(self, client_factory: Callable[[], object], interval: float) -> None:
        super().__init__()
        self.sort_specs: dict = {}  # set from the GUI thread (whole-dict assignment)
        self.builder = BuilderProcess(client_factory)
        self.poller = Poller(self._refresh, interval=interval)

    def _refresh(self) -> Received:
        return self.builder.refresh(self.sort_specs, cancelled=lambda: self.poller.stopped)

    @Slot()
    def run(self) -> None:
        try:
            self.poller.run(self.frames_received.emit, self.refresh_failed.emit)
        finally:
            self.builder.stop()  # here, so that the GUI thread never waits for the builder to exit
            self.finished.emit()
            QThread.currentThread().quit()


_retiring: set = set()  # bridges whose worker threads are still finishing


def wait_for_retired(wait_ms: int = 15000) -> None:
    """At exit: give retiring worker threads (and so their builder processes) a bounded time to end."""
    for b in list(_retiring):
        b._thread.wait(wait_ms)
    _retiring.clear()


class ClusterBridge(QObject):
    """Owns one worker thread and one builder process polling one cluster.

    `client_factory` is a picklable callable that makes, in the builder process, an object with
    snapshot() (a ClusterSnapshot) and optionally close(): KafkaClientFactory for a connection
    profile, a generated cluster in the scale bench, fakes in tests."""

    # the small facts of the snapshot (ClusterSummary); the snapshot itself stays in the builder
    snapshot_changed = Signal(object)  # ClusterSummary
    view_data_changed = Signal(object)  # ViewData
    refresh_failed = Signal(object)  # PollFailure
    cluster_recovered = Signal()

    def __init__(self, client_factory: Callable[[], object], interval: float = 5.0, parent=None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("partita-poller")
        self._worker = _Worker(client_factory, interval)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.frames_received.connect(self._on_frames)
        self._worker.refresh_failed.connect(self._on_failure)
        self._assembler = StepwiseAssembler(self)
        self._assembler.assembled.connect(self._on_data)
        self._failing = False
        self.latest: ViewData | None = None
        self.last_failure: PollFailure | None = None
        self.last_transfer: TransferStats | None = None

    @property
    def poller(self) -> Poller:
        return self._worker.poller

    @property
    def builder_pid(self) -> int | None:
        """The builder process's pid while it runs."""
        return self._worker.builder.pid

    @property
    def builders_started(self) -> int:
        return self._worker.builder.started

    def set_sort_specs(self, specs: dict) -> None:
        """Which (column, descending) each big table is shown sorted by; sent with every refresh
        request, so the builder sorts ahead."""
        self._worker.sort_specs = dict(specs)

    def start(self) -> None:
        self._thread.start()

    def refresh_now(self) -> None:
        self._worker.poller.refresh_now()

    def stop(self, wait_ms: int = 15000) -> bool:
        """Cancel polling and wait for the worker thread, which stops the builder process; True
        if it ended in time."""
        self._worker.poller.stop()
        self._assembler.cancel()
        if self._thread.isRunning():
            self._thread.quit()
            return self._thread.wait(wait_ms)
        return True

    def retire(self) -> None:
        """Cancel polling without waiting (the GUI thread must not wait for a refresh stuck on an
        unreachable cluster): results still in flight are dropped; the worker thread stops the
        builder process, and the bridge is deleted once that thread has ended."""
        self._worker.poller.stop()
        self._assembler.cancel()
        for sig in (self._worker.frames_received, self._worker.refresh_failed):
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
        _retiring.discard(self)
        self.deleteLater()

    @Slot(object)
    def _on_frames(self, received: Received) -> None:
        self._assembler.start(received)

    @Slot(object, object)
    def _on_data(self, data: ViewData, transfer: TransferStats) -> None:
        self.last_transfer = transfer
        self.latest = data
        recovered = self._failing
        self._failing = False
        self.last_failure = None
        self.view_data_changed.emit(data)
        self.snapshot_changed.emit(data.summary)
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
