"""The bridge: results arrive on the GUI thread; switching clusters never waits for a stuck refresh."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from partita.gui.qt.main_window import MainWindow
from partita.gui.services.settings import ConnectionSettings

from .factories import snapshot


class FakeClient:
    def __init__(self, hang: threading.Event | None = None, bootstrap: str = "h:1"):
        self.hang = hang
        self.bootstrap = bootstrap
        self.closed = threading.Event()
        self.calls = 0
        self.threads = set()

    def snapshot(self):
        self.calls += 1
        self.threads.add(threading.get_ident())
        if self.hang is not None:
            self.hang.wait(30)
        return replace(snapshot(taken_at=time.time()), bootstrap=self.bootstrap)

    def close(self):
        self.closed.set()


def test_snapshots_are_fetched_off_the_gui_thread_and_shown(qtbot):
    w = MainWindow(interval=0.2)
    qtbot.addWidget(w)
    client = FakeClient()
    with qtbot.waitSignal(w.first_data_arrived, timeout=10000):
        w.connect_client(client, ConnectionSettings(name="fake", bootstrap="h:1"))
    assert threading.get_ident() not in client.threads
    assert w.brokers.model.rowCount() == 3 and "fake" in w.windowTitle()
    qtbot.waitUntil(lambda: client.calls >= 3, timeout=10000)
    w.close()
    assert client.closed.is_set()


def test_switching_away_from_a_hung_cluster_does_not_block(qtbot):
    w = MainWindow(interval=0.2)
    qtbot.addWidget(w)
    release = threading.Event()
    stuck = FakeClient(hang=release, bootstrap="stuck:1")
    w.connect_client(stuck, ConnectionSettings(name="stuck", bootstrap="h:1"))
    qtbot.waitUntil(lambda: stuck.calls == 1, timeout=5000)
    t = time.monotonic()
    other = FakeClient(bootstrap="other:2")
    with qtbot.waitSignal(w.first_data_arrived, timeout=10000):
        w.connect_client(other, ConnectionSettings(name="other", bootstrap="h:2"))
    assert time.monotonic() - t < 5
    release.set()
    qtbot.waitUntil(stuck.closed.is_set, timeout=10000)
    # the stuck cluster's late snapshot never reached the views
    qtbot.wait(500)
    assert w.latest.snapshot.bootstrap == "other:2" and w.settings.name == "other"
    w.close()
