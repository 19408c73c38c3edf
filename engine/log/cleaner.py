"""Log compaction of one partition log: Kafka's LogCleanerManager (what to clean) and Cleaner (how).

Compaction runs in three steps so that the broker's event loop only does short work:

1. `plan(plog, high_watermark, now_ms, ...)` — on the event loop, reads no log data. The
   dirty part starts at the cleaner checkpoint (`cleaner-offset-checkpoint` in the
   partition directory) and ends at the first uncleanable offset: the active segment, the
   high watermark, the first offset of an open transaction, and any segment whose largest
   timestamp is within min.compaction.lag.ms (rounded down to a segment base: only whole
   closed segments are cleaned). The log is
   worth cleaning when dirty bytes / all bytes exceed min.cleanable.dirty.ratio, or when a
   dirty segment's first batch is older than max.compaction.lag.ms. Returns a `CleanJob`:
   a snapshot of the segments (base, size, files), the active producers' last offsets and
   the log's generation.
2. `clean(job)` — in a worker thread. Closed segments are immutable (appends only go to
   the active one), so it reads their files through its own descriptors: it builds the
   offset map (key → last offset) over the dirty part, groups the segments from the log
   start as Kafka does (up to segment.bytes and segment.index.bytes per group), filters
   every batch (batch_filter.py) and writes one cleaned segment per group, with its
   indexes, fsynced, into the scratch directory `cleaned/`.
3. `PartitionLog.swap_cleaned(result)` — back on the event loop: abandons the result if
   the log changed meanwhile (its generation moves on truncation, retention, DeleteRecords,
   close, deletion or a move to another log dir); otherwise moves the cleaned files in
   through `.swap` names (see partition_log.py for crash recovery) and stores the new
   checkpoint, the end of the offset map's range.

The checkpoint is one file per partition rather than Kafka's one per log dir: it moves and
disappears with the partition's directory (AlterReplicaLogDirs copies the directory,
deletion removes it) and needs no lock shared between partitions, like the engine's
`log-start-offset` and `recovery-point`.

Deviations from Kafka: one cleaner for the broker (log.cleaner.threads is not used);
transactional batches and markers are kept whole and their keys never shadow older records
(Kafka drops aborted records and, after delete.retention.ms, markers): a committed value
stays readable and an aborted one, still skipped by read_committed consumers and by the
coordinators' loading, can never remove the value before it; the offset
map's memory estimate is described in offset_map.py; Kafka reads the dirty segments from
the index entry of the first dirty offset, here whole segments are scanned.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .batch import HEADER_SIZE, INT32_MAX, LOG_OVERHEAD, MIN_BATCH_LENGTH, read_header
from .batch_filter import BatchFilter
from .config import LogConfig
from .offset_map import OffsetMap
from .pacing import SharedByteRate
from .partition_log import SCRATCH_DIR, fsync_path
from .records import iter_records
from .segment import INDEX_SUFFIX, TIME_INDEX_SUFFIX, Segment, segment_file

__all__ = ["CleanJob", "CleanResult", "CleanAborted", "plan", "clean"]

log = logging.getLogger(__name__)

DEFAULT_DEDUPE_BUFFER_BYTES = 128 * 1024 * 1024  # log.cleaner.dedupe.buffer.size
_READ_CHUNK = 1024 * 1024
_WRITE_CHUNK = 1024 * 1024


class CleanAborted(Exception):
    """The broker is stopping, or the log went away under the cleaner."""


@dataclass(frozen=True)
class SegmentInfo:
    base_offset: int
    size: int
    log_path: Path


@dataclass
class CleanJob:
    directory: Path
    config: LogConfig
    generation: int
    segments: list[SegmentInfo]  # the closed segments from the log start to the round's upper bound
    first_dirty: int
    upper_bound: int  # first offset not cleaned: a segment base
    producer_last_offsets: dict[int, int]
    now_ms: int
    dedupe_buffer_bytes: int = DEFAULT_DEDUPE_BUFFER_BYTES
    cleanable_ratio: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)
    pace: SharedByteRate | None = None  # log.cleaner.io.max.bytes.per.second, on the bytes read


@dataclass
class CleanResult:
    generation: int
    groups: list[list[SegmentInfo]]  # the segments each cleaned segment replaces
    scratch: Path
    end_offset: int  # the new checkpoint
    bytes_read: int = 0
    bytes_written: int = 0


# -- 1. what to clean (event loop) -------------------------------------------------------


def dirty_range(plog, high_watermark: int, now_ms: int) -> tuple[int, int, int, int, bool]:
    """(first dirty offset, upper bound, clean bytes, cleanable bytes, compaction overdue).

    Kafka's cleanableOffsets + calculateCleanableBytes + maxCompactionDelay.
    """
    config = plog.config
    segments = plog.segments
    start, leo = plog.log_start_offset, plog.log_end_offset
    checkpoint = plog.cleaner_checkpoint
    first_dirty = checkpoint if checkpoint is not None and start <= checkpoint <= leo else start
    uncleanable = min(high_watermark, plog.active.base_offset)
    first_unstable = plog.first_unstable_offset  # Kafka never cleans past an open transaction
    if first_unstable is not None:
        uncleanable = min(uncleanable, first_unstable)
    closed = segments[:-1]
    dirty_closed = [s for i, s in enumerate(closed) if _next_base(segments, i) > first_dirty]
    if config.min_compaction_lag_ms > 0:
        for seg in dirty_closed:
            if seg.largest_timestamp() > now_ms - config.min_compaction_lag_ms:
                uncleanable = min(uncleanable, seg.base_offset)
                break
    uncleanable = max(first_dirty, uncleanable)
    # Only whole closed segments: round down to the base of the segment holding `uncleanable`.
    upper = plog.active.base_offset
    for i, seg in enumerate(closed):
        if seg.base_offset <= uncleanable < _next_base(segments, i):
            upper = seg.base_offset
            break
    clean_bytes = sum(s.size for i, s in enumerate(segments) if _next_base(segments, i) <= first_dirty)
    lower = min(first_dirty, upper)
    cleanable_bytes = sum(
        s.size for i, s in enumerate(segments) if _next_base(segments, i) > lower and s.base_offset < upper
    )
    overdue = False
    if config.max_compaction_lag_ms < (1 << 63) - 1:
        first_timestamps = [t for t in (s.rolling_timestamp() for s in dirty_closed) if t > 0]
        overdue = bool(first_timestamps) and min(first_timestamps) < now_ms - config.max_compaction_lag_ms
    return first_dirty, upper, clean_bytes, cleanable_bytes, overdue


def _next_base(segments, i: int) -> int:
    return segments[i + 1].base_offset if i + 1 < len(segments) else segments[i].next_offset


def plan(
    plog,
    high_watermark: int,
    now_ms: int,
    dedupe_buffer_bytes: int = DEFAULT_DEDUPE_BUFFER_BYTES,
    force: bool = False,
) -> CleanJob | None:
    """A cleaning job for `plog` if it needs one (always, with `force`, when anything is dirty)."""
    if plog.closed or not plog.config.compact_enabled:
        return None
    first_dirty, upper, clean_bytes, cleanable_bytes, overdue = dirty_range(plog, high_watermark, now_ms)
    total = clean_bytes + cleanable_bytes
    if total <= 0 or cleanable_bytes <= 0 or upper <= first_dirty:
        return None
    ratio = cleanable_bytes / total
    if not force and not (overdue or ratio > plog.config.min_cleanable_dirty_ratio):
        return None
    infos = [SegmentInfo(s.base_offset, s.size, s.log_path) for s in plog.segments[:-1] if s.base_offset < upper]
    producers = {pid: e.last_offset for pid, e in plog.producer_state.producers.items() if e.last_offset >= 0}
    return CleanJob(
        plog.directory, plog.config, plog.generation, infos, first_dirty, upper, producers, now_ms,
        dedupe_buffer_bytes, ratio,
    )


# -- 2. cleaning (worker thread) ----------------------------------------------------------


def clean(job: CleanJob) -> CleanResult:
    """Write the cleaned segments of `job` into the scratch directory (see the module docstring)."""
    scratch = job.directory / SCRATCH_DIR
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        offset_map = OffsetMap.for_buffer_size(job.dedupe_buffer_bytes)
        _build_offset_map(job, offset_map)
        end_offset = offset_map.latest_offset + 1
        segments = [s for s in job.segments if s.base_offset < end_offset]
        groups = _group_by_size(segments, job.config, job.upper_bound)
        batch_filter = BatchFilter(
            offset_map, job.now_ms, job.config.delete_retention_ms, job.producer_last_offsets, job.upper_bound
        )
        result = CleanResult(job.generation, groups, scratch, end_offset)
        for group in groups:
            _clean_group(job, group, batch_filter, scratch, result)
        fsync_path(scratch)
        return result
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _batches(info: SegmentInfo, stop: threading.Event, pace: SharedByteRate | None = None):
    """(header, batch bytes) of every whole batch in the first `info.size` bytes of the file,
    read at no more than `pace` allows (a stop ends a wait for it at once)."""
    fd = os.open(info.log_path, os.O_RDONLY)
    try:
        pos = 0
        end = info.size
        while pos + HEADER_SIZE <= end:
            if stop.is_set():
                raise CleanAborted("the cleaner is stopping")
            buf = os.pread(fd, min(_READ_CHUNK, end - pos), pos)
            if pace is not None and stop.wait(pace.delay_after(len(buf))):
                raise CleanAborted("the cleaner is stopping")
            off = 0
            n = len(buf)
            while off + HEADER_SIZE <= n:
                h = read_header(buf, off)
                total = h.length + LOG_OVERHEAD
                if h.magic != 2 or h.length < MIN_BATCH_LENGTH or pos + off + total > end:
                    raise CleanAborted(f"{info.log_path} changed or is damaged at position {pos + off}")
                if off + total > n:
                    if off == 0:  # one batch larger than the chunk
                        buf = os.pread(fd, total, pos)
                        n = len(buf)
                        if n < total:
                            raise CleanAborted(f"{info.log_path} is shorter than expected")
                        continue
                    break
                yield h, buf[off : off + total]
                off += total
            pos += off
    finally:
        os.close(fd)


def _build_offset_map(job: CleanJob, offset_map: OffsetMap) -> None:
    """Kafka's buildOffsetMap: the last offset of every key in [first_dirty, upper_bound)."""
    start = job.first_dirty
    segments = job.segments
    for i, info in enumerate(segments):
        next_base = segments[i + 1].base_offset if i + 1 < len(segments) else job.upper_bound
        if next_base <= start:
            continue
        for h, batch in _batches(info, job.stop, job.pace):
            if h.last_offset < start:
                continue
            if not h.attributes & 0x30:  # transactional batches and markers are kept whole (see above)
                for r in iter_records(batch):
                    if r.key is not None and r.offset >= start:
                        if offset_map.full and offset_map.get(r.key) < 0:
                            return  # full: this round cleans up to here, the next one goes on
                        offset_map.put(r.key, r.offset)
            offset_map.update_latest_offset(h.last_offset)
        offset_map.update_latest_offset(next_base - 1)


def _index_bytes(info: SegmentInfo) -> tuple[int, int]:
    sizes = []
    for suffix in (INDEX_SUFFIX, TIME_INDEX_SUFFIX):
        try:
            sizes.append(segment_file(info.log_path.parent, info.base_offset, suffix).stat().st_size)
        except FileNotFoundError:
            sizes.append(0)
    return sizes[0], sizes[1]


def _group_by_size(segments: list[SegmentInfo], config: LogConfig, upper_bound: int) -> list[list[SegmentInfo]]:
    """Kafka's groupSegmentsBySize: consecutive segments whose log and index sizes stay within
    segment.bytes and segment.index.bytes and whose offsets fit one segment's 32-bit deltas."""
    groups: list[list[SegmentInfo]] = []
    i = 0
    while i < len(segments):
        group = [segments[i]]
        log_size = segments[i].size
        index_size, time_size = _index_bytes(segments[i])
        i += 1
        while i < len(segments):
            nxt = segments[i]
            nxt_index, nxt_time = _index_bytes(nxt)
            last_offset = segments[i + 1].base_offset - 1 if i + 1 < len(segments) else upper_bound - 1
            if (
                log_size + nxt.size > config.segment_bytes
                or index_size + nxt_index > config.segment_index_bytes
                or time_size + nxt_time > config.segment_index_bytes
                or (nxt.size and last_offset - group[0].base_offset > INT32_MAX)
            ):
                break
            group.append(nxt)
            log_size += nxt.size
            index_size += nxt_index
            time_size += nxt_time
            i += 1
        groups.append(group)
    return groups


def _clean_group(
    job: CleanJob, group: list[SegmentInfo], batch_filter: BatchFilter, scratch: Path, result: CleanResult
) -> None:
    config = job.config
    cleaned = Segment.create(scratch, group[0].base_offset, config.index_interval_bytes, job.now_ms)
    try:
        parts: list[bytes] = []
        batches: list[tuple[int, int, int, int, int]] = []
        pending = 0

        def write() -> None:
            nonlocal pending
            if parts:
                cleaned.append(parts, batches, pending)
                result.bytes_written += pending
                parts.clear()
                batches.clear()
                pending = 0

        for info in group:
            for h, batch in _batches(info, job.stop, job.pace):
                result.bytes_read += len(batch)
                kept = batch_filter.filter(h, batch)
                if kept is None:
                    continue
                kh = read_header(kept, 0)
                batches.append((pending, kh.base_offset, kh.last_offset, kh.max_timestamp, len(kept)))
                parts.append(kept)
                pending += len(kept)
                if pending >= _WRITE_CHUNK:
                    write()
        write()
        cleaned.seal()  # writes the largest timestamp into the time index and fsyncs everything
    finally:
        cleaned.close()
    # Kafka keeps the last replaced segment's modification time (retention of timestamp-less data).
    mtime = group[-1].log_path.stat().st_mtime
    os.utime(cleaned.log_path, (mtime, mtime))
