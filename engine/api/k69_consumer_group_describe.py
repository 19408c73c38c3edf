"""ConsumerGroupDescribe (key 69), versions 0–1.

Per group: state (Empty, Assigning, Reconciling, Stable), group epoch, target assignment
epoch, the assignor in use (the one most members ask for, else the default), and each
member with its epoch, client id and host, instance and rack ids, subscription, current
assignment and target assignment (topic ids and names); v1 adds the member type
(1: consumer protocol). An unknown group answers GROUP_ID_NOT_FOUND ("Group <id> not
found."), a classic group GROUP_ID_NOT_FOUND ("Group <id> is not a consumer group.") — admin
clients then describe it with DescribeGroups, as with Kafka. Authorized operations (when
asked) are all a group allows: there are no ACLs.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.k15_describe_groups import GROUP_OPERATIONS, NO_OPERATIONS
from partita.engine.api.registry import api
from partita.engine.groups.coordinator import manager_of
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

CONSUMER_MEMBER_TYPE = 1


@api(69, 0, 1)
async def handle_consumer_group_describe(request, ctx):
    m = codec.response_module(69, ctx.api_version)
    manager = manager_of(ctx)
    names = ctx.broker.metadata.topic_ids
    operations = GROUP_OPERATIONS if request.include_authorized_operations else NO_OPERATIONS

    def assignment(partitions):
        return m.Assignment(topic_partitions=tuple(
            m.TopicPartitions(topic_id=t, topic_name=names.get(t, ""), partitions=tuple(sorted(ps)))
            for t, ps in sorted(partitions.items(), key=lambda kv: names.get(kv[0], str(kv[0]))) if ps))

    groups = []
    for group_id in request.group_ids:
        if manager is None:
            error, message, group = ErrorCode.coordinator_not_available, None, None
        else:
            error, message, group = manager.consumer.describe(group_id)
        if group is None:
            groups.append(codec.build(m.DescribedGroup, error_code=error, error_message=message, group_id=group_id,
                                      group_state="", group_epoch=0, assignment_epoch=0, assignor_name="",
                                      members=(), authorized_operations=NO_OPERATIONS))
            continue
        members = tuple(
            codec.build(
                m.Member, member_id=mem.member_id, instance_id=mem.instance_id, rack_id=mem.rack_id,
                member_epoch=mem.epoch, client_id=mem.client_id, client_host=mem.client_host,
                subscribed_topic_names=tuple(mem.subscribed_topic_names),
                subscribed_topic_regex=mem.subscribed_topic_regex,
                assignment=assignment(mem.assigned), target_assignment=assignment(group.target.get(mem.member_id, {})),
                member_type=CONSUMER_MEMBER_TYPE,
            )
            for mem in group.members.values()
        )
        groups.append(codec.build(
            m.DescribedGroup, error_code=ErrorCode.none, error_message=None, group_id=group_id,
            group_state=group.state.value, group_epoch=group.group_epoch, assignment_epoch=group.assignment_epoch,
            assignor_name=manager.consumer.default_assignor(group), members=members,
            authorized_operations=operations,
        ))
    return codec.build(m.ConsumerGroupDescribeResponse, throttle_time=timedelta(0), groups=tuple(groups))
