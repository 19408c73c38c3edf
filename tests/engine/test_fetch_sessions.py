"""Incremental fetch sessions (KIP-227) with raw Fetch requests, against the engine and Kafka alike:
a session is opened by a full fetch, later fetches carry only what changed and are answered with
only the partitions that have news; wrong epochs and unknown sessions are refused at the top level."""

from __future__ import annotations

import uuid
from datetime import timedelta

from kio.schema.fetch.v12 import request as fetch_req

from tests.engine.helpers import create_topic, produce, raw_request

NOT_FOUND, INVALID_EPOCH = 70, 71


def _fetch(cluster, topic: str, session_id: int, epoch: int, offsets: dict[int, int], forget=()):
    request = fetch_req.FetchRequest(
        cluster_id=None, replica_id=-1, max_wait=timedelta(0), min_bytes=1, max_bytes=1 << 20,
        isolation_level=0, session_id=session_id, session_epoch=epoch, rack_id="",
        forgotten_topics_data=(fetch_req.ForgottenTopic(topic=topic, partitions=tuple(forget)),) if forget else (),
        topics=(fetch_req.FetchTopic(topic=topic, partitions=tuple(
            fetch_req.FetchPartition(partition=p, fetch_offset=o, partition_max_bytes=1 << 20)
            for p, o in offsets.items())),) if offsets else ())
    response = raw_request(cluster.bootstrap, 1, 12, request)
    answered = {p.partition_index: p for t in response.responses for p in t.partitions}
    return response, answered


def test_a_session_answers_only_partitions_with_news(single_broker):
    cluster = single_broker
    topic = f"sessions-{uuid.uuid4().hex[:6]}"
    create_topic(cluster, topic, partitions=2)
    produce(cluster, topic, [b"a", b"b", b"c"], partition=0)

    # a full fetch with epoch 0 opens a session and answers every partition
    full, answered = _fetch(cluster, topic, 0, 0, {0: 0, 1: 0})
    assert full.error_code == 0 and full.session_id != 0
    assert sorted(answered) == [0, 1] and answered[0].high_watermark == 3
    session = full.session_id

    # the client moves past what it read: nothing is new, nothing is answered
    response, answered = _fetch(cluster, topic, session, 1, {0: 3})
    assert response.error_code == 0 and response.session_id == session and answered == {}

    # a record in partition 1 (not named in this fetch): only partition 1 is answered, with it
    produce(cluster, topic, [b"d"], partition=1)
    response, answered = _fetch(cluster, topic, session, 2, {})
    assert list(answered) == [1] and answered[1].high_watermark == 1 and answered[1].records

    # a forgotten partition is not answered any more, whatever it gets
    response, answered = _fetch(cluster, topic, session, 3, {}, forget=[1])
    produce(cluster, topic, [b"e"], partition=1)
    response, answered = _fetch(cluster, topic, session, 4, {})
    assert response.error_code == 0 and answered == {}

    # a wrong epoch, an unknown session: refused as a whole, no session id
    response, answered = _fetch(cluster, topic, session, 9, {})
    assert (response.error_code, response.session_id, answered) == (INVALID_EPOCH, 0, {})
    response, _ = _fetch(cluster, topic, session ^ 0x5A5A5A, 1, {})
    assert response.error_code == NOT_FOUND

    # epoch -1 closes the session (and fetches without one); its id is unknown afterwards
    response, answered = _fetch(cluster, topic, session, -1, {0: 0})
    assert (response.error_code, response.session_id) == (0, 0) and list(answered) == [0]
    response, _ = _fetch(cluster, topic, session, 5, {})
    assert response.error_code == NOT_FOUND


def test_a_session_answers_a_partition_again_when_its_high_watermark_moves(single_broker):
    """Records read past by the client still move the high watermark it is told about."""
    cluster = single_broker
    topic = f"sessions-hw-{uuid.uuid4().hex[:6]}"
    create_topic(cluster, topic, partitions=1)
    full, _ = _fetch(cluster, topic, 0, 0, {0: 0})
    session = full.session_id
    produce(cluster, topic, [b"x"], partition=0)
    _, answered = _fetch(cluster, topic, session, 1, {})
    assert answered[0].high_watermark == 1 and answered[0].records
    _, answered = _fetch(cluster, topic, session, 2, {0: 1})
    assert answered == {}


def test_a_consumer_with_fetch_sessions_reads_every_record_once(single_broker):
    """kafka-python's consumer fetches through a session (as Java's does): records produced in
    rounds to some of six partitions all arrive once, and its fetches went incremental."""
    from kafka import KafkaConsumer, TopicPartition

    cluster = single_broker
    topic = f"sessions-consumer-{uuid.uuid4().hex[:6]}"
    create_topic(cluster, topic, partitions=6)
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap, enable_auto_commit=False,
                             auto_offset_reset="earliest", fetch_max_wait_ms=100)
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(6)])
        seen = []
        for round_ in range(4):
            for p in range(round_, 6, 2):  # a changing subset of the partitions gets records
                produce(cluster, topic, [f"{round_}-{p}-{i}".encode() for i in range(5)], partition=p)
            expected = sum(5 for r in range(round_ + 1) for _ in range(r, 6, 2))
            for _ in range(100):
                for records in consumer.poll(timeout_ms=200).values():
                    seen += [r.value.decode() for r in records]
                if len(seen) >= expected:
                    break
            assert len(seen) == expected
        assert len(set(seen)) == len(seen)
        [handler] = consumer._fetcher._session_handlers.values()
        assert handler.next_metadata.session_id != 0 and handler.next_metadata.epoch > 2
    finally:
        consumer.close()
