"""TxnOffsetCommit (key 28), versions 0–4.

A transactional producer commits its consumer group's offsets as part of its transaction
(send_offsets_to_transaction): the group coordinator writes them to the group's
`__consumer_offsets` partition in a transactional batch carrying the producer's id and
epoch, and they count only once the transaction's commit marker reaches that partition
(engine/groups/manager.py). v3+ carries the consumer's generation, member id and instance
id (KIP-447), checked as OffsetCommit checks them: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
FENCED_INSTANCE_ID. The coordinator does not ask the transaction coordinator whether the
group was added to the transaction (AddOffsetsToTxn does that), as Kafka's TV1 brokers.
Not implemented: v5 (transaction version 2, which the engine does not advertise).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.common import offsets_to_commit, results_by_topic
from partita.engine.api.registry import api
from partita.engine.groups.coordinator import manager_of
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(28, 0, 4)
async def handle_txn_offset_commit(request, ctx):
    m = codec.response_module(28, ctx.api_version)
    offsets = offsets_to_commit(request.topics)
    manager = manager_of(ctx)
    if manager is None:
        results = {(t, p): ErrorCode.coordinator_not_available for t, p, *_ in offsets}
    else:
        image = ctx.broker.metadata
        results = await manager.txn_commit_offsets(
            request.group_id,
            request.producer_id,
            request.producer_epoch,
            getattr(request, "generation_id", -1),
            getattr(request, "member_id", ""),
            getattr(request, "group_instance_id", None),
            offsets,
            partition_exists=lambda name, index: image.partition(name, index) is not None,
        )
    topics = results_by_topic(m.TxnOffsetCommitResponseTopic, m.TxnOffsetCommitResponsePartition, request.topics,
                              results)
    return codec.build(m.TxnOffsetCommitResponse, throttle_time=timedelta(0), topics=topics)
