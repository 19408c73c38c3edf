"""DeleteRecords (key 21), versions 0–2.

The leader moves its log start offset to the requested offset (-1: the high watermark)
and drops whole segments below it; followers follow the leader's log start offset from
their fetch responses. An offset past the high watermark is OFFSET_OUT_OF_RANGE. The low
watermark answered is the leader's new log start offset.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.log.errors import LogError
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(21, 0, 2)
async def handle_delete_records(request, ctx):
    m = codec.response_module(21, ctx.api_version)
    broker = ctx.broker
    topics = []
    for t in request.topics:
        results = []
        for p in t.partitions:
            error, low = ErrorCode.none, -1
            partition = broker.replicas.get(t.name, p.partition_index)
            if partition is None:
                error = (ErrorCode.not_leader_or_follower if broker.metadata.partition(t.name, p.partition_index)
                         else ErrorCode.unknown_topic_or_partition)
            elif not partition.is_leader:
                error = ErrorCode.not_leader_or_follower
            else:
                target = partition.high_watermark if p.offset == -1 else p.offset
                if target < 0 or target > partition.high_watermark:
                    error = ErrorCode.offset_out_of_range
                else:
                    try:
                        low = partition.log.delete_records_before(target)
                    except LogError as exc:
                        error = ErrorCode(exc.code)
                    partition.notify()
            results.append(codec.build(m.DeleteRecordsPartitionResult, partition_index=p.partition_index,
                                       low_watermark=low, error_code=error))
        topics.append(codec.build(m.DeleteRecordsTopicResult, name=t.name, partitions=tuple(results)))
    return codec.build(m.DeleteRecordsResponse, throttle_time=timedelta(0), topics=tuple(topics))
