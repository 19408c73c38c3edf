"""The bridge: refreshes run in a builder process, results arrive on the GUI thread, switching
clusters never waits for a stuck refresh, and no builder process outlives its bridge."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from partita.gui.qt.bridge import ClusterBridge
from partita.gui.qt.main_window import MainWindow
from partita.gui.services import builder_process
from partita.gui.services.settings import ConnectionSettings

from .fake_clusters import FakeCluster, calls, process_alive


def _no_builders_left() -> bool:
    """No child process of ours runs the builder (processes not yet waited for count too)."""
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, NotADirectoryError):
            continue
        if stat.rsplit(")", 1)[1].split()[1] != me:
            continue
        if stat.rsplit(")", 1)[1].split()[0] == "Z" or b"view_builder" in (entry / "cmdline").read_bytes():
            return False
    return True


def test_snapshots_are_built_in_a_builder_process_and_shown(qtbot, tmp_path):
    w = MainWindow(interval=0.2)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.first_data_arrived, timeout=20000):
        w.connect_client(FakeCluster(str(tmp_path)), ConnectionSettings(name="fake", bootstrap="h:1"))
    pid = w.bridge.builder_pid
    assert pid is not None and pid != os.getpid()
    assert set(calls(tmp_path)) == {pid}
    assert w.brokers.model.rowCount() == 3 and "fake" in w.windowTitle()
    assert w.latest.summary.partition_count == 3 and w.latest.summary.bootstrap == "h:1"
    qtbot.waitUntil(lambda: len(calls(tmp_path)) >= 3, timeout=10000)
    w.close()
    # closing the window closes the builder's client and ends the process
    assert (tmp_path / "closed").read_text() == str(pid)
    assert not process_alive(pid) and _no_builders_left()


def test_switching_away_from_a_hung_cluster_does_not_block(qtbot, tmp_path):
    w = MainWindow(interval=0.2)
    qtbot.addWidget(w)
    stuck_dir, other_dir = tmp_path / "stuck", tmp_path / "other"
    stuck_dir.mkdir()
    other_dir.mkdir()
    (stuck_dir / "hang").touch()
    w.connect_client(FakeCluster(str(stuck_dir), "stuck:1"), ConnectionSettings(name="stuck", bootstrap="h:1"))
    qtbot.waitUntil(lambda: len(calls(stuck_dir)) == 1, timeout=20000)
    stuck_pid = calls(stuck_dir)[0]
    t = time.monotonic()
    with qtbot.waitSignal(w.first_data_arrived, timeout=20000):
        w.connect_client(FakeCluster(str(other_dir), "other:2"), ConnectionSettings(name="other", bootstrap="h:2"))
    assert time.monotonic() - t < 5
    # the stuck builder is ended although its refresh never returns
    qtbot.waitUntil(lambda: not process_alive(stuck_pid), timeout=10000)
    (stuck_dir / "hang").unlink()
    qtbot.wait(500)
    # the stuck cluster's snapshot never reached the views
    assert w.latest.summary.bootstrap == "other:2" and w.settings.name == "other"
    w.close()
    assert _no_builders_left()


def test_stop_and_retire_leave_no_builder_process(qtbot, tmp_path):
    pids = []
    for how in ("stop", "retire"):
        bridge = ClusterBridge(FakeCluster(str(tmp_path)), interval=0.2)
        with qtbot.waitSignal(bridge.view_data_changed, timeout=20000):
            bridge.start()
        pid = bridge.builder_pid
        assert process_alive(pid)
        if how == "stop":
            assert bridge.stop()
        else:
            bridge.retire()
        qtbot.waitUntil(lambda pid=pid: not process_alive(pid), timeout=10000)
        pids.append(pid)
    assert pids[0] != pids[1] and _no_builders_left()


def test_failures_back_off_and_recovery_is_reported(qtbot, tmp_path):
    (tmp_path / "fail").write_text("connection refused by h:1")
    bridge = ClusterBridge(FakeCluster(str(tmp_path)), interval=0.2)
    bridge.poller.first_retry = 0.1
    bridge.poller.max_backoff = 0.4
    failures = []
    bridge.refresh_failed.connect(failures.append)
    bridge.start()
    try:
        qtbot.waitUntil(lambda: len(failures) >= 4, timeout=20000)
        assert [f.failures for f in failures[:4]] == [1, 2, 3, 4]
        assert [f.retry_in for f in failures[:4]] == [0.1, 0.2, 0.4, 0.4]
        assert all(f.reason == "connection refused by h:1" for f in failures)
        assert len({f.since for f in failures}) == 1 and bridge.last_failure is failures[-1]
        # a failed refresh is the cluster's failure, not the builder's: the same process goes on
        assert bridge.builders_started == 1 and set(calls(tmp_path)) == {bridge.builder_pid}
        with qtbot.waitSignal(bridge.cluster_recovered, timeout=20000):
            (tmp_path / "fail").unlink()
        assert bridge.last_failure is None and bridge.latest is not None
    finally:
        assert bridge.stop()


def test_a_builder_that_dies_is_reported_and_replaced(qtbot, tmp_path):
    bridge = ClusterBridge(FakeCluster(str(tmp_path)), interval=0.2)
    bridge.poller.first_retry = 0.1
    failures = []
    bridge.refresh_failed.connect(failures.append)
    try:
        with qtbot.waitSignal(bridge.view_data_changed, timeout=20000):
            bridge.start()
        # killed from outside (the OOM killer, an operator's kill -9)
        first = bridge.builder_pid
        with qtbot.waitSignal(bridge.refresh_failed, timeout=20000):
            os.kill(first, signal.SIGKILL)
        assert "builder process ended (killed by signal 9)" in failures[0].reason
        with qtbot.waitSignal(bridge.cluster_recovered, timeout=20000):
            pass
        second = bridge.builder_pid
        assert second not in (None, first) and not process_alive(first)
        # dead in the middle of a refresh
        (tmp_path / "crash").touch()
        with qtbot.waitSignal(bridge.refresh_failed, timeout=20000):
            bridge.refresh_now()
        assert "builder process ended (exit code 3)" in failures[-1].reason
        with qtbot.waitSignal(bridge.cluster_recovered, timeout=20000):
            pass
        assert bridge.builders_started == 3 and not process_alive(second)
    finally:
        assert bridge.stop()
    assert _no_builders_left()


def test_sort_specs_reach_the_builder(qtbot, tmp_path):
    bridge = ClusterBridge(FakeCluster(str(tmp_path), partitions=500), interval=0.2)
    bridge.set_sort_specs({"partitions": (9, True)})
    try:
        with qtbot.waitSignal(bridge.view_data_changed, timeout=20000):
            bridge.start()
        orders = bridge.latest.partitions.orders
        assert list(orders) == [(9, True)]
        ends = [bridge.latest.partitions.rows[i][9] for i in orders[(9, True)]]
        assert ends == sorted(ends, reverse=True) and len(ends) == 500
        bridge.set_sort_specs({"partitions": (1, False)})
        qtbot.waitUntil(lambda: list(bridge.latest.partitions.orders) == [(1, False)], timeout=10000)
    finally:
        assert bridge.stop()


def test_a_prestarted_builder_serves_the_first_connection_and_an_unused_one_is_ended(qtbot, tmp_path):
    builder_process.prestart()
    spare = builder_process._spare.popen.pid
    bridge = ClusterBridge(FakeCluster(str(tmp_path)), interval=0.2)
    try:
        with qtbot.waitSignal(bridge.view_data_changed, timeout=20000):
            bridge.start()
        assert bridge.builder_pid == spare and calls(tmp_path) == [spare] and bridge.builders_started == 1
    finally:
        assert bridge.stop()
    # one started for a console that then never connects (the profile was missing) ends at exit
    builder_process.prestart()
    unused = builder_process._spare.popen.pid
    builder_process._discard_spare()
    assert not process_alive(unused) and _no_builders_left()


def test_a_factory_the_builder_cannot_import_fails_every_refresh_with_the_reason(qtbot, tmp_path, monkeypatch):
    # a factory class the GUI process could import, gone before the builder imports it
    module = tmp_path / "vanishing_factory.py"
    module.write_text("class Factory:\n    def __call__(self):\n        raise AssertionError('never made')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import vanishing_factory

    factory = vanishing_factory.Factory()
    module.unlink()  # still in our sys.modules, so it pickles; the builder finds no file
    bridge = ClusterBridge(factory, interval=0.2)
    bridge.poller.first_retry = 0.1
    failures = []
    bridge.refresh_failed.connect(failures.append)
    try:
        bridge.start()
        qtbot.waitUntil(lambda: len(failures) >= 2, timeout=20000)
        assert all("cannot load the connection's client factory" in f.reason for f in failures), [f.reason for f in failures]
        assert "vanishing_factory" in failures[0].reason
        # the builder stays (the failure is the factory's, not the process's)
        assert bridge.builders_started == 1
    finally:
        assert bridge.stop()
        del sys.modules["vanishing_factory"]
    assert _no_builders_left()
