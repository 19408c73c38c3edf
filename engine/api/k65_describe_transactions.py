"""DescribeTransactions (key 65), version 0.

Each transactional id is answered by its coordinator (the leader of its `__transaction_state`
partition, where FindCoordinator key type 1 sends admin clients) with its state's Kafka
name, timeout, start time (-1 unless a transaction is open), producer id and epoch, and
the partitions of its transaction. Another broker, or any broker before that topic exists,
answers NOT_COORDINATOR; the coordinator answers TRANSACTIONAL_ID_NOT_FOUND for an id it
does not know, COORDINATOR_LOAD_IN_PROGRESS while loading, INVALID_REQUEST for an empty
id. The fields of an error keep Kafka's defaults (empty state, zero ids, times and epochs).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from partita.engine.api.registry import api
from partita.engine.api.txn_requests import coordinator_of
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

_EPOCH_START = datetime.fromtimestamp(0, UTC)


@api(65, 0, 0)
async def handle_describe_transactions(request, ctx):
    m = codec.response_module(65, ctx.api_version)
    coordinator = coordinator_of(ctx)
    states = []
    for txn_id in request.transactional_ids:
        error, meta = (ErrorCode.not_coordinator, None) if coordinator is None else coordinator.describe(txn_id)
        if error == ErrorCode.coordinator_not_available:  # no __transaction_state yet: nobody coordinates it
            error = ErrorCode.not_coordinator
        if meta is None:
            states.append(codec.build(
                m.TransactionState, error_code=error, transactional_id=txn_id, transaction_state="",
                transaction_timeout=timedelta(0), transaction_start_time=_EPOCH_START, producer_id=0,
                producer_epoch=0, topics=()))
            continue
        by_topic: dict[str, list[int]] = {}
        for topic, index in sorted(meta.partitions):
            by_topic.setdefault(topic, []).append(index)
        states.append(codec.build(
            m.TransactionState, error_code=ErrorCode.none, transactional_id=txn_id,
            transaction_state=meta.state.kafka_name, transaction_timeout=timedelta(milliseconds=meta.timeout_ms),
            transaction_start_time=datetime.fromtimestamp(meta.start_ms / 1000, UTC),
            producer_id=meta.producer_id, producer_epoch=meta.epoch,
            topics=tuple(codec.build(m.TopicData, topic=t, partitions=tuple(ps)) for t, ps in by_topic.items())))
    return codec.build(m.DescribeTransactionsResponse, throttle_time=timedelta(0), transaction_states=tuple(states))
