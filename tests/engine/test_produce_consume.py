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


def test_automatic_topic_creation_on_produce(engine):
    topic = topic_name("auto")
    produce(engine, topic, [b"x"])
    assert consume(engine, topic, 1)[0].value() == b"x"
