"""ListOffsets by timestamp: find records by time, decoding at most one batch.

Kafka answers a timestamp query with the offset and timestamp of the first *record* whose
timestamp is >= the target, and MAX_TIMESTAMP (-3) with the first record carrying the
partition's largest timestamp. Batch headers narrow it to one batch (the first whose
maxTimestamp reaches the target, found through the time index, then the offset index,
then a header scan); inside that one batch the records' timestamps are read (records.py):
directly for uncompressed batches, after decompression for compressed ones. For a
LogAppendTime batch every record has the batch's timestamp, so no decoding is needed.

If a compressed batch's codec library is missing, the answer falls back to the batch:
its base offset (never later than Kafka's answer, so a consumer starting there misses
nothing) and its maxTimestamp.
"""

from __future__ import annotations

import logging

from .batch import LOG_APPEND_TIME, BatchHeader
from .compression import CodecUnavailable
from .records import iter_offsets_and_timestamps
from .segment import Segment

__all__ = ["offset_for_timestamp", "max_timestamp_offset"]

log = logging.getLogger(__name__)


def offset_for_timestamp(
    segments: list[Segment], log_start_offset: int, target: int
) -> tuple[int, int] | None:
    """(offset, timestamp) of the first record at or after log_start_offset with
    timestamp >= target, or None when there is none."""
    for i, seg in enumerate(segments):
        if i + 1 < len(segments) and segments[i + 1].base_offset <= log_start_offset:
            continue  # wholly before the log start
        if seg.max_timestamp < target:
            continue
        _, ts_offset = seg.time_index.lookup(target)
        position = seg.offset_index.lookup(max(ts_offset, log_start_offset))
        for pos, h in seg.scan(position):
            if h.max_timestamp >= target and h.base_offset + h.last_offset_delta >= log_start_offset:
                found = _first_record(seg, pos, h, lambda t: t >= target, log_start_offset)
                if found is not None:
                    return found
    return None


def max_timestamp_offset(segments: list[Segment], log_start_offset: int) -> tuple[int, int] | None:
    """(offset, timestamp) of the first record with the largest timestamp; None if no
    record has a timestamp."""
    best = None
    for seg in segments:
        if best is None or seg.max_timestamp > best.max_timestamp:
            best = seg
    if best is None or best.max_timestamp < 0:
        return None
    target = best.max_timestamp
    position = best.offset_index.lookup(best.offset_of_max_timestamp)
    for pos, h in best.scan(position):
        if h.max_timestamp == target:
            found = _first_record(best, pos, h, lambda t: t == target, -1)
            if found is not None:
                return found
    return None


def _first_record(
    seg: Segment, position: int, h: BatchHeader, accept, min_offset: int
) -> tuple[int, int] | None:
    if h.timestamp_type == LOG_APPEND_TIME:
        return max(h.base_offset, min_offset), h.max_timestamp
    data = seg.read(position, h.length + 12)
    try:
        for offset, ts in iter_offsets_and_timestamps(data):
            if offset >= min_offset and accept(ts):
                return offset, ts
    except CodecUnavailable as exc:
        log.debug("answering at batch granularity: %s", exc)
        return max(h.base_offset, min_offset), h.max_timestamp
    return None
