"""Kafka Streams (the Java library) against the engine, and against Kafka for reference.

A word count (tests/support/java/WordCount.java) exercises what a stream processor asks of a
cluster beyond a plain producer and consumer: its admin client creates a repartition topic and a
compacted changelog topic with their configs, its group commits offsets, it purges consumed
repartition records with DeleteRecords, and after a restart it rebuilds its (in-memory) counts by
reading the changelog from the beginning.
"""

from __future__ import annotations

import struct
import time
import uuid
from collections import Counter
from collections.abc import Callable

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import ConfigResource

from tests.engine.helpers import admin, create_topic, produce
from tests.support.kafka_streams import WordCountApp

PARTITIONS = 3
FIRST = [f"the quick brown fox {i % 7} jumps over the lazy dog" for i in range(300)]
SECOND = [f"the dog sleeps {i % 5}" for i in range(200)]


def _words(lines: list[str]) -> Counter[str]:
    return Counter(w for line in lines for w in line.lower().split())


def _read_counts(cluster, topic: str, expected: Counter[str], app: WordCountApp, timeout: float = 90.0) -> dict:
    """Read the count topic from the start until each word's latest count is the expected one."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": f"check-{uuid.uuid4().hex[:6]}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    latest: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    try:
        while latest != expected:
            app.check()
            if time.monotonic() > deadline:
                raise AssertionError(f"counts never reached the expected ones: {latest} != {dict(expected)}\n"
                                     f"{app.output()}")
            msg = consumer.poll(0.2)
            if msg is None or msg.error() is not None:
                continue
            latest[msg.key().decode()] = struct.unpack(">q", msg.value())[0]
        return latest
    finally:
        consumer.close()


def _non_default_configs(cluster, topic: str) -> dict[str, str]:
    resource = ConfigResource("topic", topic)
    client = admin(cluster)  # must outlive the future
    configs = client.describe_configs([resource])[resource].result(timeout=15)
    return {name: entry.value for name, entry in configs.items() if not entry.is_default}


def _offsets(cluster, topic: str, which: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "offsets-probe"})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[which]
                for p in range(PARTITIONS)}
    finally:
        consumer.close()


def _wait_until(predicate, what: str | Callable[[], str], app: WordCountApp, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        app.check()
        if time.monotonic() > deadline:
            raise AssertionError(f"{what() if callable(what) else what} did not happen within {timeout:.0f}s\n"
                                 f"{app.output()}")
        time.sleep(0.2)


def test_kafka_streams_word_count_survives_a_restart(single_broker, tmp_path):
    cluster = single_broker
    app_id = f"wc-{uuid.uuid4().hex[:8]}"
    lines, counts = f"{app_id}-lines", f"{app_id}-counts"
    repartition, changelog = f"{app_id}-counts-repartition", f"{app_id}-counts-changelog"
    create_topic(cluster, lines, partitions=PARTITIONS)
    create_topic(cluster, counts, partitions=PARTITIONS)
    produce(cluster, lines, FIRST, key=b"k")  # one key: every line lands in the same partition
    for p in range(PARTITIONS):  # keyless, in every partition (Streams commits only partitions it read)
        produce(cluster, lines, FIRST[p:50:PARTITIONS], partition=p)
    expected = _words(FIRST + FIRST[:50])

    with WordCountApp(cluster.bootstrap, lines, counts, app_id, tmp_path / "state-1") as app:
        assert _read_counts(cluster, counts, expected, app) == expected
        # the internal topics Streams created, with the configs it asked for
        assert _non_default_configs(cluster, changelog)["cleanup.policy"] == "compact"
        repartition_configs = _non_default_configs(cluster, repartition)
        assert repartition_configs["cleanup.policy"] == "delete"
        assert repartition_configs["retention.ms"] == "-1"
        # consumed repartition records are purged (DeleteRecords) once their offsets are committed
        _wait_until(lambda: sum(_offsets(cluster, repartition, 0).values()) > 0, "the repartition purge", app)
        line_ends = _offsets(cluster, lines, 1)

        def committed() -> dict[int, int]:
            request = ConsumerGroupTopicPartitions(app_id, [TopicPartition(lines, p) for p in range(PARTITIONS)])
            client = admin(cluster)  # must outlive the future
            got = client.list_consumer_group_offsets([request])[app_id].result(timeout=15)
            return {tp.partition: tp.offset for tp in got.topic_partitions}

        _wait_until(lambda: committed() == line_ends,
                    lambda: f"committing every input line ({committed()} != {line_ends})", app)
    assert app.closed_state == "NOT_RUNNING", app.output()  # closed cleanly on SIGTERM

    # a fresh state directory: the counts can only come back from the changelog topic
    produce(cluster, lines, SECOND)
    expected += _words(SECOND)
    with WordCountApp(cluster.bootstrap, lines, counts, app_id, tmp_path / "state-2") as app:
        assert _read_counts(cluster, counts, expected, app) == expected
    assert app.closed_state == "NOT_RUNNING", app.output()
