"""The group admin scenario, runnable against the engine and against Apache Kafka alike.

It returns what the clients saw (states, members, offsets, lag, error codes), with the
names that differ between runs (member ids, ports) left out, so the engine's answers can
be compared with Kafka's.
"""

from __future__ import annotations

from confluent_kafka import ConsumerGroupState, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from kafka import TopicPartition as KTopicPartition
from kafka.admin import KafkaAdminClient, MemberToRemove

from tests.engine.groups.members import Member, drive
from tests.engine.helpers import create_topic, produce


def _offsets(client, group, partitions=None):
    request = ConsumerGroupTopicPartitions(group, partitions)
    result = client.list_consumer_group_offsets([request])[group].result(timeout=15)
    return {tp.partition: (tp.offset, tp.metadata or "") for tp in result.topic_partitions}


def _group_ids(client, states=None):
    kwargs = {"states": states} if states else {}
    return {g.group_id for g in client.list_consumer_groups(request_timeout=15, **kwargs).result(timeout=20).valid}


def run_admin_scenario(cluster, topic: str, group: str) -> dict:
    seen: dict = {}
    create_topic(cluster, topic, partitions=3)
    for p in range(3):
        produce(cluster, topic, [b"x"] * 10, partition=p)
    client = AdminClient({"bootstrap.servers": cluster.bootstrap})
    kclient = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=15000)
    member = Member(cluster, group, [topic], commit=False, name="admin-scenario")
    try:
        drive([member], lambda: len(member.records) >= 30, what="30 records")
        consumer = member.consumer
        consumer.commit(offsets=[TopicPartition(topic, 0, 10), TopicPartition(topic, 1, 4, metadata="m1")],
                        asynchronous=False)

        seen["listed_stable"] = group in _group_ids(client, {ConsumerGroupState.STABLE})
        seen["listed_empty_while_active"] = group in _group_ids(client, {ConsumerGroupState.EMPTY})
        d = client.describe_consumer_groups([group])[group].result(timeout=15)
        seen["describe_active"] = {
            "state": d.state.name,
            "simple": d.is_simple_consumer_group,
            "assignor": d.partition_assignor,
            "members": [(m.client_id, m.host.lstrip("/"), m.group_instance_id,
                         sorted(tp.partition for tp in m.assignment.topic_partitions)) for m in d.members],
            "coordinator_known": d.coordinator.id in {b.id for b in client.describe_cluster().result(timeout=15).nodes},
        }
        seen["offsets_all"] = _offsets(client, group)
        seen["offsets_some"] = _offsets(client, group, [TopicPartition(topic, 1), TopicPartition(topic, 2)])
        lag = {}
        for p in range(3):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            committed = seen["offsets_all"].get(p, (-1001, ""))[0]
            lag[p] = high - committed if committed >= 0 else None
        seen["lag"] = lag
        try:
            result = client.alter_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 2)])])[group].result(timeout=15)
            seen["alter_active"] = [tp.error.name() if tp.error else None for tp in result.topic_partitions]
        except KafkaException as exc:
            seen["alter_active"] = exc.args[0].name()
        seen["offset_delete_subscribed"] = {
            tp.partition: err.__name__ for tp, err in kclient.delete_group_offsets(
                group, [KTopicPartition(topic, 0)]).items()}
        try:
            client.delete_consumer_groups([group])[group].result(timeout=15)
            seen["delete_active"] = "ok"
        except KafkaException as exc:
            seen["delete_active"] = exc.args[0].name()
    finally:
        member.close()

    d = client.describe_consumer_groups([group])[group].result(timeout=15)
    seen["describe_empty"] = {"state": d.state.name, "members": len(d.members)}
    seen["listed_empty"] = group in _group_ids(client, {ConsumerGroupState.EMPTY})
    result = client.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(
        group, [TopicPartition(topic, 0, 2), TopicPartition(topic, 2, 5, metadata="set")])])[group].result(timeout=15)
    seen["alter_empty"] = sorted((tp.partition, tp.offset, tp.error) for tp in result.topic_partitions)
    seen["offsets_after_alter"] = _offsets(client, group)
    seen["offset_delete_empty"] = {
        tp.partition: err.__name__ for tp, err in kclient.delete_group_offsets(group, [KTopicPartition(topic, 2)]).items()}
    seen["offsets_after_offset_delete"] = _offsets(client, group)
    other = group + "-other"
    client.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(
        other, [TopicPartition(topic, 1, 7)])])[other].result(timeout=15)
    both = kclient.list_group_offsets({group: None, other: None})  # OffsetFetch v8: several groups
    seen["fetch_two_groups"] = {g: sorted((tp.partition, om.offset) for tp, om in offs.items())
                                for g, offs in both.items()}
    client.delete_consumer_groups([group, other])[group].result(timeout=15)
    seen["listed_after_delete"] = group in _group_ids(client)
    seen["offsets_after_delete"] = _offsets(client, group, [TopicPartition(topic, 0)])
    seen["describe_deleted"] = client.describe_consumer_groups([group])[group].result(timeout=15).state.name
    kclient.close()
    return seen


def run_static_removal_scenario(cluster, topic: str, group: str) -> dict:
    """Batched LeaveGroup (v3+) by group instance id, as kafka-python's remove_group_members sends it."""
    create_topic(cluster, topic, partitions=2)
    members = [Member(cluster, group, [topic], name=f"static-{i}", **{"group.instance.id": f"inst-{i}"})
               for i in range(2)]
    kclient = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=15000)
    seen = {}
    try:
        drive(members, lambda: all(len(m.assigned) == 1 for m in members), what="two static members")
        members[1].close()  # a static member's close sends no LeaveGroup: its place is kept until removed
        result = kclient.remove_group_members(group, [MemberToRemove(group_instance_id="inst-1"),
                                                      MemberToRemove(group_instance_id="inst-9")])
        seen["removed"] = _removal_summary(result)
        drive(members, lambda: len(members[0].assigned) == 2, what="inst-0 takes both partitions")
        seen["left"] = "ok"
    finally:
        for m in members:
            m.close()
        kclient.close()
    return seen


def _removal_summary(result):
    if isinstance(result, dict):
        items = result.items()
    else:
        items = [(getattr(r, "group_instance_id", None), getattr(r, "error", r)) for r in result]
    out = {}
    for key, err in items:
        name = getattr(key, "group_instance_id", key)
        out[str(name)] = getattr(err, "__name__", type(err).__name__)
    return out
