"""The group APIs at the edges of their version ranges, spoken byte for byte (kio codecs):
versions that today's clients do not send (JoinGroup v0, LeaveGroup v0, OffsetFetch v1,
OffsetCommit v2 with a retention time) and the newest ones (batched FindCoordinator,
LeaveGroup and OffsetFetch)."""

from __future__ import annotations

from datetime import timedelta

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from partita.engine.groups import records as rec
from partita.engine.groups.hashing import partition_for
from tests.engine.groups.raw import RawClient, request_module
from tests.engine.helpers import create_topic
from tests.support.engine_cluster import EngineCluster

E_NONE, E_NOT_COORDINATOR = 0, 16


def coordinator_address(cluster, group: str) -> str:
    fc = request_module(10, 0)
    with RawClient(cluster.address(cluster.broker_ids[0])) as c:
        for _ in range(50):
            r = c.call(fc.FindCoordinatorRequest(key=group))
            if r.error_code == E_NONE:
                return f"{r.host}:{r.port}"
    raise AssertionError(f"no coordinator for {group}: {r}")


def read_offsets_topic(cluster: EngineCluster, group: str):
    partition = partition_for(group, 50)
    reader = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "raw-reader", "enable.auto.commit": False})
    try:
        _, high = reader.get_watermark_offsets(TopicPartition("__consumer_offsets", partition), timeout=10)
        reader.assign([TopicPartition("__consumer_offsets", partition, OFFSET_BEGINNING)])
        out = []
        while not out or out[-1][0] < high - 1:
            for msg in reader.consume(100, 1.0):
                out.append((msg.offset(), msg.key(), msg.value()))
        return [(rec.decode_key(k), v) for _, k, v in out if rec.decode_key(k).__class__ is not rec.OtherKey
                and rec.decode_key(k).group == group]
    finally:
        reader.close()


def test_oldest_versions_join_sync_commit_fetch_describe_leave_delete(engine):
    group, topic = "raw-v0", "raw-v0-t"
    create_topic(engine, topic, partitions=2)
    with RawClient(coordinator_address(engine, group)) as c:
        jg = request_module(11, 0)
        join = c.call(jg.JoinGroupRequest(
            group_id=group, session_timeout=timedelta(seconds=10), member_id="", protocol_type="consumer",
            protocols=(jg.JoinGroupRequestProtocol(name="range", metadata=b"meta"),)))
        assert join.error_code == E_NONE  # no MEMBER_ID_REQUIRED before v4
        assert join.generation_id == 1 and join.leader == join.member_id and join.protocol_name == "range"
        assert [(m.member_id, m.metadata) for m in join.members] == [(join.member_id, b"meta")]
        member = join.member_id

        sg = request_module(14, 0)
        sync = c.call(sg.SyncGroupRequest(group_id=group, generation_id=1, member_id=member, assignments=(
            sg.SyncGroupRequestAssignment(member_id=member, assignment=b"asg"),)))
        assert (sync.error_code, sync.assignment) == (E_NONE, b"asg")

        hb = request_module(12, 0)
        assert c.call(hb.HeartbeatRequest(group_id=group, generation_id=1, member_id=member)).error_code == E_NONE
        assert c.call(hb.HeartbeatRequest(group_id=group, generation_id=7, member_id=member)).error_code == 22

        oc = request_module(8, 2)
        commit = c.call(oc.OffsetCommitRequest(
            group_id=group, generation_id_or_member_epoch=1, member_id=member,
            retention_time=timedelta(minutes=5),
            topics=(oc.OffsetCommitRequestTopic(name=topic, partitions=(
                oc.OffsetCommitRequestPartition(partition_index=0, committed_offset=42, committed_metadata="v2"),
                oc.OffsetCommitRequestPartition(partition_index=1, committed_offset=7, committed_metadata=None),
            )),)))
        assert [p.error_code for p in commit.topics[0].partitions] == [E_NONE, E_NONE]

        of = request_module(9, 1)
        fetched = c.call(of.OffsetFetchRequest(group_id=group, topics=(
            of.OffsetFetchRequestTopic(name=topic, partition_indexes=(0, 1, 5)),)))
        got = [(p.partition_index, p.committed_offset, p.metadata, p.error_code) for p in fetched.topics[0].partitions]
        assert got == [(0, 42, "v2", 0), (1, 7, "", 0), (5, -1, "", 0)]

        dg = request_module(15, 0)
        (described,) = c.call(dg.DescribeGroupsRequest(groups=(group,))).groups
        assert (described.group_state, described.protocol_type, described.protocol_data) == \
            ("Stable", "consumer", "range")
        assert [(m.member_id, m.client_id, m.client_host, m.member_metadata, m.member_assignment)
                for m in described.members] == [(member, "raw-client", "/127.0.0.1", b"meta", b"asg")]

        lg = request_module(13, 0)
        assert c.call(lg.LeaveGroupRequest(group_id=group, member_id=member)).error_code == E_NONE
        assert c.call(lg.LeaveGroupRequest(group_id=group, member_id=member)).error_code == 25  # UNKNOWN_MEMBER_ID

        ls = request_module(16, 0)
        listed = c.call(ls.ListGroupsRequest())
        assert (group, "consumer") in [(g.group_id, g.protocol_type) for g in listed.groups]

        dl = request_module(42, 0)
        (deleted,) = c.call(dl.DeleteGroupsRequest(groups_names=(group,))).results
        assert (deleted.group_id, deleted.error_code) == (group, E_NONE)

    records = read_offsets_topic(engine, group)
    offsets = [(k.topic, k.partition, rec.decode_offset_commit_value(v)) for k, v in records
               if isinstance(k, rec.OffsetCommitKey) and v is not None]
    assert [(t, p, v.offset, v.metadata) for t, p, v in offsets] == [(topic, 0, 42, "v2"), (topic, 1, 7, "")]
    for _, _, v in offsets:  # a retention time is an expire timestamp: OffsetCommitValue v1
        assert v.expire_timestamp - v.commit_timestamp == 300_000 and v.leader_epoch == -1
    tombstones = [k for k, v in records if v is None]
    assert tombstones == [rec.OffsetCommitKey(group, topic, 0), rec.OffsetCommitKey(group, topic, 1),
                          rec.GroupMetadataKey(group)]


def test_newest_versions_batch_keys_members_and_groups(engine):
    group, other, topic = "raw-v-new", "raw-v-new-other", "raw-v-new-t"
    create_topic(engine, topic, partitions=1)
    fc = request_module(10, 4)
    with RawClient(engine.address(engine.broker_ids[0])) as c:
        r = c.call(fc.FindCoordinatorRequest(key_type=0, coordinator_keys=(group, other)))
        assert [(x.key, x.error_code) for x in r.coordinators] == [(group, 0), (other, 0)]
        r = c.call(fc.FindCoordinatorRequest(key_type=1, coordinator_keys=("txn",)))
        # a transaction coordinator is found, as in Kafka, though the engine has no transactions
        assert (r.coordinators[0].error_code, r.coordinators[0].node_id) == (0, engine.broker_ids[0])

    with RawClient(coordinator_address(engine, group)) as c:
        jg = request_module(11, 7)

        def join(member_id="", instance=None):
            return c.call(jg.JoinGroupRequest(
                group_id=group, session_timeout=timedelta(seconds=10), rebalance_timeout=timedelta(seconds=10),
                member_id=member_id, group_instance_id=instance, protocol_type="consumer",
                protocols=(jg.JoinGroupRequestProtocol(name="roundrobin", metadata=b"m"),)))

        first = join()
        assert first.error_code == 79 and first.member_id.startswith("raw-client-")  # MEMBER_ID_REQUIRED
        joined = join(first.member_id)
        assert (joined.error_code, joined.protocol_type, joined.protocol_name) == (0, "consumer", "roundrobin")
        member, generation = joined.member_id, joined.generation_id

        sg = request_module(14, 5)

        def sync(protocol_name):
            return c.call(sg.SyncGroupRequest(
                group_id=group, generation_id=generation, member_id=member, group_instance_id=None,
                protocol_type="consumer", protocol_name=protocol_name,
                assignments=(sg.SyncGroupRequestAssignment(member_id=member, assignment=b"a"),)))

        assert sync("range").error_code == 23  # INCONSISTENT_GROUP_PROTOCOL
        ok = sync("roundrobin")
        assert (ok.error_code, ok.assignment, ok.protocol_name) == (0, b"a", "roundrobin")

        ls = request_module(16, 4)
        stable = c.call(ls.ListGroupsRequest(states_filter=("stable",)))  # any case, as Kafka
        assert (group, "Stable") in [(g.group_id, g.group_state) for g in stable.groups]
        empty = c.call(ls.ListGroupsRequest(states_filter=("Empty",)))
        assert group not in [g.group_id for g in empty.groups]

        dg = request_module(15, 5)
        (d,) = c.call(dg.DescribeGroupsRequest(groups=(group,), include_authorized_operations=True)).groups
        assert d.authorized_operations == (1 << 3) | (1 << 6) | (1 << 8)  # READ, DELETE, DESCRIBE

        od = request_module(47, 0)
        gone = c.call(od.OffsetDeleteRequest(group_id="raw-no-such-group", topics=()))
        assert gone.error_code == 69  # GROUP_ID_NOT_FOUND

        lv = request_module(13, 4)
        left = c.call(lv.LeaveGroupRequest(group_id=group, members=(
            lv.MemberIdentity(member_id=member, group_instance_id=None),
            lv.MemberIdentity(member_id="stranger", group_instance_id=None),
        )))
        assert left.error_code == 0
        assert [(m.member_id, m.error_code) for m in left.members] == [(member, 0), ("stranger", 25)]

        oc = request_module(8, 8)
        for g, offset in ((group, 3), (other, 9)):
            with RawClient(coordinator_address(engine, g)) as cc:
                res = cc.call(oc.OffsetCommitRequest(
                    group_id=g, generation_id_or_member_epoch=-1, member_id="", group_instance_id=None,
                    topics=(oc.OffsetCommitRequestTopic(name=topic, partitions=(oc.OffsetCommitRequestPartition(
                        partition_index=0, committed_offset=offset, committed_leader_epoch=4,
                        committed_metadata="m"),)),)))
                assert res.topics[0].partitions[0].error_code == 0

    of = request_module(9, 8)
    with RawClient(coordinator_address(engine, group)) as c:
        r = c.call(of.OffsetFetchRequest(require_stable=True, groups=(
            of.OffsetFetchRequestGroup(group_id=group, topics=None),
            of.OffsetFetchRequestGroup(group_id=other, topics=(
                of.OffsetFetchRequestTopics(name=topic, partition_indexes=(0,)),)),
        )))
        by_group = {g.group_id: g for g in r.groups}
        mine = by_group[group]
        assert mine.error_code == 0
        assert [(t.name, p.partition_index, p.committed_offset, p.committed_leader_epoch, p.metadata)
                for t in mine.topics for p in t.partitions] == [(topic, 0, 3, 4, "m")]
        theirs = by_group[other]
        same_coordinator = coordinator_address(engine, other) == coordinator_address(engine, group)
        assert theirs.error_code == (0 if same_coordinator else E_NOT_COORDINATOR)
        if same_coordinator:
            assert theirs.topics[0].partitions[0].committed_offset == 9


def test_list_groups_v5_types_and_describe_groups_v6_unknown_group(single_broker):
    """ListGroups v5 says each group is "classic" and filters by type; DescribeGroups v6 answers
    an unknown group with GROUP_ID_NOT_FOUND (engine and Kafka alike)."""
    import time
    import uuid

    from confluent_kafka import KafkaException
    from confluent_kafka import TopicPartition as TP

    cluster = single_broker
    group, topic = f"typed-{uuid.uuid4().hex[:8]}", f"typed-t-{uuid.uuid4().hex[:8]}"
    create_topic(cluster, topic)
    committer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        deadline = time.monotonic() + 30
        while True:  # an Empty classic group; a fresh Kafka's coordinator may still be loading
            try:
                committer.commit(offsets=[TP(topic, 0, 0)], asynchronous=False)
                break
            except KafkaException as exc:
                if not exc.args[0].retriable() and exc.args[0].name() != "NOT_COORDINATOR" \
                        or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        committer.close()
    with RawClient(coordinator_address(cluster, group)) as c:
        ls = request_module(16, 5)
        classic = c.call(ls.ListGroupsRequest(states_filter=(), types_filter=("Classic",)))
        assert (group, "classic") in [(g.group_id, g.group_type) for g in classic.groups]
        consumer = c.call(ls.ListGroupsRequest(states_filter=(), types_filter=("consumer",)))
        assert group not in [g.group_id for g in consumer.groups]
        dg = request_module(15, 6)
        described = {g.group_id: g for g in c.call(dg.DescribeGroupsRequest(
            groups=("no-such-group", group), include_authorized_operations=False)).groups}
        unknown, known = described["no-such-group"], described[group]  # Kafka may answer in another order
        assert (unknown.error_code, unknown.error_message, unknown.group_state) == \
            (69, "Group no-such-group not found.", "Dead")
        assert (known.error_code, known.group_state) == (0, "Empty")
