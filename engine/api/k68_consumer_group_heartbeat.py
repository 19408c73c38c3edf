"""ConsumerGroupHeartbeat (key 68), versions 0–1: the KIP-848 consumer group protocol.

engine/groups/consumer_protocol.py has the behaviour. A member joins with epoch 0 (v0: the
coordinator gives it a member id; v1: the client brings its own), heartbeats with its epoch
and the partitions it owns, leaves with epoch -1 (a static member with -2: it keeps its
partitions for its instance id until its session expires). Answers carry the member
epoch, the heartbeat interval (`group.consumer.heartbeat.interval.ms`) and, when it
changed or the request was a full one, the member's assignment by topic id. Server
assignors "uniform" (default) and "range" (`group.consumer.assignors`); others
UNSUPPORTED_ASSIGNOR. Errors as Kafka: INVALID_REQUEST with Kafka's messages for missing
fields, FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, UNRELEASED_INSTANCE_ID,
GROUP_MAX_SIZE_REACHED (`group.consumer.max.size`), GROUP_ID_NOT_FOUND when a non-empty
classic group has the id, coordinator errors. v1's SubscribedTopicRegex is matched with
Python's `re` (full match; Kafka uses RE2J, whose syntax differs at the edges), internal
topics excluded. Not implemented: the online migration of a classic group (Kafka 4.1 turns a
classic group of consumers into a consumer group when a consumer-protocol member joins),
rack-aware assignment, per-group configs (IncrementalAlterConfigs on a GROUP resource).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.groups.coordinator import client_host, manager_of, millis
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(68, 0, 1)
async def handle_consumer_group_heartbeat(request, ctx):
    version = ctx.api_version
    m = codec.response_module(68, version)
    manager = manager_of(ctx)
    if manager is None:
        return codec.build(m.ConsumerGroupHeartbeatResponse, throttle_time=timedelta(0),
                           error_code=ErrorCode.coordinator_not_available, error_message=None, member_id=None,
                           member_epoch=0, heartbeat_interval=timedelta(0), assignment=None)
    image = ctx.broker.metadata

    def lookup(name):
        topic = image.topics.get(name)
        return None if topic is None else (topic.topic_id, len(topic.partitions))

    owned = request.topic_partitions
    result = manager.consumer.heartbeat(
        version, request.group_id, request.member_id or "", request.member_epoch, request.instance_id,
        request.rack_id, millis(request.rebalance_timeout),
        None if request.subscribed_topic_names is None else list(request.subscribed_topic_names),
        getattr(request, "subscribed_topic_regex", None), request.server_assignor,
        None if owned is None else [(tp.topic_id, list(tp.partitions)) for tp in owned],
        ctx.client_id or "", client_host(ctx), lookup, lambda: list(image.topics),
    )
    assignment = None
    if result.assignment is not None:
        assignment = m.Assignment(topic_partitions=tuple(
            m.TopicPartitions(topic_id=t, partitions=tuple(sorted(ps)))
            for t, ps in sorted(result.assignment.items(), key=lambda kv: str(kv[0])) if ps))
    ok = result.error == ErrorCode.none
    return codec.build(
        m.ConsumerGroupHeartbeatResponse,
        throttle_time=timedelta(0),
        error_code=result.error,
        error_message=result.message,
        member_id=result.member_id if ok else None,
        member_epoch=result.epoch if ok else 0,
        heartbeat_interval=timedelta(milliseconds=result.heartbeat_interval_ms if ok else 0),
        assignment=assignment,
    )
