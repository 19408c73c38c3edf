"""ListTransactions (key 66), versions 0–2.

Each broker lists the transactional ids whose `__transaction_state` partitions it
coordinates (admin clients ask every broker), with producer id and state name, filtered as
Kafka filters: by state names, by producer ids, v1 by duration (transactions open longer
than it), v2 by a transactional id pattern (matched anywhere in the id, as Java's
Matcher.find). State filters that name no Kafka transaction state come back in
unknown_state_filters (each once; Kafka returns them from a hash set, so their order is
not meaningful), and a pattern that does not compile answers INVALID_REGULAR_EXPRESSION.
The pattern is compiled with Python's `re`, not Java's regex engine: syntax only one of
them accepts (e.g. Java's `(?<name>...)`) is judged differently.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.api.txn_requests import coordinator_of
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode
from partita.engine.transactions.state import STATE_BY_NAME, TxnState


@api(66, 0, 2)
async def handle_list_transactions(request, ctx):
    m = codec.response_module(66, ctx.api_version)

    def answer(error=ErrorCode.none, unknown=(), listed=()):
        return codec.build(m.ListTransactionsResponse, throttle_time=timedelta(0), error_code=error,
                           unknown_state_filters=tuple(unknown), transaction_states=tuple(listed))

    pattern = getattr(request, "transactional_id_pattern", None)
    matcher = None
    if pattern:
        try:
            matcher = re.compile(pattern)
        except re.error:
            return answer(ErrorCode.invalid_regular_expression)
    unknown = dict.fromkeys(s for s in request.state_filters if s not in STATE_BY_NAME)
    states = {STATE_BY_NAME[s] for s in request.state_filters if s in STATE_BY_NAME}
    producers = set(request.producer_id_filters)
    duration = getattr(request, "duration_filter", -1)
    now = int(time.time() * 1000)
    coordinator = coordinator_of(ctx)
    listed = []
    for meta in coordinator.listed() if coordinator is not None else ():
        if request.state_filters and meta.state not in states:
            continue
        if producers and meta.producer_id not in producers:
            continue
        if duration >= 0 and not (meta.state == TxnState.ONGOING and now - meta.start_ms > duration):
            continue
        if matcher is not None and not matcher.search(meta.transactional_id):
            continue
        listed.append(codec.build(m.TransactionState, transactional_id=meta.transactional_id,
                                  producer_id=meta.producer_id, transaction_state=meta.state.kafka_name))
    return answer(unknown=unknown, listed=listed)
