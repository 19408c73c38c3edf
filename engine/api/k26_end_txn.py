"""EndTxn (key 26), versions 0–4: commit or abort the producer's open transaction.

The coordinator writes PrepareCommit or PrepareAbort and answers; the markers then go to
every partition of the transaction and the id moves to CompleteCommit/CompleteAbort
(requests meanwhile: CONCURRENT_TRANSACTIONS). A retry after completion with the same
result answers NONE; ending with the other result, or with no transaction open, is
INVALID_TXN_STATE; a stale epoch PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v2).
Not implemented: v5 (transaction version 2, which returns the bumped epoch).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.api.txn_requests import coordinator_of, versioned
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(26, 0, 4)
async def handle_end_txn(request, ctx):
    m = codec.response_module(26, ctx.api_version)
    coordinator = coordinator_of(ctx)
    if coordinator is None:
        error = ErrorCode.coordinator_not_available
    else:
        error = await coordinator.end_txn(request.transactional_id, request.producer_id, request.producer_epoch,
                                          request.committed)
    return codec.build(m.EndTxnResponse, throttle_time=timedelta(0), error_code=versioned(error, ctx.api_version, 2))
