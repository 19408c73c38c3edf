"""Consumer groups with real clients against a real engine broker process — and, as the
reference, the same scenarios against Apache Kafka."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.engine.groups.members import (
    BackgroundProducer,
    Member,
    balanced,
    committed,
    drive,
    per_partition,
    produce_numbered,
)
from tests.engine.helpers import admin, create_topic, produce


@pytest.fixture(params=["engine", pytest.param("kafka", marks=pytest.mark.kafka)])
def cluster(request):
    """Each scenario runs against the engine and, as the reference, against Apache Kafka."""
    return request.getfixturevalue("engine" if request.param == "engine" else "apache_kafka")


def describe(cluster, group: str):
    client = admin(cluster)  # a client destroyed before its future resolves never answers
    return client.describe_consumer_groups([group])[group].result(timeout=15)


def test_three_consumers_split_six_partitions_and_read_everything_once(cluster):
    topic, group = "grp-split", "grp-split-g"
    create_topic(cluster, topic, partitions=6)
    members = [Member(cluster, group, [topic], name=f"split-{i}") for i in range(3)]
    try:
        drive(members, lambda: balanced(members, topic, 6) and all(len(m.assigned) == 2 for m in members),
              what="three members with two partitions each")
        produced = produce_numbered(cluster, topic, 6, 50)
        drive(members, lambda: sum(len(m.records) for m in members) >= len(produced), what="all records")
        seen = Counter(v for m in members for v in m.values())
        assert set(seen) == produced
        assert all(c == 1 for c in seen.values()), "a record was read twice"
        for m in members:  # each read only its own partitions
            assert {(t, p) for t, p, _, _ in m.records} <= m.assigned
        assert committed(cluster, group, topic, 6) == dict.fromkeys(range(6), 50)
    finally:
        for m in members:
            m.close()


def test_members_leaving_and_joining_rebalance_without_skipping_records(cluster):
    topic, group = "grp-churn", "grp-churn-g"
    create_topic(cluster, topic, partitions=6)
    members = [Member(cluster, group, [topic], name=f"churn-{i}") for i in range(3)]
    producer = BackgroundProducer(cluster, topic, 6)
    try:
        drive(members, lambda: balanced(members, topic, 6), what="initial balance")
        producer.start()
        time.sleep(0.5)
        members[2].close()  # LeaveGroup: the other two take its partitions
        drive(members, lambda: balanced(members, topic, 6) and all(len(m.assigned) == 3 for m in members[:2]),
              what="rebalance after a leave")
        time.sleep(0.3)
        members.append(Member(cluster, group, [topic], name="churn-new"))
        drive(members, lambda: balanced(members, topic, 6) and len(members[3].assigned) == 2,
              what="rebalance after a join")
        time.sleep(0.3)
        expected = producer.stop()
        drive(members, lambda: expected <= {v for m in members for v in m.values()}, what="every record read")
        for m in members:
            if not m.closed:
                m.commit()
        assert committed(cluster, group, topic, 6) == per_partition(expected, 6)
        rebalances = sum(len(m.assign_events) for m in members)
        assert rebalances >= 6  # each member was assigned again at least once
    finally:
        producer.stop()
        for m in members:
            m.close()


def test_committed_offsets_survive_a_consumer_restart(cluster):
    topic, group = "grp-restart", "grp-restart-g"
    create_topic(cluster, topic, partitions=2)
    produced = produce_numbered(cluster, topic, 2, 40)
    first = Member(cluster, group, [topic], commit=False, name="restart-1")
    try:
        drive([first], lambda: len(first.records) >= 30, what="30 records")
        read = {}
        for _t, p, off, _ in first.records[:30]:
            read[p] = max(read.get(p, -1), off)
        first.consumer.commit(offsets=[TopicPartition(topic, p, off + 1) for p, off in read.items()],
                              asynchronous=False)
    finally:
        first.close()
    second = Member(cluster, group, [topic], name="restart-2")
    try:
        drive([second], lambda: len(second.records) >= 80 - sum(o + 1 for o in read.values()),
              what="the rest of the records")
        firsts = {}
        for _t, p, off, _ in second.records:
            firsts.setdefault(p, off)
        assert firsts == {p: read.get(p, -1) + 1 for p in firsts}
        assert {v for v in second.values()} | {r[3] for r in first.records[:30]} == produced
    finally:
        second.close()


def test_cooperative_sticky_moves_only_what_it_must(cluster):
    topic, group = "grp-coop", "grp-coop-g"
    create_topic(cluster, topic, partitions=6)
    config = {"partition.assignment.strategy": "cooperative-sticky"}
    a = Member(cluster, group, [topic], name="coop-a", **config)
    members = [a]
    try:
        drive(members, lambda: len(a.assigned) == 6, what="a owns everything")
        desc = describe(cluster, group)
        assert desc.partition_assignor == "cooperative-sticky"
        produced = produce_numbered(cluster, topic, 6, 10)
        drive(members, lambda: len(a.records) >= 60, what="a reads")
        members.append(Member(cluster, group, [topic], name="coop-b", **config))
        drive(members, lambda: balanced(members, topic, 6) and len(members[1].assigned) == 3, what="b joins")
        members.append(Member(cluster, group, [topic], name="coop-c", **config))
        drive(members, lambda: balanced(members, topic, 6) and all(len(m.assigned) == 2 for m in members),
              what="c joins")
        # Incremental: a only ever gave up partitions, never its whole assignment at once.
        assert a.revoke_events and all(0 < len(r) < 6 for r in a.revoke_events)
        assert len(a.assigned) == 2 and a.assigned <= {tp for ev in a.assign_events for tp in ev}
        more = produce_numbered(cluster, topic, 6, 10, start=10)
        drive(members, lambda: (produced | more) <= {v for m in members for v in m.values()}, what="all read")
        for m in members:
            assert {(t, p) for t, p, _, v in m.records if v in more} <= m.assigned
    finally:
        for m in members:
            m.close()


def test_static_member_restart_within_session_timeout_does_not_rebalance(cluster):
    topic, group = "grp-static", "grp-static-g"
    create_topic(cluster, topic, partitions=4)
    a = Member(cluster, group, [topic], name="static-a", **{"group.instance.id": "instance-a"})
    b = Member(cluster, group, [topic], name="static-b", **{"group.instance.id": "instance-b"})
    members = [a, b]
    try:
        drive(members, lambda: balanced(members, topic, 4) and len(a.assigned) == 2, what="two static members")
        before = (len(a.assign_events), len(a.revoke_events))
        b_partitions = set(b.assigned)
        desc = describe(cluster, group)
        old_ids = {m.group_instance_id: m.member_id for m in desc.members}
        assert set(old_ids) == {"instance-a", "instance-b"}
        b.close()  # a static member leaves no LeaveGroup behind: its place is kept
        b2 = Member(cluster, group, [topic], name="static-b2", **{"group.instance.id": "instance-b"})
        members.append(b2)
        drive(members, lambda: b2.assigned == b_partitions, what="b's partitions back at its restart")
        for _ in range(20):
            a.poll(0.05)
        assert (len(a.assign_events), len(a.revoke_events)) == before, "a was rebalanced"
        desc = describe(cluster, group)
        ids = {m.group_instance_id: m.member_id for m in desc.members}
        assert ids["instance-a"] == old_ids["instance-a"] and ids["instance-b"] != old_ids["instance-b"]
        assert desc.state.name == "STABLE"
    finally:
        for m in members:
            m.close()


def test_static_member_that_stays_away_is_removed_after_its_session(cluster):
    topic, group = "grp-static-gone", "grp-static-gone-g"
    create_topic(cluster, topic, partitions=2)
    cfg = {"session.timeout.ms": 6000}
    a = Member(cluster, group, [topic], name="gone-a", **{"group.instance.id": "gone-a", **cfg})
    b = Member(cluster, group, [topic], name="gone-b", **{"group.instance.id": "gone-b", **cfg})
    members = [a, b]
    try:
        drive(members, lambda: balanced(members, topic, 2) and len(a.assigned) == 1, what="two static members")
        b.close()
        drive(members, lambda: len(a.assigned) == 2, timeout=30, what="a takes over after b's session expired")
    finally:
        for m in members:
            m.close()


def test_assign_based_consumer_commits_with_generation_minus_one(cluster):
    topic, group = "grp-simple", "grp-simple-g"
    create_topic(cluster, topic, partitions=1)
    produce(cluster, topic, [b"x"] * 5)
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        c.commit(offsets=[TopicPartition(topic, 0, 3, metadata="simple")], asynchronous=False)
        got = c.committed([TopicPartition(topic, 0)], timeout=10)[0]
        assert (got.offset, got.metadata) == (3, "simple")
    finally:
        c.close()
    client = admin(cluster)  # keep the client alive until its futures are done
    listed = client.list_consumer_groups().result(timeout=15)
    assert any(g.group_id == group and g.state.name == "EMPTY" for g in listed.valid)


def test_kafka_python_group_consumer_shares_a_group_with_librdkafka(cluster):

    from kafka import KafkaConsumer

    topic, group = "grp-kpy", "grp-kpy-g"
    create_topic(cluster, topic, partitions=4)
    rdk = Member(cluster, group, [topic], name="rdkafka-member", **{"partition.assignment.strategy": "roundrobin"})
    kpy = KafkaConsumer(bootstrap_servers=cluster.bootstrap, group_id=group, client_id="kafka-python-member",
                        auto_offset_reset="earliest", enable_auto_commit=False, heartbeat_interval_ms=300,
                        session_timeout_ms=10000)
    # kafka-python assigns from its own metadata cache; as group leader with a cache that has not seen
    # the new topic yet it hands out nothing until its next metadata refresh. Load it first.
    assert kpy.partitions_for_topic(topic) == {0, 1, 2, 3}
    kpy.subscribe([topic])
    got: list[tuple[int, bytes]] = []
    mine: set[int] = set()
    failures: list[BaseException] = []
    stop = threading.Event()

    def kafka_python_loop():  # its own thread, as an application would run it
        try:
            while not stop.is_set():
                for records in kpy.poll(timeout_ms=100).values():
                    got.extend((r.partition, r.value) for r in records)
                mine.clear()
                mine.update(tp.partition for tp in kpy.assignment())
        except BaseException as exc:  # surfaces in the main thread's wait instead of a silent dead member
            failures.append(exc)
            raise

    def kafka_python_alive(condition):
        def check():
            if failures:
                raise AssertionError(f"the kafka-python consumer's thread failed: {failures[0]!r}")
            return condition()
        return check

    loop = threading.Thread(target=kafka_python_loop, daemon=True)
    loop.start()
    try:
        drive([rdk], kafka_python_alive(lambda: len(mine) == 2 and len(rdk.assigned) == 2),
              what="both clients with two partitions")
        produced = produce_numbered(cluster, topic, 4, 5)
        drive([rdk], kafka_python_alive(lambda: {v for _, v in got} | set(rdk.values()) >= produced),
              what="all records")
        stop.set()
        loop.join(10)
        kpy.commit()
        assert {p for p, _ in got} == mine and not mine & {p for _, p in rdk.assigned}
        assert len(got) + len(rdk.records) == len(produced)
        desc = describe(cluster, group)
        assert sorted(m.client_id for m in desc.members) == ["kafka-python-member", "rdkafka-member"]
    finally:
        stop.set()
        loop.join(10)
        kpy.close()
        rdk.close()
    assert committed(cluster, group, topic, 4) == dict.fromkeys(range(4), 5)


def test_initial_rebalance_delay_gathers_members_and_max_size_refuses_extra_ones(make_engine):
    cluster = make_engine(brokers=1, settings={"group.initial.rebalance.delay.ms": "1500", "group.max.size": "3",
                                               "offsets.topic.num.partitions": "4"})
    topic, group = "grp-delay", "grp-delay-g"
    create_topic(cluster, topic, partitions=6)
    members = [Member(cluster, group, [topic], name=f"delay-{i}") for i in range(3)]
    extra = None
    try:
        drive(members, lambda: balanced(members, topic, 6) and all(len(m.assigned) == 2 for m in members),
              what="three members")
        # All three arrived within the delay: one generation, nobody assigned twice or revoked.
        assert [len(m.assign_events) for m in members] == [1, 1, 1]
        assert not any(m.revoke_events for m in members)
        extra = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group, "client.id": "delay-extra",
                          "session.timeout.ms": 10000, "heartbeat.interval.ms": 300})
        errors = []
        extra.subscribe([topic], on_assign=lambda c, ps: errors.append("assigned"))
        deadline = time.monotonic() + 20
        while not errors and time.monotonic() < deadline:
            msg = extra.poll(0.1)
            if msg is not None and msg.error():
                errors.append(msg.error().name())
            for m in members:
                m.poll(0.01)
        assert errors and errors[0] == "GROUP_MAX_SIZE_REACHED"
        assert all(len(m.assigned) == 2 for m in members)
    finally:
        if extra is not None:
            extra.close()
        for m in members:
            m.close()
