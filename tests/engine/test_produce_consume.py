"""Real clients produce to and consume from a real engine broker process."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME

from tests.engine.helpers import consume, create_topic, produce

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def topic_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("codec", CODECS)
def test_every_compression_codec_round_trips(engine, codec):
    topic = topic_name(f"codec-{codec}")
    create_topic(engine, topic, partitions=3)
    values = [f"value-{i}".encode() * 10 for i in range(500)]
    produce(engine, topic, values, **{"compression.type": codec, "enable.idempotence": True})
    got = consume(engine, topic, len(values))
    assert sorted(m.value() for m in got) == sorted(values)
    # Offsets per partition are dense and start at 0: the broker assigned them.
    by_partition: dict[int, list[int]] = {}
    for m in got:
        by_partition.setdefault(m.partition(), []).append(m.offset())
    for offsets in by_partition.values():
        assert sorted(offsets) == list(range(len(offsets)))


def test_keys_headers_timestamps_and_null_values(engine):
    topic = topic_name("fields")
    create_topic(engine, topic)
    produce(engine, topic, [b"v1"], key=b"k1", headers=[("h", b"x"), ("h2", None)], timestamp=1_600_000_000_123)
    produce(engine, topic, [None], key=b"tombstone")
    first, second = consume(engine, topic, 2)
    assert first.key() == b"k1" and first.value() == b"v1"
    assert first.headers() == [("h", b"x"), ("h2", None)]
    assert first.timestamp() == (TIMESTAMP_CREATE_TIME, 1_600_000_000_123)
    assert second.key() == b"tombstone" and second.value() is None


def test_in_order_within_a_partition_with_idempotence(engine):
    topic = topic_name("order")
    create_topic(engine, topic, partitions=2)
    values = [str(i).encode() for i in range(5000)]
    produce(engine, topic, values, partition=1, **{"enable.idempotence": True, "linger.ms": 1,
                                                   "batch.num.messages": 50})
    got = consume(engine, topic, len(values), partitions=[1])
    assert [m.value() for m in got] == values


def test_acks_zero_one_and_all(engine):
    topic = topic_name("acks")
    create_topic(engine, topic)
    for acks in ("0", "1", "all"):
        produce(engine, topic, [acks.encode()] * 10, **{"acks": acks})
    got = consume(engine, topic, 30)
    assert sorted({m.value() for m in got}) == [b"0", b"1", b"all"]


def test_acks_all_with_min_insync_replicas_above_the_replication_factor(single_broker):
    """Kafka 4 counts min.insync.replicas up to the replica count (effectiveMinIsr): a topic with
    one replica and min.insync.replicas=2 takes acks=all writes."""
    topic = topic_name("min-isr")
    create_topic(single_broker, topic, config={"min.insync.replicas": "2"})
    produce(single_broker, topic, [b"kept"], acks="all")
    assert [m.value() for m in consume(single_broker, topic, 1)] == [b"kept"]


def test_automatic_topic_creation_on_produce(engine):
    topic = topic_name("auto")
    produce(engine, topic, [b"x"])
    assert consume(engine, topic, 1)[0].value() == b"x"


def _stored_records(cluster, topic: str) -> bytes:
    """Partition 0's records section as the broker stores it, from a raw Fetch (v12)."""
    from datetime import timedelta

    from kio.schema.fetch.v12 import request as fetch_req

    from tests.engine.helpers import raw_request

    request = fetch_req.FetchRequest(
        cluster_id=None, replica_id=-1, max_wait=timedelta(milliseconds=100), min_bytes=1, max_bytes=1 << 20,
        isolation_level=0, session_id=0, session_epoch=-1, forgotten_topics_data=(), rack_id="",
        topics=(fetch_req.FetchTopic(topic=topic, partitions=(fetch_req.FetchPartition(
            partition=0, fetch_offset=0, partition_max_bytes=1 << 20),)),))
    [t] = raw_request(cluster.bootstrap, 1, 12, request).responses
    return t.partitions[0].records


def test_a_topics_compression_type_is_the_codec_its_batches_are_stored_in(single_broker):
    """compression.type=gzip on the topic: an uncompressed batch is stored gzip-compressed, the
    records read back unchanged (engine and Kafka alike; the codec is read from a raw Fetch)."""
    from partita.engine.log.batch import iter_batches

    topic = f"gz-{uuid.uuid4().hex[:8]}"
    create_topic(single_broker, topic, config={"compression.type": "gzip"})
    values = [f"record {i} ".encode() * 30 for i in range(20)]
    produce(single_broker, topic, values, partition=0, **{"compression.type": "none", "linger.ms": 50})
    data = _stored_records(single_broker, topic)
    assert {h.compression for _, h in iter_batches(data)} == {1}  # gzip
    assert [m.value() for m in consume(single_broker, topic, 20)] == values


@pytest.mark.parametrize("codec, low, high", [("gzip", "1", "9"), ("zstd", "1", "19")])
def test_a_topics_compression_level_is_the_level_its_batches_are_recompressed_at(single_broker, codec, low, high):
    """compression.<codec>.level (KIP-390): the same uncompressed batch stored at a high level
    is smaller than at a low one; a level out of range is refused (engine and Kafka alike)."""
    import random

    from confluent_kafka import KafkaException

    rng = random.Random(7)
    words = [bytes(rng.choices(b"abcdefghij", k=rng.randint(3, 9))) for _ in range(400)]
    values = [b" ".join(rng.choices(words, k=60)) for _ in range(200)]  # compressible, not trivially
    sizes = {}
    for level in (low, high):
        topic = f"lvl-{codec}-{level}-{uuid.uuid4().hex[:6]}"
        create_topic(single_broker, topic, config={"compression.type": codec, f"compression.{codec}.level": level})
        produce(single_broker, topic, values, partition=0, **{"compression.type": "none", "linger.ms": 100})
        sizes[level] = len(_stored_records(single_broker, topic))
        assert [m.value() for m in consume(single_broker, topic, len(values))] == values
    assert sizes[high] < sizes[low], sizes
    with pytest.raises(KafkaException) as refused:
        create_topic(single_broker, f"lvl-bad-{uuid.uuid4().hex[:6]}",
                     config={"compression.type": codec, f"compression.{codec}.level": "99"})
    assert refused.value.args[0].name() == "INVALID_CONFIG"
