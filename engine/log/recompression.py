"""A topic's `compression.type` other than `producer`: batches are stored in that codec.

Kafka's broker recompresses a produced batch whose codec is not the topic's (LogValidator):
its records are decoded and written again with the topic's codec, keeping every header
field (producer id, epoch and sequence, timestamps, offset deltas, transactional flag), so
idempotence and offsets behave as for any batch. This is the one path where the engine
reads record contents on produce; with the default `producer` nothing is touched.
"""

from __future__ import annotations

from collections.abc import Sequence

from .batch import LOG_OVERHEAD, BatchHeader
from .errors import CorruptRecordError, LogError
from .records import assemble_batch, iter_records

__all__ = ["recompress"]

_CODEC_BITS = 0x07


def recompress(records: bytes, headers: Sequence[BatchHeader], codec: int, level: int | None = None) -> bytes | None:
    """`records` with every batch not already in `codec` rewritten in it (at `level`, the codec's
    default if None); None if none needed it. A batch already in `codec` is kept whatever its
    level, as Kafka does. Transaction markers stay uncompressed, as Kafka writes them."""
    if all(h.attributes & _CODEC_BITS == codec or h.is_control for h in headers):
        return None
    view = memoryview(records)
    out = []
    position = 0
    for h in headers:
        size = h.length + LOG_OVERHEAD
        batch = view[position : position + size]
        position += size
        if h.attributes & _CODEC_BITS == codec or h.is_control:
            out.append(batch)
            continue
        try:
            rows = [r._replace(offset=r.offset - h.base_offset) for r in iter_records(batch)]
        except LogError:  # the record reader's own verdict (corrupt or invalid records)
            raise
        except Exception as exc:  # a payload its codec cannot decode, a record cut short
            raise CorruptRecordError(f"a batch cannot be read to recompress it: {exc}") from exc
        out.append(assemble_batch(
            rows,
            base_offset=h.base_offset,
            last_offset_delta=h.last_offset_delta,
            attributes=(h.attributes & ~_CODEC_BITS) | codec,
            base_timestamp=h.base_timestamp,
            max_timestamp=h.max_timestamp,
            producer_id=h.producer_id,
            producer_epoch=h.producer_epoch,
            base_sequence=h.base_sequence,
            partition_leader_epoch=h.partition_leader_epoch,
            compression_level=level,
        ))
    return b"".join(out)
