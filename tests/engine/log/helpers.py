"""Batch builders and small scenario helpers for the log tests."""

from __future__ import annotations

from pathlib import Path

from partita.engine.log.batch import iter_batches, validate_batches
from partita.engine.log.config import LogConfig
from partita.engine.log.partition_log import PartitionLog
from partita.engine.log.records import build_batch, iter_records

NOW = 1_700_000_000_000  # a fixed "now" in ms, so tests do not depend on the clock


def batch(
    count: int = 1,
    *,
    ts: int = NOW,
    value_size: int = 10,
    pid: int = -1,
    epoch: int = -1,
    seq: int = -1,
    compression: int = 0,
    ts_step: int = 0,
) -> bytes:
    """A valid v2 batch of `count` records (values of `value_size` bytes), offsets from 0."""
    records = [(ts + i * ts_step, f"k{i}".encode(), bytes([i % 256]) * value_size) for i in range(count)]
    return build_batch(
        records, compression_type=compression, producer_id=pid, producer_epoch=epoch, base_sequence=seq
    )


def open_log(path: Path, **config) -> PartitionLog:
    return PartitionLog.open(path, LogConfig(**config), now_ms=NOW)


def read_all(plog: PartitionLog, start: int | None = None) -> list:
    """Every record from `start` (default: the log start) to the end, across segments."""
    offset = plog.log_start_offset if start is None else start
    out = []
    while offset < plog.log_end_offset:
        result = plog.read(offset, 1 << 20)
        assert result.records, f"empty read at {offset}"
        validate_batches(result.records, from_client=False)
        for _, h in iter_batches(result.records):
            for r in iter_records(result.records[_ : _ + h.total_size]):
                if r.offset >= offset:
                    out.append(r)
            offset = h.next_offset
    return out


def headers_of(records: bytes) -> list:
    return [h for _, h in iter_batches(records)]
