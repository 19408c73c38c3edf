"""CreateTopics and CreatePartitions at their limits and with bad input: the engine answers as Kafka 4.1.1.

Requests go raw (kio), so that the codes and messages compared are the brokers' own, and so
that requests a client would not send (a null against an empty assignment list) can be sent.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from kio.schema.create_partitions.v3 import request as cp
from kio.schema.create_topics.v5 import request as ct
from kio.static.primitive import i16, i32

from tests.engine.helpers import admin, create_topic, produce, raw_request, wait_for


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topics(cluster, *topics, validate_only: bool = False) -> list[tuple]:
    """topics: (name, partitions, replication factor[, {partition: brokers}]); answers
    (name, error code, message) in the order the broker gives them."""
    request = ct.CreateTopicsRequest(
        topics=tuple(ct.CreatableTopic(
            name=t[0], num_partitions=i32(t[1]), replication_factor=i16(t[2]), configs=(),
            assignments=tuple(ct.CreatableReplicaAssignment(partition_index=i32(p), broker_ids=tuple(map(i32, b)))
                              for p, b in (t[3] if len(t) > 3 else {}).items()))
            for t in topics),
        timeout=timedelta(seconds=10), validate_only=validate_only)
    response = raw_request(cluster.bootstrap.split(",")[0], 19, 5, request)
    return [(r.name, int(r.error_code), r.error_message) for r in response.topics]


def create_partitions(cluster, topic: str, count: int, assignments=None, validate_only: bool = False) -> tuple:
    """(error code, message) of growing `topic` to `count` partitions; `assignments` None asks
    the broker to place them, a list (even an empty one) places them."""
    request = cp.CreatePartitionsRequest(
        topics=(cp.CreatePartitionsTopic(name=topic, count=i32(count), assignments=None if assignments is None else tuple(
            cp.CreatePartitionsAssignment(broker_ids=tuple(map(i32, brokers))) for brokers in assignments)),),
        timeout=timedelta(seconds=10), validate_only=validate_only)
    [result] = raw_request(cluster.bootstrap.split(",")[0], 37, 3, request).results
    return int(result.error_code), result.error_message


def partition_count(cluster, topic: str) -> int:
    return len(admin(cluster).list_topics(topic, timeout=10).topics[topic].partitions)


EXCESSIVE = "Excessively large number of partitions per request."
TOO_LARGE_BATCH = "Unable to perform excessively large batch operation."


def test_more_than_10000_new_partitions_in_one_request_are_refused_and_the_cluster_keeps_serving(single_broker):
    """Kafka's controller makes at most 10,000 metadata records per request. CreateTopics asking
    for more partitions is refused whole (POLICY_VIOLATION); one making more records (a record for
    the topic, one per partition) too. CreatePartitions past it answers UNKNOWN_SERVER_ERROR. The
    engine used to build all 100,000 partitions and lost its brokers. Kafka is asked to validate
    only: a real CreatePartitions past the limit makes it keep the first 10,000 partitions."""
    topic, big = name("huge"), name("big")
    create_topic(single_broker, topic)
    assert create_partitions(single_broker, topic, 1 + 10_000, validate_only=True) == (0, None)
    assert create_partitions(single_broker, topic, 100_000, validate_only=True)[0] == -1
    assert create_topics(single_broker, (big, 100_000, 1), validate_only=True) == [(big, 44, EXCESSIVE)]
    others = [(name("a"), 6000, 1), (name("b"), 6000, 1), ("bad name", 1, 1), (topic, 1, 1)]
    assert create_topics(single_broker, *others) == [(t[0], 44, EXCESSIVE) for t in others]
    assert create_topics(single_broker, (big, 10_000, 1), validate_only=True) == [(big, 44, TOO_LARGE_BATCH)]
    assert create_topics(single_broker, (big, 9_999, 1), validate_only=True) == [(big, 0, None)]
    if getattr(single_broker, "kind", None) != "engine":
        return
    code, message = create_partitions(single_broker, topic, 100_000)
    assert (code, message) == (-1, "Unable to perform excessively large batch operation: 99999 new partitions "
                                   "requested, at most 10000 in one request.")
    assert partition_count(single_broker, topic) == 1
    produce(single_broker, topic, [b"still serving"], acks="all")
    assert all(b.alive for b in single_broker.refresh().brokers)


def test_manual_assignments_are_checked_as_kafka_checks_them(three_brokers):
    """Each new partition's replica list: not empty, registered brokers, each once, the topic's
    replication factor; CreatePartitions needs exactly one per new partition (kafka-topics --alter
    --replica-assignment naming only existing partitions sends an empty list: refused, not
    placed); CreateTopics' partitions count from 0. The engine used to create such partitions
    without a leader."""
    topic = name("manual")
    create_topic(three_brokers, topic)
    unregistered = "The manual partition assignment includes broker 42, but no such broker is registered."
    assert create_partitions(three_brokers, topic, 2, [[42]]) == (39, unregistered)
    assert create_partitions(three_brokers, topic, 2, [[1, 1]]) == (
        39, "The manual partition assignment includes the broker 1 more than once.")
    assert create_partitions(three_brokers, topic, 2, [[1, 2]]) == (
        39, "The manual partition assignment includes a partition with 2 replica(s), but this is not consistent "
            "with previous partitions, which have 1 replica(s).")
    assert create_partitions(three_brokers, topic, 2, [[]]) == (
        39, "The manual partition assignment includes an empty replica list.")
    for assignments in ([], [[1], [2]]):
        assert create_partitions(three_brokers, topic, 2, assignments) == (
            39, f"Attempted to add 1 additional partition(s), but only {len(assignments)} assignment(s) were specified.")
    assert create_partitions(three_brokers, topic, 3, [[2], [3]], validate_only=True) == (0, None)
    assert partition_count(three_brokers, topic) == 1
    assert create_partitions(three_brokers, topic, 1, []) == (37, "Topic already has 1 partition(s).")
    assert create_partitions(three_brokers, topic, 0) == (
        37, f"The topic {topic} currently has 1 partition(s); 0 would not be an increase.")

    new = name("manual-new")
    assert create_topics(three_brokers, (new, -1, -1, {0: [1, 2], 1: [3]})) == [(new, 39, (
        "The manual partition assignment includes a partition with 1 replica(s), but this is not consistent "
        "with previous partitions, which have 2 replica(s)."))]
    assert create_topics(three_brokers, (new, -1, -1, {0: [42]})) == [(new, 39, unregistered)]
    assert create_topics(three_brokers, (new, -1, -1, {0: [1], 2: [2]})) == [
        (new, 39, "partitions should be a consecutive 0-based integer sequence")]
    assert create_topics(three_brokers, (new, -1, 2, {0: [1, 2]})) == [
        (new, 42, "A manual partition assignment was specified, but replication factor was not set to -1.")]
    assert create_topics(three_brokers, (new, 1, -1, {0: [1, 2]})) == [
        (new, 42, "A manual partition assignment was specified, but numPartitions was not set to -1.")]


@pytest.fixture(params=["engine", pytest.param("kafka", marks=pytest.mark.kafka)])
def three_brokers_to_break(request):
    """Three brokers in racks a, b, c, one of which a test may kill: a private engine cluster, or
    the session's Kafka cluster (the test starts its broker again)."""
    if request.param == "engine":
        return request.getfixturevalue("make_engine")(brokers=3, racks=["a", "b", "c"])
    return request.getfixturevalue("apache_kafka_cluster")


def test_new_partitions_while_a_broker_is_down_follow_it_and_it_catches_up_on_return(three_brokers_to_break):
    """Kafka places replicas on a registered broker that is down (fenced): as followers only,
    outside the ISR. So a topic with replication factor 3 is created with 1 of 3 brokers down, takes
    acks=all records with min.insync.replicas=2, and has all three in its ISR once the broker is
    back. A manual assignment naming only down brokers is refused. The engine used to refuse the
    topic and accept the assignment, leaving a partition without a leader."""
    cluster = three_brokers_to_break
    rf1, rf3, mixed = name("down-rf1"), name("down-rf3"), name("down-mixed")
    create_topic(cluster, rf1)
    cluster.stop(3)  # a graceful stop: fenced at once on both (a killed Kafka broker only after 9 s)
    try:
        wait_for(lambda: 3 not in admin(cluster).list_topics(timeout=10).brokers, "broker 3 to be fenced")
        fenced_only = "All brokers specified in the manual partition assignment for partition {} are fenced or in " \
                      "controlled shutdown."
        assert create_topics(cluster, (mixed, -1, -1, {0: [1], 1: [3]})) == [(mixed, 39, fenced_only.format(1))]
        assert create_partitions(cluster, rf1, 2, [[3]]) == (39, fenced_only.format(1))
        rf4 = name("down-rf4")
        assert create_topics(cluster, (rf4, 1, 4)) == [(rf4, 38, (
            "Unable to replicate the partition 4 time(s): The target replication factor of 4 cannot be reached "
            "because only 3 broker(s) are registered."))]
        assert create_topics(cluster, (mixed, -1, -1, {0: [3, 1]})) == [(mixed, 0, None)]
        assert create_partitions(cluster, rf1, 7) == (0, None)
        create_topic(cluster, rf3, partitions=6, replication_factor=3, config={"min.insync.replicas": "2"})
        topics = wait_for(lambda: _partitions(cluster, rf1, rf3, mixed, count={rf1: 7}), "the new partitions")
        assert all(topics[rf1][p][1] in ([1], [2]) for p in range(1, 7))  # partition 0 is from before
        assert topics[mixed] == {0: (1, [3, 1], [1])}
        for leader, replicas, isr in topics[rf3].values():
            assert sorted(replicas) == [1, 2, 3] and leader in (1, 2) and sorted(isr) == [1, 2]
        produce(cluster, rf3, [f"while-3-is-down-{i}".encode() for i in range(60)], acks="all")
    finally:
        cluster.start(3)
    wait_for(lambda: all(3 in isr for t in _partitions(cluster, rf3, mixed).values() for _, _, isr in t.values()),
             "broker 3 back in every ISR")


def _partitions(cluster, *topics, count=None) -> dict | None:
    """topic -> {partition: (leader, replicas, isr)}, or None until every topic is listed (with
    `count` partitions where given)."""
    listed = admin(cluster).list_topics(timeout=10).topics
    out = {}
    for topic in topics:
        t = listed.get(topic)
        if t is None or t.error is not None or len(t.partitions) != (count or {}).get(topic, len(t.partitions)):
            return None
        out[topic] = {i: (p.leader, list(p.replicas), list(p.isrs)) for i, p in sorted(t.partitions.items())}
    return out


def test_names_that_would_share_metric_names_or_come_twice_are_refused_as_kafka_refuses_them(single_broker):
    """'.' and '_' make the same metric names, so Kafka refuses a topic whose name differs from an
    existing one's only there (INVALID_TOPIC_EXCEPTION); it does not compare the new names of one
    request with each other. A name given twice in one request is refused once, after the other
    results (INVALID_REQUEST), and not created; the engine used to create it and answer it twice."""
    u = uuid.uuid4().hex[:8]
    assert create_topics(single_broker, (f"c.x.{u}", 1, 1)) == [(f"c.x.{u}", 0, None)]
    assert create_topics(single_broker, (f"c_x.{u}", 1, 1), (f"c_x_{u}", 1, 1)) == [
        (f"c_x.{u}", 17, f"Topic 'c_x.{u}' collides with existing topic: c.x.{u}"),
        (f"c_x_{u}", 17, f"Topic 'c_x_{u}' collides with existing topic: c.x.{u}")]
    assert create_topics(single_broker, (f"c.x.{u}", 1, 1)) == [(f"c.x.{u}", 36, f"Topic 'c.x.{u}' already exists.")]
    assert create_topics(single_broker, (f"d.x.{u}", 1, 1), (f"d_x_{u}", 1, 1)) == [
        (f"d.x.{u}", 0, None), (f"d_x_{u}", 0, None)]
    twice, other = f"twice-{u}", f"other-{u}"
    assert create_topics(single_broker, (twice, 1, 1), (twice, 2, 1), (other, 1, 1)) == [
        (other, 0, None), (twice, 42, "Duplicate topic name.")]
    assert create_topics(single_broker, (twice, 1, 1), validate_only=True) == [(twice, 0, None)]  # not created


def test_non_positive_partitions_and_replication_factor_are_refused_in_kafkas_words(single_broker):
    answers = create_topics(single_broker, (name("p0"), 0, 1), (name("rf0"), 1, 0))
    assert [(code, message) for _, code, message in answers] == [
        (37, "Number of partitions was set to an invalid non-positive value."),
        (38, "Replication factor must be larger than 0, or -1 to use the default value."),
    ]
