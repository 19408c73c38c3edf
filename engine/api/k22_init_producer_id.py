"""InitProducerId (key 22), versions 0–4, for idempotent producers.

Producer ids come from the controller in blocks (engine/broker/producer_ids.py), so they
are unique across the cluster and across restarts. A request carrying its current producer id and epoch (v3+, KIP-360)
gets the same id with the next epoch. Transactions are not supported: a transactional
id is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED (the client's error names
authorization, so the broker's log says why, once per id).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

_MAX_EPOCH = 32767
log = logging.getLogger(__name__)
_refused_ids: set[str] = set()


@api(22, 0, 4)
async def handle_init_producer_id(request, ctx):
    m = codec.response_module(22, ctx.api_version)

    def answer(error, pid=-1, epoch=-1):
        return codec.build(m.InitProducerIdResponse, throttle_time=timedelta(0), error_code=error,
                           producer_id=pid, producer_epoch=epoch)

    if request.transactional_id is not None:
        if request.transactional_id not in _refused_ids and len(_refused_ids) < 1000:
            _refused_ids.add(request.transactional_id)
            log.warning("refused transactional.id %r from %s: the engine does not support transactions "
                        "(exactly-once Kafka Streams, transactional producers); idempotent producers work",
                        request.transactional_id, ctx.client_id)
        return answer(ErrorCode.transactional_id_authorization_failed)
    current = getattr(request, "producer_id", -1)
    epoch = getattr(request, "producer_epoch", -1)
    if current >= 0 and 0 <= epoch < _MAX_EPOCH - 1:
        return answer(ErrorCode.none, current, epoch + 1)
    return answer(ErrorCode.none, await ctx.broker.producer_ids.take(), 0)
