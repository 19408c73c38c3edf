"""Committed offsets and groups outlive their coordinator: cluster restarts and SIGKILL of
the coordinating broker (the new leader of the group's `__consumer_offsets` partition
reloads the group from its replica)."""

from __future__ import annotations

import time

from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient

from tests.engine.groups.members import Member, committed, drive, group_offsets
from tests.engine.helpers import create_topic, produce
from tests.support.engine_cluster import EngineCluster

SETTINGS = {"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "10"}


def describe(cluster, group: str):
    client = AdminClient({"bootstrap.servers": cluster.bootstrap})
    return client.describe_consumer_groups([group])[group].result(timeout=30)


def until(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # the cluster is moving: retry
            last = exc
        else:
            last = None
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what} (last error: {last})")
        time.sleep(0.3)


def test_committed_offsets_and_groups_survive_a_cluster_restart(make_engine):
    cluster = make_engine(brokers=1, settings=SETTINGS)
    topic, group = "restart-t", "restart-g"
    create_topic(cluster, topic, partitions=3)
    for p in range(3):
        produce(cluster, topic, [f"{p}-{i}".encode() for i in range(20)], partition=p)
    m = Member(cluster, group, [topic], commit=False, name="before-restart")
    try:
        drive([m], lambda: len(m.records) >= 60, what="60 records")
        m.consumer.commit(offsets=[TopicPartition(topic, 0, 5), TopicPartition(topic, 1, 20, metadata="x"),
                                   TopicPartition(topic, 2, 11)], asynchronous=False)
    finally:
        m.close()
    before = group_offsets(cluster, group)
    assert before == {0: 5, 1: 20, 2: 11}
    cluster.close()

    again = EngineCluster(cluster.dir, settings=SETTINGS)  # `up` on the same directory: same data
    try:
        assert until(lambda: group_offsets(again, group) == before, "offsets after the restart")
        assert describe(again, group).state.name == "EMPTY"
        m = Member(again, group, [topic], name="after-restart")
        try:
            drive([m], lambda: len(m.records) >= 60 - 5 - 20 - 11, what="the uncommitted rest")
            firsts = {}
            for _t, p, off, _ in m.records:
                firsts.setdefault(p, off)
            assert firsts == {0: 5, 2: 11}
        finally:
            m.close()
        assert committed(again, group, topic, 3) == {0: 20, 1: 20, 2: 20}
    finally:
        again.close()


def test_sigkill_of_the_coordinator_moves_the_group_and_keeps_its_offsets(make_engine):
    cluster = make_engine(brokers=3, racks=["a", "b", "c"], settings=SETTINGS)
    topic, group = "failover-t", "failover-g"
    create_topic(cluster, topic, partitions=3, replication_factor=3, config={"min.insync.replicas": "2"})
    for p in range(3):
        produce(cluster, topic, [f"{p}-{i}".encode() for i in range(10)], partition=p, acks="all")
    m = Member(cluster, group, [topic], name="survivor", **{"session.timeout.ms": 10000})
    killed = None
    try:
        drive([m], lambda: len(m.records) >= 30, what="30 records")
        assert until(lambda: group_offsets(cluster, group) == {0: 10, 1: 10, 2: 10}, "first commits")
        coordinator = describe(cluster, group).coordinator.id
        killed = coordinator
        cluster.kill(coordinator)

        # The offsets are there at once from the new coordinator (they were replicated before
        # the commits were acknowledged), and the group keeps its member.
        assert until(lambda: group_offsets(cluster, group) == {0: 10, 1: 10, 2: 10}, "offsets after the kill")
        after = until(lambda: (d := describe(cluster, group)).coordinator.id != coordinator and d,
                      "a new coordinator")
        assert after.coordinator.id in set(cluster.broker_ids) - {coordinator}
        # The member carries on: reads what comes next and commits it with the new coordinator.
        for p in range(3):
            produce(cluster, topic, [f"{p}-{i}".encode() for i in range(10, 20)], partition=p, acks="all")
        drive([m], lambda: len({v for *_, v in m.records}) >= 60, timeout=90, what="60 distinct records")
        until(lambda: m.commit() or True, "a commit")
        assert until(lambda: group_offsets(cluster, group) == {0: 20, 1: 20, 2: 20}, "new commits")
        desc = describe(cluster, group)
        assert desc.state.name == "STABLE" and [x.client_id for x in desc.members] == ["survivor"]
    finally:
        m.close()
        if killed is not None:
            cluster.start(killed)
    # The restarted broker catches up; coordination stays correct wherever it lands.
    assert until(lambda: group_offsets(cluster, group) == {0: 20, 1: 20, 2: 20}, "offsets after rejoin")



def test_consumer_protocol_members_rejoin_when_their_coordinator_is_killed(make_engine):
    """The engine keeps no KIP-848 group records (README): the new coordinator knows the offsets but
    not the members, whose heartbeats get UNKNOWN_MEMBER_ID; they rejoin and carry on from the
    committed offsets."""
    cluster = make_engine(brokers=3, racks=["a", "b", "c"],
                          settings={**SETTINGS, "group.consumer.heartbeat.interval.ms": "300"})
    topic, group = "failover-848-t", "failover-848-g"
    create_topic(cluster, topic, partitions=2, replication_factor=3, config={"min.insync.replicas": "2"})
    for p in range(2):
        produce(cluster, topic, [f"{p}-{i}".encode() for i in range(10)], partition=p, acks="all")
    m = Member(cluster, group, [topic], name="survivor-848", protocol="consumer")
    killed = None
    try:
        drive([m], lambda: len(m.records) >= 20, what="20 records")
        assert until(lambda: group_offsets(cluster, group) == {0: 10, 1: 10}, "first commits")
        killed = describe(cluster, group).coordinator.id
        cluster.kill(killed)
        for p in range(2):
            produce(cluster, topic, [f"{p}-{i}".encode() for i in range(10, 20)], partition=p, acks="all")
        # polled meanwhile: the rejoin's revocation and assignment run in the application's poll
        drive([m], lambda: len({v for *_, v in m.records}) >= 40 and (m.commit() or True)
              and group_offsets(cluster, group) == {0: 20, 1: 20}, timeout=90, what="commits with the new coordinator")
        desc = until(lambda: (d := describe(cluster, group)).coordinator.id != killed and d, "a new coordinator")
        assert desc.state.name == "STABLE" and [x.client_id for x in desc.members] == ["survivor-848"]
        assert sorted(tp.partition for x in desc.members for tp in x.assignment.topic_partitions) == [0, 1]
        # nothing committed was read again (offsets were there), and nothing skipped
        assert {v for *_, v in m.records} == {f"{p}-{i}".encode() for p in range(2) for i in range(20)}
    finally:
        m.close()
        if killed is not None:
            cluster.start(killed)
