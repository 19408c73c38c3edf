"""Scenario helpers shared by the engine's tests (kfake behavior_test style)."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def admin(cluster) -> AdminClient:
    return AdminClient({"bootstrap.servers": cluster.bootstrap})


def create_topic(cluster, name: str, partitions: int = 1, replication_factor: int = 1, config=None) -> None:
    client = admin(cluster)  # must outlive the futures: a destroyed handle fails them
    futures = client.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=replication_factor, config=config or {})],
        operation_timeout=10,
    )
    futures[name].result(timeout=30)
    wait_for_leaders(cluster, name, partitions)


def wait_for_leaders(cluster, topic: str, partitions: int, timeout: float = 30.0) -> None:
    a = admin(cluster)
    deadline = time.monotonic() + timeout
    while True:
        md = a.list_topics(topic, timeout=10).topics.get(topic)
        if md is not None and md.error is None and len(md.partitions) == partitions and all(
            p.leader >= 0 for p in md.partitions.values()
        ):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {topic} has no leaders: {md}")
        time.sleep(0.1)


def produce(cluster, topic: str, values, *, partition=None, key=None, headers=None, timestamp=None, **config):
    """Produce each value, flush, and return the delivered messages (raises on any delivery error)."""
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 5, **config})
    delivered, errors = [], []

    def on_delivery(err, msg):
        (errors if err else delivered).append(err or msg)

    for value in values:
        kwargs = {"value": value, "on_delivery": on_delivery}
        if partition is not None:
            kwargs["partition"] = partition
        if key is not None:
            kwargs["key"] = key
        if headers is not None:
            kwargs["headers"] = headers
        if timestamp is not None:
            kwargs["timestamp"] = timestamp
        producer.produce(topic, **kwargs)
        producer.poll(0)
    remaining = producer.flush(30)
    assert remaining == 0, f"{remaining} messages not delivered"
    assert not errors, errors
    return delivered


def consume(cluster, topic: str, count: int, partitions=None, timeout: float = 30.0, **config):
    """Read `count` messages from the beginning of `topic` (all partitions unless given)."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "helpers-unused",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest", **config})
    try:
        if partitions is None:
            md = consumer.list_topics(topic, timeout=10).topics[topic]
            partitions = sorted(md.partitions)
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumed {len(out)} of {count} messages from {topic}")
            for msg in consumer.consume(num_messages=10000, timeout=0.5):
                if msg.error():
                    raise KafkaException(msg.error())
                out.append(msg)
        return out
    finally:
        consumer.close()


def raw_request(address: str, api_key: int, version: int, entity):
    """One request on a fresh connection, through the engine's own broker-to-broker client."""
    import asyncio

    from partita.engine.broker.kafka_client import KafkaConnection

    host, port = address.split(":")

    async def call():
        conn = await KafkaConnection.open(host, int(port), "partita-tests")
        try:
            return await conn.request(api_key, version, entity, timeout=10)
        finally:
            conn.close()

    return asyncio.run(call())


def wait_for(condition, what: str, timeout: float = 60.0):
    """Polls `condition` until it returns something true, and returns that."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return result
