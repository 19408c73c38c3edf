"""pytest fixtures running Partita's engine as real processes.

``engine``          1 broker, session-scoped (tests must not kill it).
``engine_cluster``  3 brokers in racks a/b/c with 2 log dirs each, session-scoped; a test that
                    kills or stops a broker starts it again before it ends.
``engine_sasl``     1 broker with a SASL_PLAINTEXT listener (``.sasl_bootstrap``, ``.sasl_client_config``)
                    for the users in kafka_fixtures.SASL_USERS, next to its PLAINTEXT one; session-scoped.
``make_engine``     a factory for a private cluster a test may break: make_engine(brokers=3, ...).
"""

from __future__ import annotations

import pytest

from tests.support.engine_cluster import EngineCluster
from tests.support.kafka_fixtures import SASL_USERS

# as tests/support/apache_kafka.py configures Kafka: no initial rebalance delay, transactions past
# their timeout looked for every 500 ms, not 10 s, and KIP-848 members heartbeating every 500 ms, not 5 s
FAST_SETTINGS = {"group.initial.rebalance.delay.ms": "0",
                 "transaction.abort.timed.out.transaction.cleanup.interval.ms": "500",
                 "group.consumer.heartbeat.interval.ms": "500"}


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    with EngineCluster(tmp_path_factory.mktemp("engine-1"), brokers=1, settings=FAST_SETTINGS) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def engine_cluster(tmp_path_factory):
    with EngineCluster(tmp_path_factory.mktemp("engine-3"), brokers=3, racks=["a", "b", "c"], log_dirs=2,
                       settings=FAST_SETTINGS) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def engine_sasl(tmp_path_factory):
    with EngineCluster(tmp_path_factory.mktemp("engine-sasl"), brokers=1, settings=FAST_SETTINGS,
                       sasl_users=SASL_USERS) as cluster:
        yield cluster


@pytest.fixture
def make_engine(tmp_path):
    made = []

    def make(**kwargs):
        kwargs.setdefault("settings", FAST_SETTINGS)
        cluster = EngineCluster(tmp_path / f"engine-{len(made)}", **kwargs)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.close()


@pytest.fixture(params=["engine", pytest.param("kafka", marks=pytest.mark.kafka)])
def single_broker(request):
    """The same scenario against the engine and against real Apache Kafka: both must agree."""
    return request.getfixturevalue("engine" if request.param == "engine" else "apache_kafka")


@pytest.fixture(params=["engine", pytest.param("kafka", marks=pytest.mark.kafka)])
def sasl_broker(request):
    """One broker with a SASL_PLAINTEXT listener for SASL_USERS: the engine's and real Apache Kafka's."""
    return request.getfixturevalue("engine_sasl" if request.param == "engine" else "apache_kafka_sasl")


@pytest.fixture(params=["engine", pytest.param("kafka", marks=pytest.mark.kafka)])
def three_brokers(request):
    """The same scenario on three brokers in racks a, b, c: the engine's and real Apache Kafka's."""
    return request.getfixturevalue("engine_cluster" if request.param == "engine" else "apache_kafka_cluster")
