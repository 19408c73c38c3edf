"""Apache Kafka's own Java clients against the engine, and against Kafka for reference.

kafka-verifiable-producer and kafka-verifiable-consumer (Kafka's system-test tools, run from the
Maven-fetched jars) drive the Java KafkaProducer — idempotent and acks=all by default since
Kafka 3.0 — and a KafkaConsumer in a group (classic protocol, the Java default), and print every
acknowledgement, assignment, batch and commit as a JSON line. The consumer reads the topic
twice: in a classic group, and in a KIP-848 group (`--group-protocol consumer`: the broker
assigns).
"""

from __future__ import annotations

import json
import uuid

from tests.engine.helpers import admin, create_topic
from tests.support.kafka_cli import VERIFIABLE_CONSUMER, VERIFIABLE_PRODUCER, run_kafka_tool

RECORDS = 3000
PARTITIONS = 3


def _events(run) -> list[dict]:
    assert run.returncode == 0, run.stderr[-2000:]
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


def test_java_producer_and_group_consumer(single_broker):
    cluster = single_broker
    topic, group = f"java-{uuid.uuid4().hex[:8]}", f"java-g-{uuid.uuid4().hex[:8]}"
    create_topic(cluster, topic, partitions=PARTITIONS)

    produced = _events(run_kafka_tool(VERIFIABLE_PRODUCER, "--bootstrap-server", cluster.bootstrap,
                                      "--topic", topic, "--max-messages", str(RECORDS), "--acks", "-1",
                                      "--repeating-keys", "12"))  # keys spread records over the partitions
    acked = [e for e in produced if e["name"] == "producer_send_success"]
    assert not [e for e in produced if e["name"] == "producer_send_error"]
    assert sorted(int(e["value"]) for e in acked) == list(range(RECORDS))
    ends: dict[int, int] = {}
    for p in range(PARTITIONS):  # each partition's offsets are 0, 1, 2, ... in the order acknowledged
        offsets = [e["offset"] for e in acked if e["partition"] == p]
        assert offsets == list(range(len(offsets)))
        ends[p] = len(offsets)
    assert all(ends.values()), ends

    for protocol in ("classic", "consumer"):
        _consume_all(cluster, topic, f"{group}-{protocol}", protocol, ends)


def _consume_all(cluster, topic: str, group: str, protocol: str, ends: dict[int, int]) -> None:
    consumed = _events(run_kafka_tool(VERIFIABLE_CONSUMER, "--bootstrap-server", cluster.bootstrap,
                                      "--topic", topic, "--group-id", group, "--max-messages", str(RECORDS),
                                      "--reset-policy", "earliest", "--group-protocol", protocol))
    assigned = {p["partition"] for e in consumed if e["name"] == "partitions_assigned" for p in e["partitions"]}
    assert assigned == set(range(PARTITIONS)), protocol
    batches = [p for e in consumed if e["name"] == "records_consumed" for p in e["partitions"]]
    for p in range(PARTITIONS):  # every offset read once, in order
        mine = [b for b in batches if b["partition"] == p]
        assert [(b["minOffset"], b["maxOffset"]) for b in mine] == sorted((b["minOffset"], b["maxOffset"]) for b in mine)
        assert sum(b["count"] for b in mine) == ends[p] and (not mine or mine[-1]["maxOffset"] == ends[p] - 1)
    commits = [e for e in consumed if e["name"] == "offsets_committed"]
    assert commits and all(e["success"] for e in commits), protocol

    # what the Java consumer committed, as another client reads it
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    a = admin(cluster)
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(PARTITIONS)])
    got = a.list_consumer_group_offsets([request])[group].result(timeout=15)
    assert {tp.partition: tp.offset for tp in got.topic_partitions} == ends
