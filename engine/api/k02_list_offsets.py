"""ListOffsets (key 2), versions 1–10.

-1 latest: the high watermark, or with isolation_level 1 (read_committed, v2+) the last
stable offset, which also bounds the timestamp lookups below as in Kafka; -2 earliest: the
log start offset; -3 (v7) the record with
the largest timestamp; -4 (v8, earliest local) the log start offset too, and -5 (v9,
latest tiered) -1, as Kafka answers for a topic without tiered storage; any other value:
the first offset whose timestamp is at least that value, or -1/-1 when there is none.
v10's timeout_ms bounds a wait for remote storage, which the engine never does. Only the
leader answers; current_leader_epoch is checked from v4.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.log.errors import LogError
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED = -1, -2, -3, -4, -5


@api(2, 1, 10)
async def handle_list_offsets(request, ctx):
    m = codec.response_module(2, ctx.api_version)
    broker = ctx.broker
    topics = []
    for t in request.topics:
        partitions = []
        for p in t.partitions:
            error, offset, timestamp, epoch = ErrorCode.none, -1, -1, -1
            partition = broker.replicas.get(t.name, p.partition_index)
            requested_epoch = getattr(p, "current_leader_epoch", -1)
            if partition is None:
                error = (ErrorCode.not_leader_or_follower if broker.metadata.partition(t.name, p.partition_index)
                         else ErrorCode.unknown_topic_or_partition)
            elif not partition.is_leader and request.replica_id < 0:
                error = ErrorCode.not_leader_or_follower
            elif requested_epoch >= 0 and requested_epoch != partition.leader_epoch:
                error = (ErrorCode.fenced_leader_epoch if requested_epoch < partition.leader_epoch
                         else ErrorCode.unknown_leader_epoch)
            else:
                plog = partition.log
                read_committed = getattr(request, "isolation_level", 0) == 1
                hw = partition.last_stable_offset if read_committed else partition.high_watermark
                epoch = partition.leader_epoch
                try:
                    if p.timestamp == LATEST:
                        offset = hw
                    elif p.timestamp in (EARLIEST, EARLIEST_LOCAL):
                        offset = plog.log_start_offset
                        epoch = _epoch_of(plog, offset, epoch)
                    elif p.timestamp == MAX_TIMESTAMP:
                        found = plog.max_timestamp_offset()
                        if found is not None and found[0] < hw:
                            offset, timestamp = found
                            epoch = _epoch_of(plog, offset, epoch)
                    elif p.timestamp == LATEST_TIERED:
                        epoch = -1  # nothing is tiered: no offset
                    elif p.timestamp < 0:
                        error = ErrorCode.invalid_request
                    else:
                        found = plog.offset_for_timestamp(p.timestamp)
                        if found is not None and found[0] < hw:
                            offset, timestamp = found
                            epoch = _epoch_of(plog, offset, epoch)
                        else:
                            epoch = -1
                except LogError as exc:
                    error = ErrorCode(exc.code)
            partitions.append(codec.build(
                m.ListOffsetsPartitionResponse, partition_index=p.partition_index, error_code=error,
                timestamp=timestamp, offset=offset, leader_epoch=epoch if error == ErrorCode.none else -1,
            ))
        topics.append(codec.build(m.ListOffsetsTopicResponse, name=t.name, partitions=tuple(partitions)))
    return codec.build(m.ListOffsetsResponse, throttle_time=timedelta(0), topics=tuple(topics))


def _epoch_of(plog, offset: int, default: int) -> int:
    found = plog.epoch_for_offset(offset)
    return default if found is None else found
