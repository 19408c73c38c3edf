"""OffsetDelete (key 47), version 0.

Deletes a group's committed offsets for the partitions given (tombstones in
`__consumer_offsets`). Allowed for empty groups and for consumer-protocol groups on
topics they do not subscribe to; partitions of subscribed topics answer
GROUP_SUBSCRIBED_TO_TOPIC, partitions that do not exist UNKNOWN_TOPIC_OR_PARTITION (as Kafka;
offsets of a deleted topic go with it). Top-level errors: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP (a
non-consumer group with members), coordinator errors.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.groups.coordinator import manager_of
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(47, 0, 0)
async def handle_offset_delete(request, ctx):
    m = codec.response_module(47, ctx.api_version)
    manager = manager_of(ctx)
    wanted = [(t.name, [p.partition_index for p in t.partitions]) for t in request.topics]
    image = ctx.broker.metadata
    unknown = {(name, p): ErrorCode.unknown_topic_or_partition
               for name, parts in wanted for p in parts if image.partition(name, p) is None}
    if manager is None:
        error, results = ErrorCode.coordinator_not_available, {}
    else:
        known = [(name, [p for p in parts if (name, p) not in unknown]) for name, parts in wanted]
        error, results = await manager.delete_offsets(request.group_id, [(n, ps) for n, ps in known if ps])
        results = {**results, **unknown}
    topics = () if error != ErrorCode.none else tuple(
        codec.build(
            m.OffsetDeleteResponseTopic,
            name=name,
            partitions=tuple(codec.build(m.OffsetDeleteResponsePartition, partition_index=p,
                                         error_code=results.get((name, p), ErrorCode.none)) for p in parts),
        )
        for name, parts in wanted
    )
    return codec.build(m.OffsetDeleteResponse, error_code=error, throttle_time=timedelta(0), topics=topics)
