"""The local cluster panel driving the engine's launcher, with effects seen through the Kafka protocol."""

from __future__ import annotations

import pytest

from partita.gui.qt.main_window import MainWindow
from partita.gui.services.local_cluster import LocalCluster

from .test_window_kafka import model_rows, wait_until

pytest.importorskip("partita.engine.cluster.launcher")


@pytest.fixture
def local_window(qtbot, tmp_path):
    local = LocalCluster("test", directory=tmp_path / "cluster")
    w = MainWindow(interval=1.0, request_timeout=4.0, max_backoff=2.0)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w, local
    w.close()
    try:
        local.stop()
    except Exception:
        pass


def test_local_cluster_starts_and_panel_kills_and_restarts_brokers_and_racks(local_window, qtbot):
    w, local = local_window
    with qtbot.waitSignal(w.first_data_arrived, timeout=90000):
        w.start_local(local)
    panel = w.local_panel
    assert panel is not None
    wait_until(qtbot, lambda: panel.model.rowCount() == 3 and w.brokers.model.rowCount() == 3)
    assert [(b["Id"], b["Rack"], b["State"]) for b in model_rows(w.brokers.model)] == [
        ("1", "a", "up"),
        ("2", "b", "up"),
        ("3", "c", "up"),
    ]
    procs = model_rows(panel.model)
    assert all(p["PID"] for p in procs)

    # kill broker 2 from the panel
    assert panel.table.select_key(2)
    wait_until(qtbot, lambda: panel.kill_button.isEnabled())
    panel.kill_button.click()
    wait_until(qtbot, lambda: next(p for p in model_rows(panel.model) if p["Broker"] == "2")["PID"] == "", timeout=30)
    wait_until(
        qtbot,
        lambda: next(b for b in model_rows(w.brokers.model) if b["Id"] == "2")["State"] == "DOWN",
        timeout=60,
    )
    # start it again
    assert panel.table.select_key(2)
    wait_until(qtbot, lambda: panel.start_button.isEnabled())
    panel.start_button.click()
    wait_until(
        qtbot,
        lambda: all(b["State"] == "up" for b in model_rows(w.brokers.model)) and w.brokers.model.rowCount() == 3,
        timeout=60,
    )

    # kill rack c
    panel.rack_box.setCurrentText("c")
    wait_until(qtbot, lambda: panel.kill_rack_button.isEnabled())
    panel.kill_rack_button.click()
    wait_until(
        qtbot,
        lambda: next(b for b in model_rows(w.brokers.model) if b["Id"] == "3")["State"] == "DOWN",
        timeout=60,
    )
    assert "kill rack c: done" in panel.message.text()
