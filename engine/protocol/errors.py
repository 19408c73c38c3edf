"""Kafka error codes as data, and the exception handlers raise to answer with one.

The codes themselves come from kio (generated from Kafka's own error list), so a
handler says `raise KafkaError(ErrorCode.unknown_topic_or_partition)`.
"""

from __future__ import annotations

from kio.schema.errors import ErrorCode

__all__ = ["ErrorCode", "KafkaError", "RETRIABLE"]

# Kafka's `RetriableException` subclasses among the codes the engine answers with.
RETRIABLE = frozenset(
    {
        ErrorCode.corrupt_message,
        ErrorCode.unknown_topic_or_partition,
        ErrorCode.leader_not_available,
        ErrorCode.not_leader_or_follower,
        ErrorCode.request_timed_out,
        ErrorCode.network_exception,
        ErrorCode.coordinator_load_in_progress,
        ErrorCode.coordinator_not_available,
        ErrorCode.not_coordinator,
        ErrorCode.not_enough_replicas,
        ErrorCode.not_enough_replicas_after_append,
        ErrorCode.not_controller,
        ErrorCode.kafka_storage_error,
        ErrorCode.fenced_leader_epoch,
        ErrorCode.unknown_leader_epoch,
        ErrorCode.offset_not_available,
        ErrorCode.preferred_leader_not_available,
        ErrorCode.eligible_leaders_not_available,
        ErrorCode.unstable_offset_commit,
        ErrorCode.throttling_quota_exceeded,
    }
)


class KafkaError(Exception):
    """A Kafka error code with a message for the client (where the API has a message field)."""

    def __init__(self, code: ErrorCode | int, message: str | None = None):
        self.code = ErrorCode(int(code))
        self.message = message
        super().__init__(f"{self.code.name}: {message}" if message else self.code.name)

    @property
    def retriable(self) -> bool:
        return self.code in RETRIABLE
