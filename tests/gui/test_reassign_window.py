"""Reassign in the window, on a real engine cluster: a replica dragged onto another broker,
run, followed to the end; a throttled one cancelled; the throttles removed afterwards."""

from __future__ import annotations

from confluent_kafka import Producer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from partita.gui.qt.bindings import Qt
from tests.engine.helpers import create_topic

from .test_reassign_view import replica_index
from .test_window_kafka import wait_until


def _status(window, topic: str) -> str | None:
    model = window.reassign.plan_model
    for row in range(model.rowCount()):
        if model.data(model.index(row, 0)) == topic:
            return model.data(model.index(row, model.columnCount() - 1))
    return None


def _set_configs(bootstrap: str, broker: int) -> dict[str, str]:
    kp = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        described = kp.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(broker))])
        return {k: v["value"] for k, v in described["broker"][str(broker)].items()}
    finally:
        kp.close()


def _fill(bootstrap: str, topic: str, records: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for _ in range(records):
        producer.produce(topic, b"r" * 1000)
    producer.flush(30)


def test_drag_run_follow_and_cancel_a_reassignment(make_engine, connected_window, qtbot, topic_name):
    cluster = make_engine(brokers=2, racks=["a", "b"], log_dirs=1)
    fast, slow = f"{topic_name}-fast", f"{topic_name}-slow"
    for topic in (fast, slow):
        create_topic(cluster, topic, partitions=1, replication_factor=1)
    _fill(cluster.bootstrap, slow, 10_000)  # 10 MB: ten seconds at the throttle below
    window = connected_window(cluster)
    view = window.reassign
    window.tabs.setCurrentWidget(view)
    wait_until(qtbot, lambda: view.layout_model.rowCount() == 2)
    model = view.layout_model

    def drag(topic: str) -> tuple[int, int]:
        source = next(b for b in (1, 2) if any(
            model.data(model.index(r, 0, model.broker_index(b))) == f"{topic}-0"
            for r in range(model.rowCount(model.broker_index(b)))))
        target = 3 - source
        mime = model.mimeData([replica_index(model, source, f"{topic}-0")])
        assert model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, model.broker_index(target))
        return source, target

    # unthrottled: runs to the end, and the tree follows the partition to its new broker
    _, target = drag(fast)
    view.throttle.setValue(0)
    view.run()
    wait_until(qtbot, lambda: _status(window, fast) == "done", timeout=30)
    assert f"{fast}-0" in [model.data(model.index(r, 0, model.broker_index(target)))
                           for r in range(model.rowCount(model.broker_index(target)))]
    view.clear()

    # throttled to 1 MB/s: still running when cancelled
    source, target = drag(slow)
    view.throttle.setValue(1)
    view.run()
    wait_until(qtbot, lambda: _status(window, slow) == "running", timeout=30)
    assert window.reassign.running_model.rowCount() == 1
    assert _set_configs(cluster.bootstrap, target)["follower.replication.throttled.rate"] == "1000000"
    view.cancel()
    wait_until(qtbot, lambda: _status(window, slow) == "cancelled", timeout=30)
    # window.latest is set once every view has the refresh, a moment after this view has it
    wait_until(qtbot, lambda: window.latest.partition_state((slow, 0)).replicas == (source,), timeout=10)
    # nothing runs any more: the console removes the throttles it set
    wait_until(qtbot, lambda: "follower.replication.throttled.rate" not in _set_configs(cluster.bootstrap, target),
               timeout=30)
    assert "throttles removed" in view.message.text()


def test_leaders_go_back_to_their_preferred_replicas_on_request(make_engine, connected_window, qtbot, topic_name):
    # the engine moves them back by itself every leader.imbalance.check.interval.seconds, as Kafka
    # does; switched off here, the console's election is what moves them
    cluster = make_engine(brokers=3, racks=["a", "b", "c"], settings={"auto.leader.rebalance.enable": "false"})
    create_topic(cluster, topic_name, partitions=3, replication_factor=3)
    cluster.kill(1)
    cluster.start(1)
    window = connected_window(cluster)
    view = window.reassign

    def on_preferred() -> list[bool]:
        return [r[2] == r[3][0][0] for r in window.latest.partitions.rows if r[0] == topic_name]

    wait_until(qtbot, lambda: view.elect_button.isEnabled() and sum(on_preferred()) < 3, timeout=30)
    assert "Leaders not on their preferred replica" in dict(window.latest.overview.rows)
    view.elect_preferred()
    wait_until(qtbot, lambda: all(on_preferred()) and not view.elect_button.isEnabled(), timeout=30)
    assert view.message.text() == "Preferred leaders elected"
