"""The cluster client against a real 3-broker Apache Kafka (KRaft, racks a/b/c, 2 log dirs each)."""

from __future__ import annotations

import pytest

from partita.gui.domain import health
from partita.gui.services.cluster_client import ClusterClient, ClusterUnreachable, KafkaReader
from partita.gui.services.connection_test import test_connection as check_connection
from partita.gui.services.settings import ConnectionSettings

from .conftest import create_topic, produce, wait_snapshot

pytestmark = pytest.mark.kafka


@pytest.fixture
def client(apache_kafka_cluster):
    c = ClusterClient(KafkaReader(ConnectionSettings(bootstrap=apache_kafka_cluster.bootstrap), timeout=5))
    yield c
    c.close()


def test_sees_three_brokers_with_racks_and_a_new_rf3_topic(apache_kafka_cluster, client, topic_name):
    create_topic(apache_kafka_cluster.bootstrap, topic_name, partitions=6, rf=3, config={"min.insync.replicas": "2"})
    produce(apache_kafka_cluster.bootstrap, topic_name, 600)
    s = wait_snapshot(
        client,
        lambda s: topic_name in s.topics_by_name
        and all(p.end_offset is not None for p in s.topics_by_name[topic_name].partitions)
        and sum(p.end_offset for p in s.topics_by_name[topic_name].partitions) == 600,
    )
    assert sorted((b.node_id, b.rack, b.alive) for b in s.brokers) == [(1, "a", True), (2, "b", True), (3, "c", True)]
    assert s.cluster_id and s.controller_id in (1, 2, 3)
    assert s.kafka_version and s.kafka_version.startswith("4.")
    t = s.topics_by_name[topic_name]
    assert len(t.partitions) == 6 and t.replication_factor == 3 and t.min_insync_replicas == 2
    assert all(len(p.isr) == 3 for p in t.partitions)
    assert health.health_counts(s).under_replicated == 0
    # log dirs with sizes: two per broker, and every partition has a size
    assert all(len(b.log_dirs) == 2 for b in s.brokers)
    assert all(p.size_bytes and p.size_bytes > 0 for p in t.partitions)
    assert all(p.start_offset == 0 for p in t.partitions)


def test_connection_test_succeeds_against_kafka(apache_kafka_cluster):
    r = check_connection(ConnectionSettings(bootstrap=apache_kafka_cluster.bootstrap), timeout=5)
    assert r.ok, r
    assert "3 brokers" in r.message


def test_unreachable_cluster_raises_cluster_unreachable():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = ClusterClient(KafkaReader(ConnectionSettings(bootstrap=f"127.0.0.1:{port}"), timeout=1.5))
    with pytest.raises(ClusterUnreachable):
        c.snapshot()
    c.close()
