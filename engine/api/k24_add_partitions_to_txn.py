"""AddPartitionsToTxn (key 24), versions 0–3: a transactional producer names the partitions it will write.

Answered by the transactional id's coordinator, which adds them to the open transaction
(opening it: Ongoing) and writes that to `__transaction_state` before answering. Partitions
of topics the metadata does not know are UNKNOWN_TOPIC_OR_PARTITION and the others of the
request OPERATION_NOT_ATTEMPTED, as Kafka answers; the coordinator's own error (NOT_COORDINATOR,
CONCURRENT_TRANSACTIONS, PRODUCER_FENCED — INVALID_PRODUCER_EPOCH before v2 —,
INVALID_PRODUCER_ID_MAPPING, ...) goes to every partition. Not implemented: v4–5, the
batched form brokers use to verify partitions (KIP-890), and transaction version 2.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.api.txn_requests import coordinator_of, versioned
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(24, 0, 3)
async def handle_add_partitions_to_txn(request, ctx):
    version = ctx.api_version
    m = codec.response_module(24, version)
    wanted = [(t.name, p) for t in request.v3_and_below_topics for p in t.partitions]
    image = ctx.broker.metadata
    unknown = {(t, p) for t, p in wanted if image.partition(t, p) is None}
    if unknown:
        errors = {key: ErrorCode.unknown_topic_or_partition if key in unknown else ErrorCode.operation_not_attempted
                  for key in wanted}
    else:
        coordinator = coordinator_of(ctx)
        error = ErrorCode.coordinator_not_available if coordinator is None else await coordinator.add_partitions(
            request.v3_and_below_transactional_id, request.v3_and_below_producer_id,
            request.v3_and_below_producer_epoch, set(wanted))
        errors = dict.fromkeys(wanted, versioned(error, version, 2))
    by_topic: dict[str, list[int]] = {}
    for topic, index in wanted:
        by_topic.setdefault(topic, []).append(index)
    return codec.build(
        m.AddPartitionsToTxnResponse, throttle_time=timedelta(0),
        results_by_topic_v3_and_below=tuple(
            codec.build(m.AddPartitionsToTxnTopicResult, name=topic, results_by_partition=tuple(
                codec.build(m.AddPartitionsToTxnPartitionResult, partition_index=p,
                            partition_error_code=errors[(topic, p)])
                for p in indexes))
            for topic, indexes in by_topic.items()
        ),
    )
