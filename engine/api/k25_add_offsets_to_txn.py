"""AddOffsetsToTxn (key 25), versions 0–4: a transactional producer will commit a group's offsets.

The coordinator adds the group's `__consumer_offsets` partition to the transaction, as
Kafka does, so the commit or abort marker reaches the offsets the producer then sends with
TxnOffsetCommit. Creates `__consumer_offsets` first if no group has yet. Errors as
AddPartitionsToTxn's (PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2); INVALID_REQUEST
for an empty group id.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.internal_topics import OFFSETS, coordinator_partition, ensure_internal_topic
from partita.engine.api.registry import api
from partita.engine.api.txn_requests import coordinator_of, versioned
from partita.engine.groups.hashing import OFFSETS_TOPIC
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(25, 0, 4)
async def handle_add_offsets_to_txn(request, ctx):
    m = codec.response_module(25, ctx.api_version)

    def answer(error):
        return codec.build(m.AddOffsetsToTxnResponse, throttle_time=timedelta(0),
                           error_code=versioned(error, ctx.api_version, 2))

    coordinator = coordinator_of(ctx)
    if coordinator is None:
        return answer(ErrorCode.coordinator_not_available)
    if not request.group_id:
        return answer(ErrorCode.invalid_request)
    if await ensure_internal_topic(ctx, OFFSETS) is not None:
        return answer(ErrorCode.coordinator_not_available)
    found = coordinator_partition(ctx.broker.metadata, OFFSETS, request.group_id)
    if found is None:
        return answer(ErrorCode.coordinator_not_available)
    return answer(await coordinator.add_partitions(request.transactional_id, request.producer_id,
                                                   request.producer_epoch, {(OFFSETS_TOPIC, found[0])}))
