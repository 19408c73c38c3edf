"""History in the window, on a real engine cluster: a broker killed and restarted is there to
replay afterwards — the counts over time, the events, and the flagged partitions at the moment
picked — read from the SQLite file the builder process wrote."""

from __future__ import annotations

from partita.gui.services.history import HistoryStore
from tests.engine.helpers import create_topic

from .conftest import consume_and_commit, produce
from .test_window_kafka import model_rows, wait_until


def test_a_broker_failure_can_be_replayed_from_the_history(make_engine, connected_window, qtbot, topic_name, tmp_path,
                                                         monkeypatch):
    monkeypatch.setenv("PARTITA_DATA_DIR", str(tmp_path))  # the builder process inherits it
    cluster = make_engine(brokers=3, racks=["a", "b", "c"])
    create_topic(cluster, topic_name, partitions=3, replication_factor=3)
    produce(cluster.bootstrap, topic_name, 100)
    consume_and_commit(cluster.bootstrap, topic_name, "replayed-group", 40).close()  # behind by the rest
    window = connected_window(cluster)
    history = window.history
    cluster.kill(3)
    wait_until(qtbot, lambda: window.latest.health.brokers_down == 1, timeout=30)
    cluster.start(3)
    wait_until(qtbot, lambda: window.latest.health.brokers_down == 0 and window.latest.health.under_replicated == 0,
               timeout=30)

    window.tabs.setCurrentWidget(history)  # shown: it reads the file
    wait_until(qtbot, lambda: any(r["What"] == "broker 3 down" for r in model_rows(history.events_model)),
               timeout=20)
    events = model_rows(history.events_model)
    assert any(r["What"] == "broker 3 up" for r in events)
    assert max(s.brokers_down for s in history.samples) == 1 and history.samples[-1].brokers_down == 0
    # the moment broker 3 went down: the topic's partitions were under-replicated then
    down_row = next(i for i, r in enumerate(events) if r["What"] == "broker 3 down")
    history.events_panel.select_key(down_row)
    wait_until(qtbot, lambda: history.problems_model.rowCount() > 0, timeout=20)
    flagged = {(r["Topic"], r["Partition"]): r for r in model_rows(history.problems_model)}
    assert {(topic_name, str(p)) for p in range(3)} <= set(flagged)
    assert all("URP" in r["Flags"] and "3" not in r["ISR"].split(",")
               for (t, _), r in flagged.items() if t == topic_name)
    # the group's lag: a total in every refresh, the group itself among the most lagging, as the
    # groups view shows it live
    [live] = [r for r in model_rows(window.groups.model) if r["Group"] == "replayed-group"]
    assert int(live["Total lag"]) > 0 and history.samples[-1].total_lag == int(live["Total lag"])
    wait_until(qtbot, lambda: model_rows(history.lag_model) == [{"Group": "replayed-group",
                                                                  "Total lag": live["Total lag"]}], timeout=20)
    # and the file is the builder's, under the cluster's id
    with HistoryStore(tmp_path / "history.db") as store:
        assert [c.cluster for c in store.clusters()] == [window.latest.summary.cluster_id]
