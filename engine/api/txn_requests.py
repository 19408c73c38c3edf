"""What the transactional APIs (InitProducerId with an id, AddPartitionsToTxn, AddOffsetsToTxn,
EndTxn) share: the broker's transaction coordinator and Kafka's error for a fenced producer
on older request versions."""

from __future__ import annotations

from partita.engine.protocol.errors import ErrorCode


def coordinator_of(ctx):
    """The transaction coordinator of the broker serving `ctx`, or None."""
    return getattr(ctx.broker, "transactions", None)


def versioned(error: ErrorCode, version: int, fenced_since: int) -> ErrorCode:
    """PRODUCER_FENCED exists from `fenced_since`; older versions get INVALID_PRODUCER_EPOCH, as Kafka answers."""
    if error == ErrorCode.producer_fenced and version < fenced_since:
        return ErrorCode.invalid_producer_epoch
    return error
