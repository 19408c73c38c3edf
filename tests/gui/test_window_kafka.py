"""The main window against real Apache Kafka: what an operator sees in the views."""

from __future__ import annotations

import time

import pytest

from partita.gui.qt.main_window import MainWindow
from partita.gui.services.settings import ConnectionSettings

from .conftest import consume_and_commit, create_topic, produce

pytestmark = pytest.mark.kafka


def wait_until(qtbot, predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        qtbot.wait(200)


def model_rows(model):
    cols = [c.title for c in model.columns]
    return [
        dict(zip(cols, [model.data(model.index(r, c)) for c in range(len(cols))], strict=True))
        for r in range(model.rowCount())
    ]


@pytest.fixture
def window(qtbot):
    w = MainWindow(interval=1.0, request_timeout=4.0, max_backoff=2.0)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w
    w.close()


def test_window_shows_brokers_racks_topic_partitions_and_failover(apache_kafka_cluster, window, qtbot, topic_name):
    bootstrap = apache_kafka_cluster.bootstrap
    create_topic(bootstrap, topic_name, partitions=6, rf=3)
    with qtbot.waitSignal(window.first_data_arrived, timeout=60000):
        window.connect_to(ConnectionSettings(bootstrap=bootstrap))
    wait_until(qtbot, lambda: window.brokers.model.rowCount() == 3)
    brokers = model_rows(window.brokers.model)
    assert [(b["Id"], b["Rack"], b["State"]) for b in brokers] == [("1", "a", "up"), ("2", "b", "up"), ("3", "c", "up")]
    racks = model_rows(window.rack_audit.model)
    assert [(r["Fault domain"], r["Brokers"], r["Down"]) for r in racks] == [("a", "1", "0"), ("b", "2", "0"), ("c", "3", "0")]

    topics_panel = window.topics
    assert topics_panel.topics.select_key(topic_name)
    wait_until(qtbot, lambda: window.topics.model.rowCount() == 6)
    rows = model_rows(window.topics.model)
    assert all(len(r["Replicas"].split(",")) == 3 and r["Replicas"].count("L") == 1 for r in rows)
    assert all(r["Replicas"].split(",")[[x.rstrip("L") for x in r["Replicas"].split(",")].index(r["Leader"])].endswith("L") for r in rows)
    assert all(r["Flags"] == "" for r in rows)

    # selecting a broker lists its partitions
    window.brokers.table.select_key(2)
    wait_until(qtbot, lambda: window.brokers.partitions_model.rowCount() > 0)
    assert all("2" in r["Replicas"].replace("L", "").split(",") for r in model_rows(window.brokers.partitions_model))

    # kill broker 3: its partitions become under-replicated and its leaderships move, in the models
    victim = 3
    had_leaders = [r["Partition"] for r in rows if r["Leader"] == str(victim)]
    assert had_leaders
    window.topics.partitions.view.selectRow(0)
    selected_key = window.topics.partitions.current_key()
    apache_kafka_cluster.kill(victim)
    try:
        def failed_over():
            rs = model_rows(window.topics.model)
            # the rows the builder process sent: every partition of the topic has a live leader
            # (checked in the same wait: a snapshot may land between two reads of the window)
            leaders = [r[2] for r in window.latest.partitions.rows if r[0] == topic_name]
            return (len(rs) == 6 and all(r["Leader"] != str(victim) and "URP" in r["Flags"] for r in rs)
                    and len(leaders) == 6 and all(leader not in (victim, None) for leader in leaders))

        wait_until(qtbot, failed_over, timeout=60)
        rows = model_rows(window.topics.model)
        assert all(r["Out of sync"] == str(victim) and r["Offline replicas"] == str(victim) for r in rows)
        b3 = [b for b in model_rows(window.brokers.model) if b["Id"] == str(victim)][0]
        assert b3["State"] == "DOWN" and b3["Rack"] == "c" and b3["Leaders"] == "0"
        assert any("leader" in t for t in window.overview.event_texts())
        assert int(window.overview.tiles["down"].value.text()) == 1
        # with rack c down, losing rack a would leave the topic's partitions one in-sync copy
        wait_until(qtbot, lambda: model_rows(window.rack_audit.model)[2]["Down"] == "1")
        window.rack_audit.racks.select_key("a")
        at_risk = {r["Partition"]: r["If it fails"] for r in model_rows(window.rack_audit.risks_model)
                   if r["Topic"] == topic_name}
        assert at_risk == dict.fromkeys(map(str, range(6)), "ONE COPY")
        # the operator's selection survived the refreshes
        assert window.topics.partitions.current_key() == selected_key
    finally:
        apache_kafka_cluster.start(victim)
        apache_kafka_cluster.wait_ready()
    wait_until(
        qtbot,
        lambda: all(r["Flags"] == "" for r in model_rows(window.topics.model))
        and all(b["State"] == "up" for b in model_rows(window.brokers.model)),
        timeout=90,
    )


def test_group_lag_in_model_equals_produced_minus_committed(apache_kafka_cluster, window, qtbot, topic_name):
    bootstrap = apache_kafka_cluster.bootstrap
    create_topic(bootstrap, topic_name, partitions=3, rf=3)
    produce(bootstrap, topic_name, 450, partitions=3)
    group_id = f"{topic_name}-lag"
    consumer = consume_and_commit(bootstrap, topic_name, group_id, 450)
    try:
        produce(bootstrap, topic_name, 75, partitions=3)  # produced 525, committed 450
        window.connect_to(ConnectionSettings(bootstrap=bootstrap))

        def group_row():
            return next((r for r in model_rows(window.groups.model) if r["Group"] == group_id), None)

        wait_until(qtbot, lambda: group_row() is not None and group_row()["Total lag"] == "75", timeout=60)
        assert group_row()["Members"] == "1" and group_row()["State"] == "Stable"
        assert window.groups.groups.select_key(group_id)
        wait_until(qtbot, lambda: window.groups.lag_model.rowCount() == 3)
        lag_rows = model_rows(window.groups.lag_model)
        assert sum(int(r["Lag"]) for r in lag_rows) == 75
        assert sum(int(r["End offset"]) - int(r["Committed"]) for r in lag_rows) == 525 - 450
        assert {r["Client id"] for r in lag_rows} == {f"{group_id}-client"}
        assert window.groups.members_model.rowCount() == 1
    finally:
        consumer.close()


def _run_partita(args, env_extra, timeout=150):
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "partita.gui.app", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_screenshot_mode_renders_every_view_and_exits(apache_kafka, tmp_path):
    out = tmp_path / "shots"
    r = _run_partita(["--bootstrap", apache_kafka.bootstrap, "--screenshot", str(out), "--interval", "1"], {})
    assert r.returncode == 0, r.stderr[-2000:]
    for view in ("overview", "brokers", "rack_audit", "reassign", "topics", "groups", "history"):
        png = out / f"{view}.png"
        assert png.exists() and png.stat().st_size > 10_000, view
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_profile_option_connects_with_a_saved_profile(apache_kafka, tmp_path):
    from partita.gui.services.profiles import ProfileStore
    from partita.gui.services.settings import ConnectionSettings

    data = tmp_path / "data"
    data.mkdir()
    import os

    old = os.environ.get("PARTITA_DATA_DIR")
    os.environ["PARTITA_DATA_DIR"] = str(data)
    try:
        ProfileStore().save(ConnectionSettings(name="ref", bootstrap=apache_kafka.bootstrap))
    finally:
        if old is None:
            del os.environ["PARTITA_DATA_DIR"]
        else:
            os.environ["PARTITA_DATA_DIR"] = old
    out = tmp_path / "shots"
    r = _run_partita(["--profile", "ref", "--screenshot", str(out), "--interval", "1"], {"PARTITA_DATA_DIR": str(data)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out / "brokers.png").exists()
    bad = _run_partita(["--profile", "nope"], {"PARTITA_DATA_DIR": str(data)})
    assert bad.returncode == 2 and "no profile named 'nope'" in bad.stderr
