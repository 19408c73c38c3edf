"""DescribeTopicPartitions (key 75), version 0 (KIP-966): what Kafka 4's admin client and
`kafka-topics --describe` ask for a topic's partitions, a page at a time.

Topics named in the request (an empty list: every topic) are answered in name order, their
partitions from the request's cursor on, at most response_partition_limit partitions in
all (Kafka's cap: 2000); when more remain, next_cursor names the first of them. A partition
carries its leader (-1 when it has none, with LEADER_NOT_AVAILABLE), epoch, replicas, ISR and
offline replicas, as in Metadata; the engine has no eligible leader replicas (KIP-966's
ELR), so both ELR lists are empty. An unknown topic answers UNKNOWN_TOPIC_OR_PARTITION.
Topic authorized operations are every topic operation: there are no ACLs.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.common import ZERO_UUID, partition_fields, serving_brokers
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

MAX_PARTITIONS = 2000
# READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS
TOPIC_OPERATIONS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))


@api(75, 0, 0)
async def handle_describe_topic_partitions(request, ctx):
    m = codec.response_module(75, ctx.api_version)
    image = ctx.broker.metadata
    names = sorted({t.name for t in request.topics} if request.topics else image.topics)
    cursor = request.cursor
    if cursor is not None:
        names = [n for n in names if n >= cursor.topic_name]
    budget = max(1, min(request.response_partition_limit, MAX_PARTITIONS))
    alive = serving_brokers(ctx)
    topics, next_cursor = [], None
    for name in names:
        topic = image.topics.get(name)
        if topic is None:
            topics.append(codec.build(
                m.DescribeTopicPartitionsResponseTopic, error_code=ErrorCode.unknown_topic_or_partition,
                name=name, topic_id=ZERO_UUID, is_internal=False, partitions=(),
                topic_authorized_operations=TOPIC_OPERATIONS))
            continue
        first = cursor.partition_index if cursor is not None and name == cursor.topic_name else 0
        if budget == 0:
            next_cursor = codec.build(m.Cursor, topic_name=name, partition_index=first)
            break
        indexes = range(first, len(topic.partitions))
        if len(indexes) > budget:
            next_cursor = codec.build(m.Cursor, topic_name=name, partition_index=first + budget)
            indexes = indexes[:budget]
        budget -= len(indexes)
        partitions = tuple(
            codec.build(m.DescribeTopicPartitionsResponsePartition, **partition_fields(i, topic.partitions[i], alive),
                        eligible_leader_replicas=(), last_known_elr=())
            for i in indexes
        )
        topics.append(codec.build(
            m.DescribeTopicPartitionsResponseTopic, error_code=ErrorCode.none, name=name, topic_id=topic.topic_id,
            is_internal=topic.internal, partitions=partitions, topic_authorized_operations=TOPIC_OPERATIONS))
        if next_cursor is not None:
            break
    return codec.build(m.DescribeTopicPartitionsResponse, throttle_time=timedelta(0), topics=tuple(topics),
                       next_cursor=next_cursor)
