"""The Apache Kafka reference itself: it starts, serves confluent-kafka, and keeps its data over a restart.

Losing a node (kill, restart, ISR back, no acknowledged record lost) is what
tests/engine/test_replication.py's failover reference does with this harness."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.support.apache_kafka import KafkaCluster

pytestmark = pytest.mark.kafka


def _create_topic(cluster: KafkaCluster, partitions: int, rf: int) -> str:
    name = f"ref-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=rf)],
                                  operation_timeout=30)
    futures[name].result(60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until every partition has a leader in metadata
        md = admin.list_topics(name, timeout=10).topics[name]
        if md.error is None and len(md.partitions) == partitions and all(
            p.leader >= 0 for p in md.partitions.values()
        ):
            return name
        time.sleep(0.2)
    raise AssertionError(f"topic {name} has no leaders after 60s")


def _produce(cluster: KafkaCluster, topic: str, values: list[bytes], acks: str = "all") -> None:
    errors: list[str] = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))

    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": acks,
                         "message.timeout.ms": 90000, "linger.ms": 5})
    for i, v in enumerate(values):
        producer.produce(topic, v, key=str(i).encode(), on_delivery=on_delivery)
    remaining = producer.flush(120)
    assert remaining == 0, f"{remaining} records not delivered"
    assert not errors, errors[:5]


def _consume_all(cluster: KafkaCluster, topic: str, partitions: int, expected: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": f"g-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        got: list[bytes] = []
        deadline = time.monotonic() + 90
        while len(got) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=1.0):
                assert msg.error() is None, msg.error()
                got.append(msg.value())
        return got
    finally:
        consumer.close()


def test_single_broker_produce_consume(apache_kafka: KafkaCluster) -> None:
    assert apache_kafka.broker_ids == [1]
    assert apache_kafka.bootstrap.startswith("127.0.0.1:")
    assert apache_kafka.pid(1)
    topic = _create_topic(apache_kafka, partitions=3, rf=1)
    values = [f"record-{i}".encode() for i in range(200)]
    _produce(apache_kafka, topic, values, acks="1")
    got = _consume_all(apache_kafka, topic, 3, len(values))
    assert sorted(got) == sorted(values)


def test_single_broker_auto_creates_topics(apache_kafka: KafkaCluster) -> None:
    topic = f"auto-{uuid.uuid4().hex[:8]}"
    _produce(apache_kafka, topic, [b"a", b"b", b"c"], acks="1")
    admin = AdminClient({"bootstrap.servers": apache_kafka.bootstrap})
    md = admin.list_topics(topic, timeout=10)
    assert len(md.topics[topic].partitions) == 1  # num.partitions=1
    assert sorted(_consume_all(apache_kafka, topic, 1, 3)) == [b"a", b"b", b"c"]


def test_three_brokers_racks_and_log_dirs(apache_kafka_cluster: KafkaCluster) -> None:
    kc = apache_kafka_cluster
    assert kc.broker_ids == [1, 2, 3]
    assert len(kc.bootstrap.split(",")) == 3
    admin = AdminClient({"bootstrap.servers": kc.bootstrap})  # keep a reference: the future needs the handle
    cluster = admin.describe_cluster(request_timeout=30).result(60)
    assert {n.id: n.rack for n in cluster.nodes} == {1: "a", 2: "b", 3: "c"}
    for node_id in kc.broker_ids:
        dirs = kc.log_dirs_of(node_id)
        assert len(dirs) == 2
        assert all((d / "meta.properties").is_file() for d in dirs)


def test_stop_and_start_keeps_data(apache_kafka: KafkaCluster) -> None:
    topic = _create_topic(apache_kafka, partitions=1, rf=1)
    _produce(apache_kafka, topic, [b"x", b"y"], acks="1")
    apache_kafka.stop(1)
    assert apache_kafka.pid(1) is None
    apache_kafka.start(1, timeout=90)
    assert sorted(_consume_all(apache_kafka, topic, 1, 2)) == [b"x", b"y"]


@pytest.mark.slow
def test_zookeeper_mode_on_kafka_3(apache_kafka_zk: KafkaCluster, tmp_path) -> None:
    kc = apache_kafka_zk
    assert kc.zookeeper and kc.zookeeper.startswith("127.0.0.1:")
    topic = _create_topic(kc, partitions=2, rf=1)
    _produce(kc, topic, [b"z1", b"z2", b"z3"], acks="1")
    assert sorted(_consume_all(kc, topic, 2, 3)) == [b"z1", b"z2", b"z3"]
    assert (kc.workdir / "zookeeper" / "data" / "version-2").is_dir()
    with pytest.raises(ValueError):
        KafkaCluster(version="4.1.1", mode="zk", workdir=tmp_path / "x")
