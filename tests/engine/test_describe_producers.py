"""DescribeProducers through kafka-python's admin client: the engine and real Kafka report the same producers."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import AdminClient
from kafka import TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import NotLeaderForPartitionError, UnknownTopicOrPartitionError

from tests.engine.helpers import create_topic, produce

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
