"""Log compaction with real clients: the engine and real Kafka keep the same records of a compacted topic."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

from tests.engine.helpers import admin, create_topic
from tests.support.engine_fixtures import FAST_SETTINGS

DEADLINE_S = 30.0


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _alter(cluster, resource_type, name: str, configs: dict[str, str | None]) -> None:
    a = admin(cluster)
    resource = ConfigResource(resource_type, name, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET if v is not None else AlterConfigOpType.DELETE)
        for k, v in configs.items()])
    a.incremental_alter_configs([resource])[resource].result(10)


def _produce(cluster, topic: str, pairs, **config) -> list:
    """Produce (key, value) pairs in order, flush; returns the delivery errors (None for a success)."""
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 0, **config})
    outcomes = []
    for key, value in pairs:
        producer.produce(topic, key=key, value=value, partition=0, on_delivery=lambda err, _msg: outcomes.append(err))
        producer.poll(0)
    assert producer.flush(15) == 0
    return outcomes


def _read_all(cluster, topic: str) -> list[tuple[int, bytes | None, bytes | None]]:
    """(offset, key, value) of every record from the beginning to the current end."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": _name("reader"),
                         "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        out = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF and (not out or out[-1][0] >= high - 1):
                    return out
                continue
            out.append((msg.offset(), msg.key(), msg.value()))
            if msg.offset() >= high - 1:
                return out
        raise AssertionError(f"could not read {topic} to its end {high}: got {out[-3:]}")
    finally:
        consumer.close()


@pytest.fixture(params=["engine", pytest.param("kafka", marks=pytest.mark.kafka)])
def compacting_broker(request):
    """The engine, set to look for dirty logs every 100 ms while the test runs, or real Kafka (started
    that way: a dynamic change restarts Kafka's cleaner threads, which a test need not rehearse)."""
    if request.param == "kafka":
        yield request.getfixturevalue("apache_kafka")
        return
    cluster = request.getfixturevalue("engine")
    broker = str(cluster.broker_ids[0])
    _alter(cluster, ConfigResource.Type.BROKER, broker, {"log.cleaner.backoff.ms": "100"})
    try:
        yield cluster
    finally:
        _alter(cluster, ConfigResource.Type.BROKER, broker, {"log.cleaner.backoff.ms": None})


def _broker_log(cluster) -> str:
    """What Kafka's log says (a cleaner thread that died, a partition marked uncleanable); '' for the engine."""
    tail = getattr(cluster, "log_tail", None)
    return tail(cluster.broker_ids[0]) if tail else ""


def test_compacted_topic_keeps_the_last_record_per_key(compacting_broker):
    cluster = compacting_broker
    topic = _name("compacted")
    create_topic(cluster, topic, config={
        "cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01",
        "segment.bytes": "1048576"})
    pairs = []
    for round_ in range(4):
        for k in range(5):
            pairs.append((f"k{k}".encode(), f"v{round_}-{k}".encode()))
    pairs += [(b"k1", None), (b"k3", None)]  # tombstones: kept for delete.retention.ms (a day)
    assert _produce(cluster, topic, pairs) == [None] * len(pairs)
    time.sleep(0.2)  # segment.ms passes, so that the next record rolls the segment
    assert _produce(cluster, topic, [(b"sentinel", b"rolls")]) == [None]

    last = {}
    for offset, (key, value) in enumerate([*pairs, (b"sentinel", b"rolls")]):
        last[key] = (offset, key, value)
    expected = sorted(last.values())
    deadline = time.monotonic() + DEADLINE_S
    records = _read_all(cluster, topic)
    while records != expected:
        assert time.monotonic() < deadline, f"not compacted in {DEADLINE_S}s: {records}\n{_broker_log(cluster)}"
        time.sleep(0.2)
        records = _read_all(cluster, topic)
    # Offsets are kept: every survivor is still at the offset it was produced at.
    assert [r[0] for r in records] == [15, 17, 19, 20, 21, 22]

    # A record without a key is refused by a compacted topic, by both the same way.
    [refused] = _produce(cluster, topic, [(None, b"keyless")], **{"message.send.max.retries": 0})
    assert refused is not None and refused.code() == KafkaError.INVALID_RECORD


def test_consumer_offsets_are_compacted_and_read_back_after_a_restart(make_engine):
    cluster = make_engine(settings={**FAST_SETTINGS, "log.cleaner.backoff.ms": "100",
                                    "offsets.topic.num.partitions": "1"})
    topic = _name("orders")
    create_topic(cluster, topic, partitions=2)
    group, doomed = _name("keeper"), _name("doomed")

    def commit(group_id: str, offsets: dict[int, int]) -> None:
        consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group_id,
                             "enable.auto.commit": False})
        try:
            consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
        finally:
            consumer.close()

    commit(group, {0: 1})  # creates __consumer_offsets
    _alter(cluster, ConfigResource.Type.TOPIC, "__consumer_offsets",
           {"segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"})
    commit(doomed, {0: 5})
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group, "enable.auto.commit": False})
    for i in range(2, 30):
        consumer.commit(offsets=[TopicPartition(topic, 0, i), TopicPartition(topic, 1, 100 + i)], asynchronous=False)
        if i % 7 == 0:
            time.sleep(0.15)  # segment.ms passes: the next commit rolls a segment
    consumer.close()
    client = admin(cluster)  # must outlive its futures
    client.delete_consumer_groups([doomed])[doomed].result(10)
    time.sleep(0.15)
    commit(group, {0: 30, 1: 130})  # rolls: everything before it is now in closed segments

    partition_dir = cluster.log_dirs_of(1)[0] / "__consumer_offsets-0"
    deadline = time.monotonic() + DEADLINE_S
    while not (partition_dir / "cleaner-offset-checkpoint").exists():
        assert time.monotonic() < deadline, "__consumer_offsets was not compacted"
        time.sleep(0.1)
    records = _read_all(cluster, "__consumer_offsets")
    assert len(records) < 30, f"{len(records)} records: the superseded commits should be gone"

    cluster.stop(1)
    cluster.start(1)
    cluster.wait_ready()
    reader = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        committed = reader.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=15)
    finally:
        reader.close()
    assert [(tp.partition, tp.offset) for tp in committed] == [(0, 30), (1, 130)]
    client = admin(cluster)
    listed = {g.group_id for g in client.list_consumer_groups().result(10).valid}
    assert group in listed and doomed not in listed
