"""AddPartitionsToTxn (key 24), versions 0–4: a transactional producer names the partitions it will write.

Versions 0–3 (what clients send): one transaction. Answered by the transactional id's
coordinator, which adds the partitions to the open transaction (opening it: Ongoing) and
writes that to `__transaction_state` before answering. Partitions of topics the metadata does
not know are UNKNOWN_TOPIC_OR_PARTITION and the others of the request OPERATION_NOT_ATTEMPTED,
as Kafka answers; the coordinator's own error (NOT_COORDINATOR, CONCURRENT_TRANSACTIONS,
PRODUCER_FENCED — INVALID_PRODUCER_EPOCH before v2 —, INVALID_PRODUCER_ID_MAPPING, ...) goes
to every partition.

Version 4 (KIP-890 part 1, what brokers send): several transactions in one request, each
either added as above or, with `verify_only`, only checked: is each partition in the
producer's open transaction? A partition leader asks that before a transactional batch may
open the transaction in its partition (transactions/verification.py). A partition that is not in
it is INVALID_TXN_STATE (Kafka's coordinator says TRANSACTION_ABORTABLE, which v4 answers
with the older code). Not implemented: v5 and transaction version 2.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.api.txn_requests import coordinator_of, versioned
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(24, 0, 4)
async def handle_add_partitions_to_txn(request, ctx):
    version = ctx.api_version
    m = codec.response_module(24, version)
    if version <= 3:
        wanted = [(t.name, p) for t in request.v3_and_below_topics for p in t.partitions]
        errors = await _add(ctx, request.v3_and_below_transactional_id, request.v3_and_below_producer_id,
                            request.v3_and_below_producer_epoch, wanted, version)
        return codec.build(m.AddPartitionsToTxnResponse, throttle_time=timedelta(0),
                           results_by_topic_v3_and_below=_by_topic(m, wanted, errors))
    results = []
    for txn in request.transactions:
        wanted = [(t.name, p) for t in txn.topics for p in t.partitions]
        if txn.verify_only:
            errors = _verify(ctx, txn.transactional_id, txn.producer_id, txn.producer_epoch, wanted)
        else:
            errors = await _add(ctx, txn.transactional_id, txn.producer_id, txn.producer_epoch, wanted, version)
        results.append(codec.build(m.AddPartitionsToTxnResult, transactional_id=txn.transactional_id,
                                   topic_results=_by_topic(m, wanted, errors)))
    return codec.build(m.AddPartitionsToTxnResponse, throttle_time=timedelta(0), error_code=ErrorCode.none,
                       results_by_transaction=tuple(results))


async def _add(ctx, txn_id: str, producer_id: int, epoch: int, wanted: list[tuple[str, int]], version: int
               ) -> dict[tuple[str, int], ErrorCode]:
    image = ctx.broker.metadata
    unknown = {(t, p) for t, p in wanted if image.partition(t, p) is None}
    if unknown:
        return {key: ErrorCode.unknown_topic_or_partition if key in unknown else ErrorCode.operation_not_attempted
                for key in wanted}
    coordinator = coordinator_of(ctx)
    error = ErrorCode.coordinator_not_available if coordinator is None else await coordinator.add_partitions(
        txn_id, producer_id, epoch, set(wanted))
    return dict.fromkeys(wanted, versioned(error, version, 2))


def _verify(ctx, txn_id: str, producer_id: int, epoch: int, wanted: list[tuple[str, int]]
            ) -> dict[tuple[str, int], ErrorCode]:
    coordinator = coordinator_of(ctx)
    if coordinator is None:
        return dict.fromkeys(wanted, ErrorCode.coordinator_not_available)
    errors = coordinator.verify_partitions(txn_id, producer_id, epoch, set(wanted))
    return {key: ErrorCode.invalid_txn_state if e == ErrorCode.transaction_abortable else e
            for key, e in errors.items()}


def _by_topic(m, wanted: list[tuple[str, int]], errors: dict[tuple[str, int], ErrorCode]) -> tuple:
    by_topic: dict[str, list[int]] = {}
    for topic, index in wanted:
        by_topic.setdefault(topic, []).append(index)
    return tuple(
        codec.build(m.AddPartitionsToTxnTopicResult, name=topic, results_by_partition=tuple(
            codec.build(m.AddPartitionsToTxnPartitionResult, partition_index=p, partition_error_code=errors[(topic, p)])
            for p in indexes))
        for topic, indexes in by_topic.items()
    )
