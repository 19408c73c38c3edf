"""The errors the log raises, each carrying the Kafka error code a handler answers with.

The log knows nothing of the protocol layer, so these are plain exceptions with a `.code`
(Kafka's number) and `.retriable` (whether Kafka's Java class is a RetriableException);
a handler turns `exc.code` into its response field. `error_for_code` maps back for tests
and tools.
"""

from __future__ import annotations

__all__ = [
    "LogError",
    "OffsetOutOfRangeError",
    "CorruptRecordError",
    "MessageTooLargeError",
    "RecordListTooLargeError",
    "InvalidTimestampError",
    "OutOfOrderSequenceError",
    "DuplicateSequenceError",
    "InvalidProducerEpochError",
    "UnknownProducerIdError",
    "KafkaStorageError",
    "FencedLeaderEpochError",
    "InvalidRecordError",
    "RecordValidationError",
    "UnsupportedMagicError",
    "UnexpectedAppendOffsetError",
    "InvalidTxnStateError",
    "TransactionCoordinatorFencedError",
    "error_for_code",
]


class LogError(Exception):
    """Base class: `code` is the Kafka error code, `retriable` as in Kafka's client."""

    code: int = -1  # UNKNOWN_SERVER_ERROR
    name: str = "UNKNOWN_SERVER_ERROR"
    retriable: bool = False

    def __init__(self, message: str):
        super().__init__(f"{self.name}: {message}")
        self.message = message


class OffsetOutOfRangeError(LogError):
    code, name = 1, "OFFSET_OUT_OF_RANGE"


class CorruptRecordError(LogError):
    code, name, retriable = 2, "CORRUPT_MESSAGE", True


class MessageTooLargeError(LogError):
    code, name = 10, "MESSAGE_TOO_LARGE"


class RecordListTooLargeError(LogError):
    code, name = 18, "RECORD_LIST_TOO_LARGE"


class InvalidTimestampError(LogError):
    code, name = 32, "INVALID_TIMESTAMP"


class OutOfOrderSequenceError(LogError):
    code, name = 45, "OUT_OF_ORDER_SEQUENCE_NUMBER"


class DuplicateSequenceError(LogError):
    code, name = 46, "DUPLICATE_SEQUENCE_NUMBER"


class InvalidProducerEpochError(LogError):
    code, name = 47, "INVALID_PRODUCER_EPOCH"


class KafkaStorageError(LogError):
    code, name, retriable = 56, "KAFKA_STORAGE_ERROR", True


class UnknownProducerIdError(LogError):
    # Kafka stopped answering this for produce requests in 2.5 (KIP-360): an unknown
    # producer's first batch is accepted at any sequence. Kept for completeness.
    code, name = 59, "UNKNOWN_PRODUCER_ID"


class FencedLeaderEpochError(LogError):
    code, name, retriable = 74, "FENCED_LEADER_EPOCH", True


class InvalidRecordError(LogError):
    code, name = 87, "INVALID_RECORD"


class InvalidTxnStateError(LogError):
    """A producer with a transaction open in the partition wrote a non-transactional batch."""

    code, name = 48, "INVALID_TXN_STATE"


class TransactionCoordinatorFencedError(LogError):
    """A marker from a coordinator older than the one that last wrote for the producer."""

    code, name = 52, "TRANSACTION_COORDINATOR_FENCED"


class RecordValidationError(InvalidRecordError):
    """Records refused one by one, as Kafka's LogValidator does (a keyless record on a
    compacted topic): `record_errors` holds (index of the record in its batch, message),
    which the produce response carries beside the summary message."""

    def __init__(self, record_errors: list[tuple[int, str]]):
        shown = ", ".join(f"RecordError(batchIndex={i}, message='{m}')" for i, m in record_errors[:3])
        super().__init__(
            f"One or more records have been rejected due to {len(record_errors)} record errors in total, "
            f"and only showing the first three errors at most: [{shown}]"
        )
        self.record_errors = record_errors


class UnsupportedMagicError(InvalidRecordError):
    """Magic other than 2: Kafka answers produce v3+ with INVALID_RECORD for these."""


class UnexpectedAppendOffsetError(LogError):
    """A follower append whose first offset is not the log end offset (a replication bug
    or a stale fetch response); internal, so UNKNOWN_SERVER_ERROR if it ever reaches a client."""

    def __init__(self, message: str, first_offset: int, log_end_offset: int):
        super().__init__(message)
        self.first_offset = first_offset
        self.log_end_offset = log_end_offset


_BY_CODE = {
    cls.code: cls
    for cls in (
        OffsetOutOfRangeError,
        CorruptRecordError,
        MessageTooLargeError,
        RecordListTooLargeError,
        InvalidTimestampError,
        OutOfOrderSequenceError,
        DuplicateSequenceError,
        InvalidProducerEpochError,
        KafkaStorageError,
        UnknownProducerIdError,
        FencedLeaderEpochError,
        InvalidRecordError,
        InvalidTxnStateError,
        TransactionCoordinatorFencedError,
    )
}


def error_for_code(code: int) -> type[LogError]:
    """The exception class for a Kafka error code (LogError for codes the log never raises)."""
    return _BY_CODE.get(code, LogError)
