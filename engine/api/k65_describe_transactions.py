"""DescribeTransactions (key 65), version 0.

The engine has no transactions, so its transaction coordinators know no transactional
ids. Each id is answered as Kafka's coordinator answers an id it has never seen:
TRANSACTIONAL_ID_NOT_FOUND from the broker leading the id's `__transaction_state`
partition (where FindCoordinator key type 1 sends admin clients), NOT_COORDINATOR from
any other broker or before that topic exists, INVALID_REQUEST for an empty id. The other
fields keep Kafka's defaults for an error (empty state, zero ids, times and epochs).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from partita.engine.api.internal_topics import TRANSACTION_STATE, coordinator_partition
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

_EPOCH_START = datetime.fromtimestamp(0, UTC)


@api(65, 0, 0)
async def handle_describe_transactions(request, ctx):
    m = codec.response_module(65, ctx.api_version)
    return codec.build(
        m.DescribeTransactionsResponse, throttle_time=timedelta(0),
        transaction_states=tuple(
            codec.build(m.TransactionState, error_code=_error_for(ctx, txn_id), transactional_id=txn_id,
                        transaction_state="", transaction_timeout=timedelta(0), transaction_start_time=_EPOCH_START,
                        producer_id=0, producer_epoch=0, topics=())
            for txn_id in request.transactional_ids
        ),
    )


def _error_for(ctx, transactional_id: str) -> ErrorCode:
    if not transactional_id:
        return ErrorCode.invalid_request
    found = coordinator_partition(ctx.broker.metadata, TRANSACTION_STATE, transactional_id)
    if found is None or found[1].leader != ctx.broker.node_id:
        return ErrorCode.not_coordinator
    return ErrorCode.transactional_id_not_found
