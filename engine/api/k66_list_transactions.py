"""ListTransactions (key 66), versions 0–2.

The engine has no transactions, so every broker lists none. The filters are still
checked as Kafka checks them: state filters that name no Kafka transaction state come
back in unknown_state_filters (each once; Kafka returns them from a hash set, so their
order is not meaningful), and a v2 transactional id pattern that does not compile
answers INVALID_REGULAR_EXPRESSION. The pattern is compiled with Python's `re`, not
Java's regex engine: syntax only one of them accepts (e.g. Java's `(?<name>...)`) is
judged differently. The v1 duration filter needs no check.
"""

from __future__ import annotations

import re
from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

# Kafka's TransactionState names (transaction-coordinator TransactionState.java).
TRANSACTION_STATES = frozenset({"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit",
                                "CompleteAbort", "Dead", "PrepareEpochFence"})


@api(66, 0, 2)
async def handle_list_transactions(request, ctx):
    m = codec.response_module(66, ctx.api_version)

    def answer(error=ErrorCode.none, unknown=()):
        return codec.build(m.ListTransactionsResponse, throttle_time=timedelta(0), error_code=error,
                           unknown_state_filters=tuple(unknown), transaction_states=())

    pattern = getattr(request, "transactional_id_pattern", None)
    if pattern:
        try:
            re.compile(pattern)
        except re.error:
            return answer(ErrorCode.invalid_regular_expression)
    return answer(unknown=dict.fromkeys(s for s in request.state_filters if s not in TRANSACTION_STATES))
