"""AdminClient views of groups and offsets — the same scenario against the engine and Apache Kafka."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka import KafkaError as ConfluentError
from kafka import TopicPartition as KTopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import CoordinatorLoadInProgressError, CoordinatorNotAvailableError, NotCoordinatorError

from tests.engine.groups.admin_scenario import run_admin_scenario, run_static_removal_scenario
from tests.engine.helpers import admin, create_topic

EXPECTED = {
    "listed_stable": True,
    "listed_empty_while_active": False,
    "describe_active": {
        "state": "STABLE",
        "simple": False,
        "assignor": "range",
        "members": [("admin-scenario", "127.0.0.1", None, [0, 1, 2])],
        "coordinator_known": True,
    },
    "offsets_all": {0: (10, ""), 1: (4, "m1")},
    "offsets_some": {1: (4, "m1"), 2: (-1001, "")},
    "lag": {0: 0, 1: 6, 2: None},  # high watermark 10 minus what the group committed
    "alter_active": ["UNKNOWN_MEMBER_ID"],
    "offset_delete_subscribed": {0: "GroupSubscribedToTopicError"},
    "delete_active": "NON_EMPTY_GROUP",
    "describe_empty": {"state": "EMPTY", "members": 0},
    "listed_empty": True,
    "alter_empty": [(0, 2, None), (2, 5, None)],
    "offsets_after_alter": {0: (2, ""), 1: (4, "m1"), 2: (5, "set")},
    "offset_delete_empty": {2: "NoError"},
    "offsets_after_offset_delete": {0: (2, ""), 1: (4, "m1")},
    "fetch_two_groups": {"adm-g": [(0, 2), (1, 4)], "adm-g-other": [(1, 7)]},
    "listed_after_delete": False,
    "offsets_after_delete": {0: (-1001, "")},
    "describe_deleted": "DEAD",
}


def _expected(group: str) -> dict:
    out = dict(EXPECTED)
    out["fetch_two_groups"] = {group: EXPECTED["fetch_two_groups"]["adm-g"],
                               group + "-other": EXPECTED["fetch_two_groups"]["adm-g-other"]}
    return out


def test_admin_client_sees_groups_offsets_and_lag_on_the_engine(engine):
    assert run_admin_scenario(engine, "adm-t", "adm-g") == _expected("adm-g")


@pytest.mark.kafka
def test_admin_client_sees_the_same_on_apache_kafka(apache_kafka):
    assert run_admin_scenario(apache_kafka, "adm-t", "adm-g") == _expected("adm-g")


STATIC_EXPECTED = {"removed": {"inst-1": "NoError", "inst-9": "UnknownMemberIdError"}, "left": "ok"}


def test_batched_leave_removes_static_members_on_the_engine(engine):
    assert run_static_removal_scenario(engine, "adm-static", "adm-static-g") == STATIC_EXPECTED


@pytest.mark.kafka
def test_batched_leave_removes_static_members_on_apache_kafka(apache_kafka):
    assert run_static_removal_scenario(apache_kafka, "adm-static", "adm-static-g") == STATIC_EXPECTED


_COORDINATOR_MOVING = {ConfluentError.NOT_COORDINATOR, ConfluentError.COORDINATOR_LOAD_IN_PROGRESS,
                       ConfluentError.COORDINATOR_NOT_AVAILABLE}


def _offsets_by_topic(cluster, group: str) -> dict[str, dict[int, int]]:
    """Through kafka-python: librdkafka's AdminClient crashes the process (rd_kafka_cgrp_op on a
    NULL group handle) when OffsetFetch answers NOT_COORDINATOR, as Kafka 4.1 may right after a commit."""
    client = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=15000)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                found = client.list_group_offsets([group])[group]
                break
            except (NotCoordinatorError, CoordinatorLoadInProgressError, CoordinatorNotAvailableError):
                assert time.monotonic() < deadline, "the coordinator never answered"
                time.sleep(0.2)
    finally:
        client.close()
    out: dict[str, dict[int, int]] = {}
    for tp, om in found.items():
        out.setdefault(tp.topic, {})[tp.partition] = om.offset
    return out


def _commit(client, group: str, offsets: list[TopicPartition]) -> dict[tuple[str, int], int | None]:
    """Commit through the AdminClient: {(topic, partition): error code or None}. A new coordinator
    (Kafka's, on its first group) may answer NOT_COORDINATOR at first: asked again meanwhile."""
    deadline = time.monotonic() + 15
    while True:
        done = client.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, offsets)])[group]
        errors = {(tp.topic, tp.partition): tp.error and tp.error.code()
                  for tp in done.result(timeout=15).topic_partitions}
        if not _COORDINATOR_MOVING & set(errors.values()) or time.monotonic() > deadline:
            return errors
        time.sleep(0.2)


def test_deleting_a_topic_removes_the_offsets_groups_committed_to_it(single_broker):
    """As Kafka's coordinator does: otherwise kafka-consumer-groups --describe fails on the missing
    topic and OffsetDelete can no longer remove them (the topic is unknown)."""
    topic, kept, group = "del-offsets-t", "del-offsets-kept", "del-offsets-g"
    create_topic(single_broker, topic, partitions=2)
    create_topic(single_broker, kept, partitions=1)
    client = admin(single_broker)
    offsets = [TopicPartition(topic, 0, 3), TopicPartition(topic, 1, 4), TopicPartition(kept, 0, 5)]
    errors = _commit(client, group, offsets)
    assert set(errors.values()) == {None}, errors
    assert _offsets_by_topic(single_broker, group) == {topic: {0: 3, 1: 4}, kept: {0: 5}}

    client.delete_topics([topic], operation_timeout=10)[topic].result(15)
    deadline = time.monotonic() + 20
    while topic in _offsets_by_topic(single_broker, group):
        assert time.monotonic() < deadline, "the deleted topic's offsets are still listed"
        time.sleep(0.2)
    assert _offsets_by_topic(single_broker, group) == {kept: {0: 5}}
    # created again under the same name, the topic starts with no offsets of the old one
    create_topic(single_broker, topic, partitions=2)
    assert _offsets_by_topic(single_broker, group) == {kept: {0: 5}}


def test_offsets_of_partitions_that_do_not_exist_are_refused(single_broker):
    """OffsetCommit and OffsetDelete answer UNKNOWN_TOPIC_OR_PARTITION for a partition past the
    topic's count or of an unknown topic (the engine stored such offsets), the rest go through."""
    topic, group = "no-such-partition-t", "no-such-partition-g"
    create_topic(single_broker, topic, partitions=2)
    client = admin(single_broker)
    offsets = [TopicPartition(topic, 0, 1), TopicPartition(topic, 9, 1), TopicPartition("no-such-topic-x", 0, 1)]
    errors = _commit(client, group, offsets)
    unknown = ConfluentError.UNKNOWN_TOPIC_OR_PART
    assert errors == {(topic, 0): None, (topic, 9): unknown, ("no-such-topic-x", 0): unknown}
    assert _offsets_by_topic(single_broker, group) == {topic: {0: 1}}

    kclient = KafkaAdminClient(bootstrap_servers=single_broker.bootstrap, request_timeout_ms=15000)
    try:
        deleted = kclient.delete_group_offsets(group, [KTopicPartition(topic, 0), KTopicPartition(topic, 9),
                                                       KTopicPartition("no-such-topic-x", 0)])
    finally:
        kclient.close()
    assert {(tp.topic, tp.partition): error.__name__ for tp, error in deleted.items()} == {
        (topic, 0): "NoError", (topic, 9): "UnknownTopicOrPartitionError",
        ("no-such-topic-x", 0): "UnknownTopicOrPartitionError"}
    assert _offsets_by_topic(single_broker, group) == {}
