"""The console's reassignments on real clusters: started with a throttle, seen while they run,
cancelled, refused with the cluster's reason, throttles removed — on the engine and on Kafka."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from partita.gui.domain import reassignment as rp
from partita.gui.services.cluster_client import ClusterClient, KafkaReader
from partita.gui.services.reassignment import FOLLOWER_REPLICAS, LEADER_REPLICAS, ReassignmentRunner
from partita.gui.services.settings import ConnectionSettings
from tests.engine.helpers import create_topic, wait_for


def _snapshot(cluster):
    client = ClusterClient(KafkaReader(ConnectionSettings(bootstrap=cluster.bootstrap), timeout=5))
    try:
        return client.snapshot()
    finally:
        client.close()


def _state(snapshot, topic: str, partition: int = 0) -> rp.PartitionState:
    p = snapshot.partitions_by_key[(topic, partition)]
    t = snapshot.topics_by_name[topic]
    return rp.PartitionState(topic, partition, p.leader, p.replicas, p.isr, p.size_bytes, t.min_insync_replicas)


def _dynamic(cluster, kind: ConfigResourceType, name_: str) -> dict[str, str]:
    kp = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        described = kp.describe_configs([ConfigResource(kind, name_)])  # the configs set, not defaults
        return {key: entry["value"] for key, entry in described[kind.name.lower()][name_].items()}
    finally:
        kp.close()


def test_a_throttled_move_runs_is_seen_running_and_cancels_back_on_the_engine(make_engine, topic_name):
    cluster = make_engine(brokers=2, racks=["a", "b"], log_dirs=1)
    topic = topic_name
    create_topic(cluster, topic, partitions=1, replication_factor=1)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 5})
    for _ in range(3000):
        producer.produce(topic, b"z" * 1000)
    producer.flush(30)
    before = _snapshot(cluster)
    s = _state(before, topic)
    [source] = s.replicas
    target = next(b.node_id for b in before.brokers if b.node_id != source)
    plan = rp.move_replica(rp.Plan(), s, source, target, [b.node_id for b in before.brokers])
    runner = ReassignmentRunner(ConnectionSettings(bootstrap=cluster.bootstrap))
    try:
        started = runner.start(list(plan.moves), throttle_bytes_per_s=100_000)
        assert started.refused == {} and started.throttled_brokers == (1, 2) and started.throttled_topics == (topic,)
        assert _dynamic(cluster, ConfigResourceType.BROKER, str(target))["follower.replication.throttled.rate"] \
            == "100000"
        assert _dynamic(cluster, ConfigResourceType.TOPIC, topic) == {
            LEADER_REPLICAS: f"0:{source}", FOLLOWER_REPLICAS: f"0:{target}"}
        # the next refresh lists it in progress: 3 MB at 100 kB/s take half a minute
        running = wait_for(lambda: _snapshot(cluster).reassignments, "the move to be listed")
        assert [(r.topic, r.partition, r.adding, r.removing) for r in running] == [(topic, 0, (target,), (source,))]
        assert runner.cancel([(topic, 0)]) == {}
        after = wait_for(lambda: (snap := _snapshot(cluster)).reassignments == () and snap, "the move to end")
        assert after.partitions_by_key[(topic, 0)].replicas == (source,)
        runner.clear_throttles(started.throttled_brokers, started.throttled_topics)
        assert "follower.replication.throttled.rate" not in _dynamic(cluster, ConfigResourceType.BROKER, str(target))
        assert LEADER_REPLICAS not in _dynamic(cluster, ConfigResourceType.TOPIC, topic)
        # a cancel of what no longer runs is not an error
        assert runner.cancel([(topic, 0)]) == {}
    finally:
        runner.close()


def test_moves_run_to_the_end_and_an_impossible_one_is_refused_with_the_reason(three_brokers, topic_name):
    cluster = three_brokers
    topic = topic_name
    create_topic(cluster, topic, partitions=2, replication_factor=1)
    snap = _snapshot(cluster)
    ids = [b.node_id for b in snap.brokers]
    s0, s1 = _state(snap, topic, 0), _state(snap, topic, 1)
    [source] = s0.replicas
    target = next(b for b in ids if b != source)
    plan = rp.move_replica(rp.Plan(), s0, source, target, ids)
    impossible = rp.Move(s1, (42,))  # what a stale plan can hold: a broker that has since gone
    runner = ReassignmentRunner(ConnectionSettings(bootstrap=cluster.bootstrap))
    try:
        started = runner.start([*plan.moves, impossible])
        assert list(started.refused) == [(topic, 1)]
        assert started.refused[(topic, 1)].startswith("InvalidReplicationAssignmentError")
        done = wait_for(lambda: (snap := _snapshot(cluster)).partitions_by_key[(topic, 0)].replicas == (target,)
                     and snap.reassignments == () and snap, "the move to finish")
        [m] = plan.moves
        assert rp.move_status(m, _state(done, topic, 0), False, None, submitted=True) == rp.DONE
        assert done.partitions_by_key[(topic, 1)].replicas == s1.replicas
    finally:
        runner.close()


def test_an_unreachable_cluster_is_a_clear_error():
    from partita.gui.services.reassignment import ReassignmentFailed

    runner = ReassignmentRunner(ConnectionSettings(bootstrap="127.0.0.1:1"), timeout=2)
    with pytest.raises(ReassignmentFailed, match="127.0.0.1:1"):
        runner.start([])
