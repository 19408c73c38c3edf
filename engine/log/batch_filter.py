"""What the log cleaner keeps of one batch (Kafka's MemoryRecords.filterTo with the Cleaner's filter).

A record survives when it is the last one for its key (its offset is at least the offset
map's entry), or lies past the offset map's range; a tombstone (null value) survives
until its batch's delete horizon has passed. Keyless records are dropped (Kafka counts
them as invalid). Then, for the batch:
- every record kept and no new delete horizon to set → the original bytes, unchanged;
- some records kept → a rewritten batch: same base offset, lastOffsetDelta, producer id,
  epoch, base sequence, leader epoch, timestamp type and codec (recompressed), records
  keeping their offsets. When it holds tombstones and has no delete horizon yet, the
  horizon (now + delete.retention.ms) becomes its base timestamp and the DELETE_HORIZON
  attribute bit (0x40) is set, as Kafka does (KIP-534);
- nothing kept → dropped, unless it is the last batch of an active idempotent producer or
  the last batch of the cleaning round: then an empty batch (no records, uncompressed)
  keeps its offsets, sequence numbers and epoch, so producer state and the last offset
  survive.
Transactional batches and control batches (transaction markers) are kept as they are (see
cleaner.py).
"""

from __future__ import annotations

from .batch import BatchHeader
from .offset_map import OffsetMap
from .records import Record, assemble_batch, iter_records

__all__ = ["BatchFilter", "DELETE_HORIZON_FLAG"]

DELETE_HORIZON_FLAG = 0x40  # Kafka's DefaultRecordBatch.DELETE_HORIZON_FLAG_MASK
_COMPRESSION = 0x07
_TIMESTAMP_TYPE = 0x08
_TRANSACTIONAL = 0x10
_CONTROL = 0x20
_LOG_APPEND_TIME = 1


class BatchFilter:
    """The cleaner's decisions for one cleaning round."""

    def __init__(
        self,
        offset_map: OffsetMap,
        now_ms: int,
        delete_retention_ms: int,
        producer_last_offsets: dict[int, int],
        round_upper_bound: int,
    ):
        self.offset_map = offset_map
        self.now_ms = now_ms
        self.delete_retention_ms = delete_retention_ms
        self.producer_last_offsets = producer_last_offsets  # producer id -> its last data offset
        self.round_upper_bound = round_upper_bound  # offsets from here on are not cleaned
        self.records_read = 0
        self.records_kept = 0

    def filter(self, h: BatchHeader, batch: bytes) -> bytes | None:
        """The bytes to keep for this batch (possibly the original), or None."""
        if h.attributes & (_CONTROL | _TRANSACTIONAL):
            return batch
        keep_empty = (
            h.producer_id >= 0 and self.producer_last_offsets.get(h.producer_id) == h.last_offset
        ) or h.next_offset == self.round_upper_bound
        has_horizon = bool(h.attributes & DELETE_HORIZON_FLAG)
        retain_deletes = not has_horizon or self.now_ms < h.base_timestamp
        offset_map = self.offset_map
        latest = offset_map.latest_offset
        kept: list[Record] = []
        tombstones = False
        dropped_any = False
        for r in iter_records(batch):
            self.records_read += 1
            if r.offset > latest:
                keep = True
            elif r.key is None:
                keep = False
            else:
                keep = r.offset >= offset_map.get(r.key) and (r.value is not None or retain_deletes)
            if keep:
                kept.append(r)
                tombstones = tombstones or r.value is None
            else:
                dropped_any = True
        self.records_kept += len(kept)
        set_horizon = tombstones and not has_horizon
        if kept and not dropped_any and not set_horizon:
            return batch
        if kept:
            horizon = self.now_ms + self.delete_retention_ms if set_horizon else (
                h.base_timestamp if has_horizon else None
            )
            return _rewrite(h, kept, horizon)
        if keep_empty:
            return _empty(h)
        return None


def _rewrite(h: BatchHeader, kept: list[Record], delete_horizon: int | None) -> bytes:
    log_append_time = h.attributes & _TIMESTAMP_TYPE
    attributes = h.attributes & (_COMPRESSION | _TIMESTAMP_TYPE | _TRANSACTIONAL)
    if delete_horizon is not None:
        attributes |= DELETE_HORIZON_FLAG
        base_timestamp = delete_horizon
    else:
        base_timestamp = kept[0].timestamp
    max_timestamp = h.max_timestamp if log_append_time else max(r.timestamp for r in kept)
    rows = [r._replace(offset=r.offset - h.base_offset) for r in kept]
    return assemble_batch(
        rows,
        base_offset=h.base_offset,
        last_offset_delta=h.last_offset_delta,  # keeps the last sequence number (Kafka's overrideLastOffset)
        attributes=attributes,
        base_timestamp=base_timestamp,
        max_timestamp=max_timestamp,
        producer_id=h.producer_id,
        producer_epoch=h.producer_epoch,
        base_sequence=h.base_sequence,
        partition_leader_epoch=h.partition_leader_epoch,
    )


def _empty(h: BatchHeader) -> bytes:
    return assemble_batch(
        [],
        base_offset=h.base_offset,
        last_offset_delta=h.last_offset_delta,
        attributes=h.attributes & (_TIMESTAMP_TYPE | _TRANSACTIONAL),
        base_timestamp=-1,
        max_timestamp=h.max_timestamp,
        producer_id=h.producer_id,
        producer_epoch=h.producer_epoch,
        base_sequence=h.base_sequence,
        partition_leader_epoch=h.partition_leader_epoch,
    )
