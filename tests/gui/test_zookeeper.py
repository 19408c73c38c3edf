"""A ZooKeeper-mode cluster's ZooKeeper, read beside the Kafka protocol: real Kafka 3.9.1 with
its ZooKeeper, and an unreachable ZooKeeper that leaves the rest of the refresh alone."""

from __future__ import annotations

import pytest

from partita.gui.domain import tables as T
from partita.gui.services.cluster_client import ClusterClient, KafkaReader
from partita.gui.services.settings import ConnectionSettings


def _snapshot(bootstrap: str, zookeeper: str, timeout: float = 5.0):
    client = ClusterClient(KafkaReader(ConnectionSettings(bootstrap=bootstrap, zookeeper=zookeeper), timeout=timeout))
    try:
        return client.snapshot()
    finally:
        client.close()


@pytest.mark.kafka
def test_a_zookeeper_mode_cluster_shows_what_its_zookeeper_holds(apache_kafka_zk):
    kc = apache_kafka_zk
    s = _snapshot(kc.bootstrap, kc.zookeeper)
    zk = s.zookeeper
    assert zk is not None and zk.error is None, zk
    # ZooKeeper and the Kafka protocol tell the same story
    assert zk.controller_id == s.controller_id == 1
    assert zk.registered == ((1, "a"),) and [(b.node_id, b.rack) for b in s.brokers] == [(1, "a")]
    assert zk.cluster_id == s.cluster_id and zk.reassigning == 0
    overview = dict(T.overview_table(s).rows)
    assert overview["ZooKeeper"] == f"{kc.zookeeper}: connected"
    assert overview["Controller (ZooKeeper)"] == "1" and overview["Brokers registered (ZooKeeper)"] == "1 (a)"


def test_an_unreachable_zookeeper_is_said_and_the_rest_of_the_refresh_stands(engine):
    s = _snapshot(engine.bootstrap, "127.0.0.1:1", timeout=2.0)
    assert s.zookeeper is not None and s.zookeeper.error.startswith("cannot connect"), s.zookeeper
    assert s.brokers and s.controller_id is not None
    assert dict(T.overview_table(s).rows)["ZooKeeper"].startswith("127.0.0.1:1: cannot connect")
