"""WriteTxnMarkers (key 27), version 1 (Kafka 4 removed 0): a transaction coordinator has leaders close a transaction.

For each marker (producer id and epoch, commit or abort, coordinator epoch) and each
partition named, the partition's leader appends a control batch (engine/log/control_batches.py)
and answers once it is replicated (acks=all), as Kafka's ReplicaManager appends with
AppendOrigin.COORDINATOR. The marker closes the producer's transaction in the partition
(its last stable offset moves on; an abort records the aborted range for read_committed
fetches). On a `__consumer_offsets` partition the group coordinator then applies or drops
the producer's pending transactional offsets. Errors per partition: NOT_LEADER_OR_FOLLOWER,
UNKNOWN_TOPIC_OR_PARTITION, INVALID_PRODUCER_EPOCH (a marker older than the producer's
epoch), TRANSACTION_COORDINATOR_FENCED, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT.
"""

from __future__ import annotations

import asyncio

from partita.engine.api.common import await_replication
from partita.engine.api.registry import api
from partita.engine.broker.partition import now_ms
from partita.engine.groups.coordinator import manager_of
from partita.engine.groups.hashing import OFFSETS_TOPIC
from partita.engine.log.errors import LogError
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

REPLICATION_TIMEOUT_S = 30.0


@api(27, 1, 1)
async def handle_write_txn_markers(request, ctx):
    m = codec.response_module(27, ctx.api_version)
    markers = []
    for marker in request.markers:
        pending = []
        topics = []
        for t in marker.topics:
            results = {p: _append(ctx, marker, t.name, p, pending) for p in t.partition_indexes}
            topics.append((t.name, results))
        if pending:
            await asyncio.gather(*(_replicated(ctx, marker, *entry) for entry in pending))
        markers.append(codec.build(
            m.WritableTxnMarkerResult,
            producer_id=marker.producer_id,
            topics=tuple(
                codec.build(m.WritableTxnMarkerTopicResult, name=name, partitions=tuple(
                    codec.build(m.WritableTxnMarkerPartitionResult, partition_index=p, error_code=result["error"])
                    for p, result in results.items()))
                for name, results in topics
            ),
        ))
    return codec.build(m.WriteTxnMarkersResponse, markers=tuple(markers))


def _append(ctx, marker, topic: str, index: int, pending: list) -> dict:
    broker = ctx.broker
    result = {"error": ErrorCode.none}
    partition = broker.replicas.get(topic, index)
    if partition is None or not partition.is_leader:
        known = broker.metadata.partition(topic, index) is not None
        result["error"] = ErrorCode.not_leader_or_follower if known else ErrorCode.unknown_topic_or_partition
        return result
    if len(partition.state.isr) < partition.effective_min_isr:
        result["error"] = ErrorCode.not_enough_replicas
        return result
    try:
        appended = partition.log.append_marker(marker.transaction_result, marker.producer_id, marker.producer_epoch,
                                               marker.coordinator_epoch, partition.leader_epoch, now_ms())
    except LogError as exc:
        result["error"] = ErrorCode(exc.code)
        return result
    partition.maybe_advance_hw()
    partition.notify()
    pending.append((result, topic, index, partition, appended.last_offset + 1))
    return result


async def _replicated(ctx, marker, result: dict, topic: str, index: int, partition, end: int) -> None:
    result["error"] = await await_replication(partition, end, REPLICATION_TIMEOUT_S)
    if result["error"] == ErrorCode.none and topic == OFFSETS_TOPIC:
        manager = manager_of(ctx)
        if manager is not None:
            manager.complete_txn(index, marker.producer_id, committed=marker.transaction_result)
