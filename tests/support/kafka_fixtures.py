"""pytest fixtures that run real Apache Kafka (see tests/support/apache_kafka.py).

``apache_kafka``          1 KRaft node, no rack, 1 log dir.
``apache_kafka_cluster``  3 KRaft nodes (all voters), racks a/b/c, 2 log dirs each.
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

SASL_USERS = {"alice": "alice-secret", "bob": "bob-secret"}


def _version() -> str:
    return os.environ.get("PARTITA_KAFKA_VERSION") or DEFAULT_VERSION


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    workdir = tmp_path_factory.mktemp("apache-kafka-1")
    yield from _running(KafkaCluster(brokers=1, racks=None, log_dirs=1, workdir=workdir, version=_version()))


@pytest.fixture(scope="session")
def apache_kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    workdir = tmp_path_factory.mktemp("apache-kafka-3")
    yield from _running(KafkaCluster(brokers=3, racks=("a", "b", "c"), log_dirs=2, workdir=workdir, version=_version()))


@pytest.fixture(scope="session")
def apache_kafka_sasl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    workdir = tmp_path_factory.mktemp("apache-kafka-sasl")
    yield from _running(
        KafkaCluster(brokers=1, racks=None, log_dirs=1, workdir=workdir, version=_version(), sasl_users=SASL_USERS)
    )


def _running(cluster: KafkaCluster) -> Iterator[KafkaCluster]:
    with cluster:  # started; stopped by PID even if the session is interrupted
        try:
            yield cluster
        finally:
            cluster.close(graceful=False)
