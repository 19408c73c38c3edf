"""DescribeProducers through kafka-python's admin client: the engine and real Kafka report the same producers."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
from kafka import TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import NotLeaderForPartitionError, UnknownTopicOrPartitionError

from tests.engine.helpers import create_topic, produce
from tests.support.engine_fixtures import FAST_SETTINGS

TIMESTAMPS = [1_700_000_000_000 + i * 1000 for i in range(4)]


def test_describe_producers_on_leader_follower_and_other_broker(three_brokers):
    topic = f"producers-{uuid.uuid4().hex[:8]}"
    create_topic(three_brokers, topic, partitions=1, replication_factor=2)
    for ts in TIMESTAMPS:  # one batch per record, so the last batch's timestamp is the last record's
        produce(three_brokers, topic, [b"v"], partition=0, timestamp=ts, acks="all", **{"enable.idempotence": True})
    produce(three_brokers, topic, [b"plain"], partition=0, timestamp=TIMESTAMPS[-1] + 1,
            **{"enable.idempotence": False, "acks": "all"})  # not idempotent: no producer state

    md = AdminClient({"bootstrap.servers": three_brokers.bootstrap}).list_topics(topic, timeout=10)
    part = md.topics[topic].partitions[0]
    follower = next(r for r in part.replicas if r != part.leader)
    outsider = next(b for b in three_brokers.broker_ids if b not in part.replicas)
    tp = TopicPartition(topic, 0)

    client = KafkaAdminClient(bootstrap_servers=three_brokers.bootstrap)
    try:
        on_leader = client.describe_producers([tp])[tp].active_producers
        on_follower = client.describe_producers([tp], broker_id=follower)[tp].active_producers
        # each idempotent producer above got its own id, epoch 0, and sent one record: sequence 0
        assert [(p.producer_epoch, p.last_sequence, p.last_timestamp, p.coordinator_epoch,
                 p.current_transaction_start_offset) for p in sorted(on_leader, key=lambda p: p.last_timestamp)] == [
            (0, 0, ts, -1, -1) for ts in TIMESTAMPS]
        assert len({p.producer_id for p in on_leader}) == len(TIMESTAMPS)
        assert sorted(on_follower) == sorted(on_leader)  # a follower answers from its replicated state

        with pytest.raises(NotLeaderForPartitionError):
            client.describe_producers([tp], broker_id=outsider)
        missing = TopicPartition(topic, 5)
        with pytest.raises(UnknownTopicOrPartitionError):
            client.describe_producers([missing], broker_id=part.leader)
    finally:
        client.close()


CHECK_INTERVAL = {"producer.id.expiration.check.interval.ms": "200"}  # Kafka's internal setting; 10 min by default


@pytest.fixture(params=["engine", pytest.param("kafka", marks=pytest.mark.kafka)])
def expiring_broker(request, make_engine, tmp_path):
    """One broker that looks for idle producers every 200 ms: the engine's, or real Kafka's (its own,
    since the check interval is a static setting the shared one must not have)."""
    if request.param == "engine":
        yield make_engine(settings={**FAST_SETTINGS, **CHECK_INTERVAL})
        return
    from tests.support.apache_kafka import KafkaCluster
    from tests.support.kafka_fixtures import TEST_JVM_OPTIONS

    with KafkaCluster(brokers=1, workdir=tmp_path / "kafka", extra_config=CHECK_INTERVAL,
                      jvm_options=TEST_JVM_OPTIONS) as cluster:
        try:
            yield cluster
        finally:
            cluster.close(graceful=False)


def test_idle_producers_expire_but_one_with_an_open_transaction_stays(expiring_broker):
    """producer.id.expiration.ms (dynamic): a producer whose last batch is that old is
    forgotten; an open transaction keeps its producer; a forgotten producer can go on producing."""
    cluster = expiring_broker
    topic = f"expiring-{uuid.uuid4().hex[:8]}"
    create_topic(cluster, topic, partitions=1)
    a = AdminClient({"bootstrap.servers": cluster.bootstrap})
    broker = str(cluster.broker_ids[0])
    shorter = ConfigResource("BROKER", broker, incremental_configs=[
        ConfigEntry("producer.id.expiration.ms", "2000", incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([shorter])[shorter].result(10)

    idle = Producer({"bootstrap.servers": cluster.bootstrap, "enable.idempotence": True, "linger.ms": 0})
    txn = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": f"expiring-{uuid.uuid4().hex[:8]}"})
    txn.init_transactions(15)
    txn.begin_transaction()
    for producer in (txn, idle):  # the idle one last: nothing slow between its batch and the first look
        producer.produce(topic, b"v", partition=0)
        assert producer.flush(15) == 0
    tp = TopicPartition(topic, 0)
    client = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        def producers() -> dict[int, int]:  # producer id -> last sequence
            return {p.producer_id: p.last_sequence for p in client.describe_producers([tp])[tp].active_producers}

        both = producers()
        assert len(both) == 2
        deadline = time.monotonic() + 15
        while len(producers()) == 2:
            assert time.monotonic() < deadline, f"nothing expired: {producers()}"
            time.sleep(0.2)
        [(txn_pid, _)] = producers().items()  # the idle one went; the transaction's stays
        time.sleep(1)  # several more checks
        assert list(producers()) == [txn_pid]

        idle.produce(topic, b"again", partition=0)  # sequence 1 of a producer the broker forgot: accepted
        assert idle.flush(15) == 0
        assert sorted(producers().values()) == [0, 1]
        txn.abort_transaction(15)
    finally:
        client.close()
        for producer in (idle, txn):
            producer.flush(5)
