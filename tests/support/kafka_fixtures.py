"""pytest fixtures that run real Apache Kafka (see tests/support/apache_kafka.py).

``apache_kafka``          1 KRaft node, no rack, 1 log dir.
``apache_kafka_cluster``  3 KRaft nodes (all voters), racks a/b/c, 2 log dirs each.
``apache_kafka_zk``       1 Kafka 3.9.1 node in ZooKeeper mode (rack a, 2 log dirs) with its ZooKeeper
                          (``.zookeeper``).
``apache_kafka_sasl``     1 KRaft node with a SASL_PLAINTEXT listener (``.sasl_bootstrap``) for the users
                          in ``SASL_USERS``, by PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, next to its
                          PLAINTEXT one (``.bootstrap``).

All are session-scoped ``KafkaCluster`` objects: ``.bootstrap``, ``.broker_ids``, ``.pid(id)``,
``.kill(id)``, ``.stop(id)``, ``.start(id)``, ``.wait_ready()``. A test that kills or stops a node must
start it again (and wait_ready) before it ends, since later tests share the cluster.

``PARTITA_KAFKA_VERSION`` picks another Kafka version (default: apache_kafka.DEFAULT_VERSION).
At the end of the session the clusters are killed, not shut down: their data is thrown away.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.apache_kafka import DEFAULT_VERSION, KafkaCluster

# The controller fences a broker that stopped heartbeating after broker.session.timeout.ms
# (9 s by default); the scenarios that kill a node wait that long for each kill. Only the
# timing changes: a killed node is still fenced by the same path, just sooner.
FAST_FENCING = {"broker.session.timeout.ms": 4000, "broker.heartbeat.interval.ms": 500}

# Test clusters live for minutes and restart nodes under load: C1 alone starts a JVM in about
# half the time (a node restarted beside a producer took 14-21 s with C2, 8-9 s without).
# Behaviour is the same; benchmarks start Kafka without this, at full speed.
TEST_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)

ZOOKEEPER_VERSION = "3.9.1"  # the last Kafka with a ZooKeeper mode

SASL_USERS = {"alice": "alice-secret", "bob": "bob-secret"}


def _version() -> str:
    return os.environ.get("PARTITA_KAFKA_VERSION") or DEFAULT_VERSION


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    workdir = tmp_path_factory.mktemp("apache-kafka-1")
    yield from _running(KafkaCluster(brokers=1, racks=None, log_dirs=1, workdir=workdir, version=_version(),
                                     jvm_options=TEST_JVM_OPTIONS))


@pytest.fixture(scope="session")
def apache_kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    workdir = tmp_path_factory.mktemp("apache-kafka-3")
    yield from _running(KafkaCluster(brokers=3, racks=("a", "b", "c"), log_dirs=2, workdir=workdir, version=_version(),
                                     jvm_options=TEST_JVM_OPTIONS, extra_config=FAST_FENCING))


@pytest.fixture(scope="session")
def apache_kafka_sasl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    workdir = tmp_path_factory.mktemp("apache-kafka-sasl")
    yield from _running(
        KafkaCluster(brokers=1, racks=None, log_dirs=1, workdir=workdir, version=_version(), sasl_users=SASL_USERS,
                     jvm_options=TEST_JVM_OPTIONS)
    )


@pytest.fixture(scope="session")
def apache_kafka_zk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    workdir = tmp_path_factory.mktemp("apache-kafka-zk")
    yield from _running(KafkaCluster(brokers=1, racks=("a",), log_dirs=2, workdir=workdir, version=ZOOKEEPER_VERSION,
                                     mode="zk", jvm_options=TEST_JVM_OPTIONS))


def _running(cluster: KafkaCluster) -> Iterator[KafkaCluster]:
    with cluster:  # started; stopped by PID even if the session is interrupted
        try:
            yield cluster
        finally:
            cluster.close(graceful=False)
