"""OffsetForLeaderEpoch (key 23), versions 2–4.

For a leader epoch, the largest epoch not above it that this leader knows and the offset
where that epoch ends (the start of the next one, or the log end offset for the current
epoch) — what followers truncate to after a leader change (KIP-101) and what consumers
use to detect log truncation (KIP-320). Only the leader answers.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(23, 2, 4)
async def handle_offset_for_leader_epoch(request, ctx):
    m = codec.response_module(23, ctx.api_version)
    broker = ctx.broker
    topics = []
    for t in request.topics:
        results = []
        for p in t.partitions:
            error, epoch, end = ErrorCode.none, -1, -1
            partition = broker.replicas.get(t.topic, p.partition)
            if partition is None:
                error = (ErrorCode.not_leader_or_follower if broker.metadata.partition(t.topic, p.partition)
                         else ErrorCode.unknown_topic_or_partition)
            elif not partition.is_leader:
                error = ErrorCode.not_leader_or_follower
            elif p.current_leader_epoch >= 0 and p.current_leader_epoch != partition.leader_epoch:
                error = (ErrorCode.fenced_leader_epoch if p.current_leader_epoch < partition.leader_epoch
                         else ErrorCode.unknown_leader_epoch)
            else:
                epoch, end = partition.log.end_offset_for(p.leader_epoch)
            results.append(codec.build(m.EpochEndOffset, error_code=error, partition=p.partition,
                                       leader_epoch=epoch, end_offset=end))
        topics.append(codec.build(m.OffsetForLeaderTopicResult, topic=t.topic, partitions=tuple(results)))
    return codec.build(m.OffsetForLeaderEpochResponse, throttle_time=timedelta(0), topics=tuple(topics))
