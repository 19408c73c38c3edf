"""The main window when its cluster stops answering: a banner says so, the last known state
stays on screen, and the console reconnects by itself once the cluster is back.

On the engine: to the console a refused connection is the same whoever refuses it, and an
engine broker restarts in a fraction of the second a Kafka JVM needs."""

from __future__ import annotations

from .test_window_kafka import model_rows, wait_until


def test_unreachable_cluster_shows_banner_keeps_last_state_and_recovers(make_engine, connected_window, qtbot):
    cluster = make_engine(brokers=1)
    window = connected_window(cluster)
    wait_until(qtbot, lambda: window.brokers.model.rowCount() == 1)
    cluster.kill(1)
    try:
        wait_until(qtbot, lambda: window.banner.isVisible(), timeout=60)
        text = window.banner.label.text()
        assert "unreachable" in text and "last known state" in text and "Retrying" in text
        # said after the first try: with every broker refusing, a second one would only wait out its timeout
        assert "all brokers are down" in text
        # the last known state stays on screen through the retries (the window refreshes every 0.5 s)
        before = window.latest
        qtbot.wait(2000)
        assert window.banner.isVisible() and window.latest is before
        assert window.brokers.model.rowCount() == 1
        assert model_rows(window.brokers.model)[0]["State"] == "up"
    finally:
        cluster.start(1)
    wait_until(qtbot, lambda: not window.banner.isVisible() and window.latest is not before, timeout=90)
