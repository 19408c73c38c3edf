"""InitProducerId (key 22), versions 0–4.

Without a transactional id (idempotent producers): always a new producer id at epoch 0 from
the controller's blocks (engine/broker/producer_ids.py), unique across the cluster and restarts;
the id and epoch such a request names (v3+) are ignored, as Kafka does (an idempotent producer
bumps its own epoch; kafka-go names 0/0 on every call). With a transactional id the request goes to the id's transaction coordinator
(engine/transactions/coordinator.py): the first call gets a new producer id at epoch 0,
later ones the next epoch (a new producer id when the epoch is spent), which fences any
older producer with the id; an open transaction of that older producer is aborted first
(CONCURRENT_TRANSACTIONS until done: the client retries). transaction_timeout_ms must be
within (0, transaction.max.timeout.ms] (INVALID_TRANSACTION_TIMEOUT). PRODUCER_FENCED is
INVALID_PRODUCER_EPOCH before v4.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.api.txn_requests import coordinator_of, versioned
from partita.engine.groups.coordinator import millis
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(22, 0, 4)
async def handle_init_producer_id(request, ctx):
    m = codec.response_module(22, ctx.api_version)

    def answer(error, pid=-1, epoch=-1):
        return codec.build(m.InitProducerIdResponse, throttle_time=timedelta(0),
                           error_code=versioned(error, ctx.api_version, 4), producer_id=pid, producer_epoch=epoch)

    if request.transactional_id is not None:
        coordinator = coordinator_of(ctx)
        if coordinator is None:
            return answer(ErrorCode.coordinator_not_available)
        return answer(*await coordinator.init_producer_id(
            request.transactional_id, millis(request.transaction_timeout),
            getattr(request, "producer_id", -1), getattr(request, "producer_epoch", -1)))
    return answer(ErrorCode.none, await ctx.broker.producer_ids.take(), 0)
