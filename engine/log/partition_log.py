"""The log of one partition replica: a directory of segments, appended and read as bytes.

`PartitionLog` ties the pieces together: segments (segment.py), producer state
(producer_state.py), the leader epoch cache (leader_epochs.py) and two small checkpoint
files. It is synchronous and meant to be called from the broker's event loop: every
operation is short (an append is one validation pass over the headers, one copy, one
pwrite; a read is one pread), with no fsync per append. Durability comes from
replication, as in Kafka; data is fsynced when a segment rolls, on `flush()` and on
`close()`.

Directory contents (Kafka's names where Kafka has the file):
    00000000000000000000.log / .index / .timeindex   segments
    leader-epoch-checkpoint                          leader epoch cache
    <offset:020d>.snapshot                           producer state (Partita's JSON format)
    log-start-offset, recovery-point                 one number each
    cleaner-offset-checkpoint                        where compaction's dirty part starts
    cleaned/, <offset:020d>.log.swap                 compaction in progress (see below)
    clean-shutdown                                   written by close(), removed by open()

Opening after a clean shutdown reads no log data beyond the tail of the active segment
(one index-interval's worth, CRC-checked). After a crash every segment from the recovery
point on (normally just the active one, since rolling fsyncs) is read in full: each
batch's CRC is checked, the file is cut at the first torn or corrupt batch, and its
indexes, the producer state and the epoch cache are brought in line.

Compaction (cleaner.py) builds cleaned segments in `cleaned/` off the event loop;
`swap_cleaned` moves them in: each cleaned log file is renamed to `<base>.log.swap`, then
the replaced segments are deleted and the swap files renamed to `.log` (Kafka's order). On
open, `cleaned/` is discarded (an unfinished clean) and a `.swap` file — complete, since
it was fsynced before the rename — replaces whatever segments its offsets overlap; its
indexes are rebuilt from it.

Deviations from Kafka, on purpose: a read serves one segment (Kafka does too) and returns
whole batches only (Kafka may end with a partial one); retention never deletes the active
segment (Kafka rolls it and deletes it); deleted files are unlinked at once rather than
after file.delete.delay.ms (reads are synchronous, so none can be in flight); a clean is
abandoned, not paused and resumed, when the log changes under it (see `generation`);
aborted transaction ranges live in the producer state's snapshots rather than in
per-segment `.txnindex` files (see producer_state.py).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from bisect import bisect_right
from pathlib import Path
from typing import NamedTuple

from . import timestamp_lookup
from .batch import (
    CREATE_TIME,
    HEADER_SIZE,
    INT32_MAX,
    LOG_APPEND_TIME,
    LOG_OVERHEAD,
    iter_batches,
    patch_offsets,
    set_max_timestamp,
    validate_batches,
    validate_timestamps,
)
from .checkpoint_files import (
    CLEAN_SHUTDOWN_FILE,
    CLEANER_CHECKPOINT_FILE,
    LOG_START_OFFSET_FILE,
    RECOVERY_POINT_FILE,
    read_offset,
    write_offset,
)
from .config import LogConfig
from .control_batches import build_marker, read_marker
from .errors import (
    FencedLeaderEpochError,
    InvalidRecordError,
    KafkaStorageError,
    MessageTooLargeError,
    OffsetOutOfRangeError,
    RecordListTooLargeError,
    RecordValidationError,
    UnexpectedAppendOffsetError,
)
from .leader_epochs import LeaderEpochCache
from .producer_state import AbortedTxn, ProducerStateManager
from .recompression import recompress
from .records import keyless_record_indexes
from .segment import INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, Segment, segment_file

SWAP_SUFFIX = ".swap"
SCRATCH_DIR = "cleaned"  # where cleaner.py builds cleaned segments (Kafka: <base>.log.cleaned files)

__all__ = ["PartitionLog", "AppendResult", "ReadResult"]

log = logging.getLogger(__name__)


class AppendResult(NamedTuple):
    base_offset: int
    last_offset: int
    log_append_time: int  # the broker's timestamp for LogAppendTime topics, else -1
    log_start_offset: int
    duplicate: bool = False  # a producer retry: offsets are those of the original append


class ReadResult(NamedTuple):
    records: bytes  # whole batches, possibly starting before the requested offset
    first_offset: int  # base offset of the first batch (the requested offset when empty)


class PartitionLog:
    def __init__(self, directory: Path, config: LogConfig):
        self._directory = directory
        self._config = config
        self.segments: list[Segment] = []
        self._bases: list[int] = []
        self._log_start_offset = 0
        self._recovery_point = 0
        self._producers = ProducerStateManager(directory)
        self._epochs: LeaderEpochCache | None = None
        self._closed = False
        # Moves whenever closed segments change other than by the cleaner's own swap
        # (truncation, deletion of segments, close): a clean planned before is abandoned.
        self._generation = 0
        self._truncations = 0  # truncate_to / truncate_fully_and_start_at calls (a move between log dirs asks)

    # ===================================================================================
    # opening and recovery
    # ===================================================================================

    @classmethod
    def open(cls, directory: Path, config: LogConfig, now_ms: int | None = None) -> PartitionLog:
        """Open the log in `directory`, creating it or recovering it as needed."""
        directory = Path(directory)
        now_ms = _now_ms() if now_ms is None else now_ms
        try:
            directory.mkdir(parents=True, exist_ok=True)
            plog = cls(directory, config)
            plog._load(now_ms)
        except OSError as exc:
            raise KafkaStorageError(f"cannot open the log in {directory}: {exc}") from exc
        return plog

    def _load(self, now_ms: int) -> None:
        d = self._directory
        marker = d / CLEAN_SHUTDOWN_FILE
        clean = marker.exists()
        if clean:
            marker.unlink()  # from here on, a crash must be noticed by the next open
        self._remove_leftovers()
        bases = sorted(
            int(p.name[: -len(LOG_SUFFIX)]) for p in d.glob(f"*{LOG_SUFFIX}") if _is_segment_name(p.name)
        )
        interval = self._config.index_interval_bytes
        stored_start = read_offset(d / LOG_START_OFFSET_FILE)
        fresh = not bases
        if fresh:
            start = stored_start or 0
            self.segments = [Segment.create(d, start, interval, now_ms)]
        else:
            self.segments = [Segment.open(d, b, interval, now_ms) for b in bases]
        self._bases = [s.base_offset for s in self.segments]
        self._epochs = LeaderEpochCache(d)
        rebuild_epochs = not self._epochs.loaded_ok

        recovery_point = read_offset(d / RECOVERY_POINT_FILE) or 0
        self._recovery_point = recovery_point
        if fresh:
            clean = True  # nothing to recover: a new (or emptied) log
        elif clean and self.active.load_tail():
            pass
        else:
            if clean:
                log.warning("%s: the active segment's tail is damaged despite a clean shutdown", d)
                recovery_point = min(recovery_point, self.active.base_offset)
            self._recover_from(recovery_point)

        if rebuild_epochs:
            self._rebuild_epochs()
        leo = self.log_end_offset
        self._log_start_offset = min(max(stored_start or 0, self.segments[0].base_offset), leo)
        self._epochs.truncate_from_end(leo)
        self._epochs.truncate_from_start(self._log_start_offset)
        self._load_producer_state(clean)
        if not clean:
            self.active.flush()
        self._set_recovery_point(leo)

    def _remove_leftovers(self) -> None:
        """Temp files of interrupted writes, an unfinished clean, the swap of a finished one,
        and index files whose log file is gone."""
        d = self._directory
        shutil.rmtree(d / SCRATCH_DIR, ignore_errors=True)
        for p in sorted(d.glob(f"*{LOG_SUFFIX}{SWAP_SUFFIX}")):
            self._complete_swap(p)
        for p in d.iterdir():
            name = p.name
            if name.endswith((".tmp", SWAP_SUFFIX)):
                p.unlink(missing_ok=True)
            elif name.endswith((INDEX_SUFFIX, TIME_INDEX_SUFFIX)):
                stem = name.rsplit(".", 1)[0]
                if not (d / f"{stem}{LOG_SUFFIX}").exists():
                    p.unlink(missing_ok=True)

    def _complete_swap(self, swap: Path) -> None:
        """A crash came after a cleaned segment was renamed to .swap: it replaces every
        segment whose base offset lies in its range (Kafka's LogLoader does the same)."""
        d = self._directory
        base = int(swap.name[: -len(LOG_SUFFIX + SWAP_SUFFIX)])
        probe = Segment(d, base, swap.stat().st_size, self._config.index_interval_bytes, 0)
        probe.log_path = swap
        end = base
        for _, h in probe.scan(0):
            end = h.next_offset
        probe.release()
        for p in d.glob(f"*{LOG_SUFFIX}"):
            other = int(p.name[: -len(LOG_SUFFIX)]) if _is_segment_name(p.name) else -1
            if other == base or base <= other < end:
                for suffix in (LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX):
                    segment_file(d, other, suffix).unlink(missing_ok=True)
        for suffix in (INDEX_SUFFIX, TIME_INDEX_SUFFIX):
            segment_file(d, base, suffix).unlink(missing_ok=True)  # rebuilt from the log on first use
        log.warning("%s: completing the swap of cleaned segment %s", d, swap.name)
        os.replace(swap, segment_file(d, base, LOG_SUFFIX))

    def _recover_from(self, recovery_point: int) -> None:
        epochs = self._epochs

        def note_epoch(h) -> None:
            # As Kafka's LogSegment.recover: epochs seen in recovered batches enter the cache.
            if h.partition_leader_epoch >= 0 and h.partition_leader_epoch > epochs.latest_epoch:
                epochs.assign(h.partition_leader_epoch, h.base_offset)

        first = max(0, bisect_right(self._bases, recovery_point) - 1)
        for i in range(first, len(self.segments)):
            seg = self.segments[i]
            dropped = seg.recover(note_epoch)
            if dropped:
                log.warning(
                    "%s: dropped %d bytes of torn or corrupt data at the end of %s",
                    self._directory,
                    dropped,
                    seg.log_path.name,
                )
                for later in self.segments[i + 1 :]:
                    log.warning(
                        "%s: deleting %s, which follows the damage", self._directory, later.log_path.name
                    )
                    later.delete()
                del self.segments[i + 1 :]
                del self._bases[i + 1 :]
                break

    def _rebuild_epochs(self) -> None:
        """The checkpoint was unreadable: every batch carries its leader epoch, so replay the headers."""
        log.warning("%s: rebuilding the leader epoch cache from the batch headers", self._directory)
        self._epochs.clear()
        for seg in self.segments:
            for _, h in seg.scan(0):
                if h.partition_leader_epoch >= 0 and h.partition_leader_epoch > self._epochs.latest_epoch:
                    self._epochs.assign(h.partition_leader_epoch, h.base_offset)

    def _load_producer_state(self, clean: bool) -> None:
        pm = self._producers
        leo = self.log_end_offset
        pm.delete_snapshots(above=leo)
        if clean and pm.load_snapshot(leo):
            return
        start = None
        for off in reversed(pm.snapshot_offsets()):
            if pm.load_snapshot(off):
                start = off
                break
        if start is None:
            pm.clear()
            start = self.segments[0].base_offset
        self._replay_producers(start)

    def _replay_producers(self, start: int) -> None:
        """Apply the headers of the batches at offsets >= start to the producer state."""
        first = max(0, bisect_right(self._bases, start) - 1)
        apply = self._producers.apply
        for seg in self.segments[first:]:
            position = seg.offset_index.lookup(start) if seg.base_offset <= start else 0
            for pos, h in seg.scan(position):
                if h.base_offset >= start and h.producer_id >= 0:
                    marker = read_marker(seg.read(pos, h.length + LOG_OVERHEAD)) if h.is_control else None
                    apply(h, marker)

    # ===================================================================================
    # properties
    # ===================================================================================

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def config(self) -> LogConfig:
        return self._config

    @config.setter
    def config(self, config: LogConfig) -> None:
        """A new config takes effect from the next append (segment sizes, retention, ...)."""
        self._config = config
        if self.segments:
            self.active.index_interval_bytes = config.index_interval_bytes

    @property
    def active(self) -> Segment:
        return self.segments[-1]

    @property
    def log_start_offset(self) -> int:
        return self._log_start_offset

    @property
    def log_end_offset(self) -> int:
        """The offset the next appended record gets."""
        return self.segments[-1].next_offset

    @property
    def size_bytes(self) -> int:
        return sum(s.size for s in self.segments)

    @property
    def latest_epoch(self) -> int:
        """The newest leader epoch in the cache, -1 if none."""
        return self._epochs.latest_epoch

    @property
    def recovery_point(self) -> int:
        return self._recovery_point

    @property
    def producer_state(self) -> ProducerStateManager:
        return self._producers

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def generation(self) -> int:
        """Changes whenever closed segments change other than by a cleaner swap."""
        return self._generation

    @property
    def truncations(self) -> int:
        """How many times the log end was cut back: bytes once written may since have been rewritten."""
        return self._truncations

    @property
    def cleaner_checkpoint(self) -> int | None:
        """Where the dirty (not yet compacted) part of the log starts; None if never cleaned."""
        return read_offset(self._directory / CLEANER_CHECKPOINT_FILE)

    def __repr__(self) -> str:
        return (
            f"PartitionLog({self._directory.name}, start={self._log_start_offset}, "
            f"end={self.log_end_offset}, segments={len(self.segments)})"
        )

    # ===================================================================================
    # appending
    # ===================================================================================

    def append_as_leader(self, records: bytes, leader_epoch: int, now_ms: int, *, from_client: bool = True,
                         verification_guard: object | None = None) -> AppendResult:
        """Validate, assign offsets to and append the batches of a produce request.

        All or nothing: a validation error, a producer check or a failed write leaves the
        log unchanged. A retried idempotent batch is not appended again: the result has
        `duplicate=True` and the original offsets. `from_client=False` is a coordinator's
        own write (Kafka's AppendOrigin.COORDINATOR): a transactional offset commit carries
        its producer's id and epoch but no sequence. `verification_guard` is None when partition
        verification is off; else a transactional batch may only open its producer's transaction
        with the guard `start_verification` gave (see producer_state.py).
        """
        self._check_open()
        headers = validate_batches(records, from_client=from_client)
        if not headers:
            raise InvalidRecordError("a produce request must carry at least one record batch")
        config = self._config
        for h in headers:
            if h.length + LOG_OVERHEAD > config.max_message_bytes:
                raise MessageTooLargeError(
                    f"batch of {h.length + LOG_OVERHEAD} bytes exceeds max.message.bytes={config.max_message_bytes}"
                )
        if len(records) > config.segment_bytes:
            raise RecordListTooLargeError(
                f"{len(records)} bytes of batches exceed segment.bytes={config.segment_bytes}"
            )
        codec = config.stored_codec
        if codec is not None:
            rewritten = recompress(records, headers, codec, config.stored_level)
            if rewritten is not None:
                records = rewritten
                headers = [h for _, h in iter_batches(records)]  # our own batches: nothing to validate
        if config.compact_enabled:
            self._require_keys(records, headers)
        log_append_time = config.log_append_time
        if not log_append_time:
            validate_timestamps(
                headers, now_ms, config.message_timestamp_before_max_ms, config.message_timestamp_after_max_ms
            )
        latest_epoch = self._epochs.latest_epoch
        if leader_epoch < latest_epoch:
            raise FencedLeaderEpochError(
                f"leader epoch {leader_epoch} is older than the log's {latest_epoch}"
            )

        staging = self._producers.begin(verification_guard)
        for h in headers:
            dup = staging.find_duplicate(h)
            if dup is not None:
                return AppendResult(
                    dup.first_offset,
                    dup.last_offset,
                    dup.timestamp if log_append_time else -1,
                    self._log_start_offset,
                    True,
                )

        # Only the 61-byte headers change: patch copies of them and write each beside its
        # untouched body (one pwritev), so the records are never copied.
        view = memoryview(records)
        parts: list = []
        next_offset = base_offset = self.log_end_offset
        batches = []
        position = 0
        max_ts_all = -1
        for h in headers:
            size = h.length + LOG_OVERHEAD
            last = next_offset + h.last_offset_delta
            header = bytearray(view[position : position + HEADER_SIZE])
            body = view[position + HEADER_SIZE : position + size]
            if log_append_time:
                set_max_timestamp(header, 0, LOG_APPEND_TIME, now_ms, body)
                max_ts = now_ms
            else:
                if h.attributes & 0x08:
                    set_max_timestamp(header, 0, CREATE_TIME, h.max_timestamp, body)
                max_ts = h.max_timestamp
            if h.producer_id >= 0:
                if h.is_control:
                    marker = read_marker(view[position : position + size])
                    if marker is not None:
                        staging.end_txn(h.producer_id, h.producer_epoch, marker[1], marker[0], next_offset, max_ts)
                else:
                    staging.check_and_add(h, next_offset, last, max_ts)
            patch_offsets(header, 0, next_offset, leader_epoch)
            parts.append(header)
            parts.append(body)
            batches.append((position, next_offset, last, max_ts, size))
            if max_ts > max_ts_all:
                max_ts_all = max_ts
            position += size
            next_offset = last + 1

        segment = self._segment_for(position, max_ts_all, next_offset - 1, now_ms)
        segment.append(parts, batches, position)
        staging.commit()
        if leader_epoch >= 0 and leader_epoch != latest_epoch:
            self._epochs.assign(leader_epoch, base_offset)
        return AppendResult(
            base_offset, next_offset - 1, now_ms if log_append_time else -1, self._log_start_offset, False
        )

    def _require_keys(self, records: bytes, headers) -> None:
        """A compacted topic refuses records without a key (Kafka's LogValidator.validateKey).
        Only compacted topics decode records here; the others never look past the headers."""
        view = memoryview(records)
        position = 0
        for h in headers:
            size = h.length + LOG_OVERHEAD
            missing = keyless_record_indexes(view[position : position + size])
            if missing:
                message = (
                    "Compacted topic cannot accept message without key in topic partition "
                    f"{self._directory.name}."
                )
                raise RecordValidationError([(i, message) for i in missing])
            position += size

    def append_as_follower(self, records: bytes) -> AppendResult | None:
        """Append batches fetched from the leader as they are (offsets and epochs already set).

        Checks CRCs and that the first batch does not start below the log end offset
        (UnexpectedAppendOffsetError otherwise); it may start above it, where compaction
        on the leader removed batches. Returns None when `records` is empty.
        """
        self._check_open()
        headers = validate_batches(records, from_client=False)
        if not headers:
            return None
        leo = self.log_end_offset
        first = headers[0].base_offset
        if first < leo:
            raise UnexpectedAppendOffsetError(
                f"follower append starts at offset {first}, the log ends at {leo}", first, leo
            )
        if len(records) > self._config.segment_bytes:
            raise RecordListTooLargeError(f"{len(records)} bytes of batches exceed segment.bytes")
        batches = []
        position = 0
        expected = leo
        max_ts_all = -1
        for h in headers:
            if h.base_offset < expected:
                raise UnexpectedAppendOffsetError(
                    f"offsets go backwards in a follower append: batch at {h.base_offset}, expected >= {expected}",
                    h.base_offset,
                    expected,
                )
            size = h.length + LOG_OVERHEAD
            last = h.base_offset + h.last_offset_delta
            batches.append((position, h.base_offset, last, h.max_timestamp, size))
            max_ts_all = max(max_ts_all, h.max_timestamp)
            position += size
            expected = last + 1
        segment = self._segment_for(len(records), max_ts_all, expected - 1, _now_ms())
        segment.append([records], batches, len(records))
        position = 0
        for h in headers:
            size = h.length + LOG_OVERHEAD
            if h.producer_id >= 0:
                marker = read_marker(memoryview(records)[position : position + size]) if h.is_control else None
                self._producers.apply(h, marker)
            position += size
            if h.partition_leader_epoch >= 0:
                self._epochs.assign(h.partition_leader_epoch, h.base_offset)
        return AppendResult(first, expected - 1, -1, self._log_start_offset, False)

    def append_marker(self, commit: bool, producer_id: int, producer_epoch: int, coordinator_epoch: int,
                      leader_epoch: int, now_ms: int) -> AppendResult:
        """Append a transaction marker (WriteTxnMarkers): closes the producer's transaction here."""
        marker = build_marker(commit, producer_id, producer_epoch, coordinator_epoch, now_ms)
        return self.append_as_leader(marker, leader_epoch, now_ms, from_client=False)

    # -- transactions -----------------------------------------------------------------------

    def start_verification(self, producer_id: int, epoch: int, now_ms: int) -> object | None:
        """The guard a transactional batch needs to open its producer's transaction here, or None."""
        self._check_open()
        return self._producers.start_verification(producer_id, epoch, now_ms)

    @property
    def first_unstable_offset(self) -> int | None:
        """First offset of the earliest open transaction in this log, or None."""
        return self._producers.first_unstable_offset

    def aborted_transactions(self, start: int, end: int) -> list[AbortedTxn]:
        """Aborted ranges that batches read from [start, end) may belong to."""
        return self._producers.aborted_between(start, end)

    def _segment_for(self, size: int, max_timestamp: int, last_offset: int, now_ms: int) -> Segment:
        """The active segment, rolled first if this append must not go into it (Kafka's shouldRoll)."""
        seg = self.active
        if seg.size == 0:
            return seg
        config = self._config
        rolling_ts = seg.rolling_timestamp()
        waited = (
            (max_timestamp - rolling_ts)
            if rolling_ts >= 0 and max_timestamp >= 0
            else now_ms - seg.created_ms
        )
        if (
            seg.size > config.segment_bytes - size
            or waited > config.segment_ms
            or len(seg.offset_index) >= config.segment_index_bytes // 8
            or len(seg.time_index) >= config.segment_index_bytes // 12
            or last_offset - seg.base_offset > INT32_MAX
        ):
            return self.roll(now_ms)
        return seg

    def roll(self, now_ms: int | None = None) -> Segment:
        """Start a new active segment at the log end offset (no-op if the active one is empty)."""
        self._check_open()
        old = self.active
        if old.size == 0:
            return old
        new_base = self.log_end_offset
        try:
            old.seal()
            self._epochs.sync()
            self._producers.write_snapshot(new_base)
            seg = Segment.create(
                self._directory,
                new_base,
                self._config.index_interval_bytes,
                _now_ms() if now_ms is None else now_ms,
            )
        except OSError as exc:
            raise KafkaStorageError(f"cannot roll {self._directory}: {exc}") from exc
        self.segments.append(seg)
        self._bases.append(new_base)
        self._set_recovery_point(new_base)
        return seg

    # ===================================================================================
    # reading
    # ===================================================================================

    def read(
        self, offset: int, max_bytes: int, upper_bound: int | None = None, min_one: bool = True
    ) -> ReadResult:
        """Whole batches from the one containing `offset`, up to `max_bytes` in total.

        Never a batch whose base offset is >= `upper_bound` (the high watermark for
        consumers). With `min_one` a first batch larger than `max_bytes` is returned whole
        (KIP-74). Reads stay within one segment. Raises OffsetOutOfRangeError outside
        [log_start_offset, log_end_offset]; at the log end offset the result is empty.
        """
        self._check_open()
        leo = self.log_end_offset
        if offset < self._log_start_offset or offset > leo:
            raise OffsetOutOfRangeError(
                f"offset {offset} is outside the log's range [{self._log_start_offset}, {leo}]"
            )
        limit = leo if upper_bound is None else min(upper_bound, leo)
        if offset >= limit:
            return ReadResult(b"", offset)
        i = bisect_right(self._bases, offset) - 1
        for seg in self.segments[max(i, 0) :]:
            result = self._read_segment(seg, offset, max_bytes, limit, min_one)
            if result is not None:
                return result
        return ReadResult(b"", offset)

    def _read_segment(self, seg: Segment, offset: int, max_bytes: int, limit: int, min_one: bool):
        """None when no batch of this segment reaches `offset` (look in the next one).

        Three preads: the headers near the index entry for `offset` (to find the first
        batch), the headers near the index entry just below start + max_bytes (to find
        the last whole batch that fits), then exactly the bytes to return, so the result
        is never sliced out of a larger buffer.
        """
        found = seg.find(offset)
        if found is None:
            return None
        start, first = found
        if first.base_offset >= limit:
            return ReadResult(b"", offset)
        first_size = first.length + LOG_OVERHEAD
        if first_size > max_bytes:
            if min_one:  # KIP-74: the first batch goes out whole
                return ReadResult(seg.read(start, first_size), first.base_offset)
            return ReadResult(b"", offset)
        bound = min(start + max_bytes, seg.size)
        # Every batch before an indexed batch that starts within the bound (and below the
        # limit) fits; only the batches after that entry need their headers read.
        entry = seg.offset_index.last_entry_within(bound, limit)
        walk_from = max(entry[1], start) if entry is not None else start
        end = walk_from
        for pos, h in seg.scan(walk_from, bound):
            if h.base_offset >= limit:
                break
            end = pos + h.length + LOG_OVERHEAD
        return ReadResult(seg.read(start, end - start), first.base_offset)

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """ListOffsets by timestamp: (offset, timestamp) of the first record with
        timestamp >= `timestamp` (see timestamp_lookup.py), or None."""
        self._check_open()
        if timestamp < 0:
            raise ValueError("use log_start_offset / log_end_offset / max_timestamp_offset() for -2, -1, -3")
        return timestamp_lookup.offset_for_timestamp(self.segments, self._log_start_offset, timestamp)

    def max_timestamp_offset(self) -> tuple[int, int] | None:
        """ListOffsets MAX_TIMESTAMP (-3): (offset, timestamp) of the record with the largest timestamp."""
        self._check_open()
        return timestamp_lookup.max_timestamp_offset(self.segments, self._log_start_offset)

    # ===================================================================================
    # leader epochs
    # ===================================================================================

    def end_offset_for(self, epoch: int) -> tuple[int, int]:
        """OffsetForLeaderEpoch: (epoch, end offset), (-1, -1) when unknown."""
        return self._epochs.end_offset_for(epoch, self.log_end_offset)

    def epoch_start_offset(self, epoch: int) -> int:
        """First offset written in `epoch`; the log end offset for an epoch with no data yet."""
        start = self._epochs.start_offset_of(epoch)
        if start is not None:
            return start
        for e, s in self._epochs.entries():
            if e > epoch:
                return s
        return self.log_end_offset

    def assign_epoch_start_offset(self, epoch: int, start_offset: int | None = None) -> None:
        """Record that `epoch` starts at `start_offset` (default: the log end offset), as a
        new leader does before accepting writes."""
        self._epochs.assign(epoch, self.log_end_offset if start_offset is None else start_offset)

    def epoch_for_offset(self, offset: int) -> int | None:
        """The leader epoch in which `offset` was written (None before the first known epoch)."""
        epoch = self._epochs.epoch_for_offset(offset)
        return None if epoch < 0 else epoch

    def epoch_entries(self) -> list[tuple[int, int]]:
        return self._epochs.entries()

    # ===================================================================================
    # truncation, deletion, retention
    # ===================================================================================

    def truncate_to(self, offset: int) -> None:
        """Remove everything at offsets >= `offset` (a follower after a leader change).

        A batch straddling `offset` is removed whole, so the log end offset may end up
        below `offset`.
        """
        self._check_open()
        if offset < 0:
            raise ValueError(f"cannot truncate to {offset}")
        if offset >= self.log_end_offset:
            return
        if offset < self.segments[0].base_offset:
            self.truncate_fully_and_start_at(offset)
            return
        self._generation += 1
        self._truncations += 1
        while len(self.segments) > 1 and self.segments[-1].base_offset > offset:
            self.segments.pop().delete()
            self._bases.pop()
        self.active.truncate_to(offset)
        leo = self.log_end_offset
        self._epochs.truncate_from_end(leo)
        if self._log_start_offset > leo:
            self._set_log_start_offset(leo)
        self._producers.delete_snapshots(above=leo)
        self._load_producer_state(clean=False)
        if self._recovery_point > leo:
            self._set_recovery_point(leo)
        checkpoint = self.cleaner_checkpoint
        if checkpoint is not None and checkpoint > leo:  # Kafka's maybeTruncateCheckpoint
            write_offset(self._directory / CLEANER_CHECKPOINT_FILE, leo)

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Drop every segment and restart the log empty at `offset` (a follower far behind)."""
        self._check_open()
        self._generation += 1
        self._truncations += 1
        for seg in self.segments:
            seg.delete()
        (self._directory / CLEANER_CHECKPOINT_FILE).unlink(missing_ok=True)
        self.segments = [
            Segment.create(self._directory, offset, self._config.index_interval_bytes, _now_ms())
        ]
        self._bases = [offset]
        self._epochs.clear()
        self._producers.clear()
        self._producers.delete_snapshots(above=-1)
        self._set_log_start_offset(offset)
        self._set_recovery_point(offset)

    def delete_records_before(self, offset: int) -> int:
        """DeleteRecords: move the log start offset up to `offset` and delete the segments
        wholly below it; returns the new log start offset."""
        self._check_open()
        leo = self.log_end_offset
        if offset > leo or offset < 0:
            raise OffsetOutOfRangeError(f"cannot delete records before {offset}: the log ends at {leo}")
        if offset > self._log_start_offset:
            self._set_log_start_offset(offset)
            self._delete_segments_below_start()
            self._epochs.truncate_from_start(offset)
        return self._log_start_offset

    def remove_expired_producers(self, now_ms: int, expiration_ms: int) -> int:
        """Forget idle producers (see producer_state.py); the next snapshot leaves them out."""
        return 0 if self._closed else self._producers.remove_expired(now_ms, expiration_ms)

    def apply_retention(self, now_ms: int, high_watermark: int | None = None) -> int:
        """Delete old segments by retention.ms (their largest timestamp) and retention.bytes;
        returns the bytes deleted. Never the active segment; with `high_watermark`, only
        segments wholly below it (Kafka's rule)."""
        self._check_open()
        config = self._config
        deleted = self._delete_segments_below_start()
        if not config.delete_enabled:
            return deleted

        def deletable() -> bool:
            return len(self.segments) > 1 and (
                high_watermark is None or self.segments[1].base_offset <= high_watermark
            )

        if config.retention_ms >= 0:
            while deletable() and now_ms - self.segments[0].largest_timestamp() > config.retention_ms:
                deleted += self._delete_oldest()
        if config.retention_bytes >= 0:
            excess = self.size_bytes - config.retention_bytes
            while deletable() and excess - self.segments[0].size >= 0:
                excess -= self.segments[0].size
                deleted += self._delete_oldest()
        return deleted

    def _delete_segments_below_start(self) -> int:
        deleted = 0
        while len(self.segments) > 1 and self.segments[1].base_offset <= self._log_start_offset:
            deleted += self._delete_oldest()
        return deleted

    def _delete_oldest(self) -> int:
        self._generation += 1
        seg = self.segments.pop(0)
        self._bases.pop(0)
        size = seg.size
        seg.delete()
        new_start = self.segments[0].base_offset
        if new_start > self._log_start_offset:
            self._set_log_start_offset(new_start)
            self._epochs.truncate_from_start(new_start)
        self._producers.delete_snapshots(below=new_start)
        return size

    # ===================================================================================
    # compaction (cleaner.py does the work; this swaps its result in)
    # ===================================================================================

    def swap_cleaned(self, result) -> bool:
        """Replace the segments a clean rewrote with its cleaned segments; False (and the
        result discarded) if the log changed since the clean was planned.

        Short and on the event loop: renames and unlinks, no data is read or copied.
        """
        if self._closed or result.generation != self._generation or not self._still_there(result.groups):
            shutil.rmtree(result.scratch, ignore_errors=True)
            return False
        d = self._directory
        try:
            # 1. Every cleaned log file becomes <base>.log.swap: from here on a crash completes the swap.
            for group in result.groups:
                base = group[0].base_offset
                os.replace(segment_file(result.scratch, base, LOG_SUFFIX), _swap_file(d, base))
            fsync_path(d)
            # 2. The replaced segments go, the swap files and their indexes take their place.
            by_base = {seg.base_offset: seg for seg in self.segments}
            replaced = {info.base_offset for group in result.groups for info in group}
            for base in replaced:
                by_base.pop(base).delete()
            interval = self._config.index_interval_bytes
            for group in result.groups:
                base = group[0].base_offset
                for suffix in (INDEX_SUFFIX, TIME_INDEX_SUFFIX):
                    os.replace(segment_file(result.scratch, base, suffix), segment_file(d, base, suffix))
                os.replace(_swap_file(d, base), segment_file(d, base, LOG_SUFFIX))
                by_base[base] = Segment.open(d, base, interval, _now_ms())
            fsync_path(d)
        except OSError as exc:
            raise KafkaStorageError(f"swapping cleaned segments into {d} failed: {exc}") from exc
        finally:
            shutil.rmtree(result.scratch, ignore_errors=True)
        self.segments = [by_base[b] for b in sorted(by_base)]
        self._bases = [seg.base_offset for seg in self.segments]
        self._generation += 1
        write_offset(d / CLEANER_CHECKPOINT_FILE, result.end_offset)
        return True

    def _still_there(self, groups) -> bool:
        """The closed segments a clean read are all still here, with the sizes it read."""
        closed = {seg.base_offset: seg for seg in self.segments[:-1]}
        for group in groups:
            for info in group:
                seg = closed.get(info.base_offset)
                if seg is None or seg.size != info.size:
                    return False
        return True

    # ===================================================================================
    # durability and lifecycle
    # ===================================================================================

    def flush(self) -> None:
        """fsync the active segment and move the recovery point to the log end offset."""
        self._check_open()
        try:
            self.active.flush()
            self._epochs.sync()
        except OSError as exc:
            raise KafkaStorageError(f"flush of {self._directory} failed: {exc}") from exc
        self._set_recovery_point(self.log_end_offset)

    def close(self) -> None:
        """Flush everything and mark the shutdown clean, so the next open skips recovery."""
        if self._closed:
            return
        leo = self.log_end_offset
        try:
            for seg in self.segments[:-1]:
                seg.close()
            self.active.close(seal=True)
            self._epochs.sync()
            producers = self._producers
            if not producers.snapshot_path(leo).exists():
                producers.write_snapshot(leo)
            # Keep the snapshots at segment bases (recovery after truncation starts there)
            # and the one at the end; older end-of-run snapshots are of no more use.
            keep = set(self._bases) | {leo}
            for off in producers.snapshot_offsets():
                if off not in keep:
                    producers.snapshot_path(off).unlink(missing_ok=True)
            self._set_recovery_point(leo)
            # No fsync needed: the data is durable already, and a lost marker only means
            # a recovery pass on the next open.
            write_offset(self._directory / CLEAN_SHUTDOWN_FILE, leo, fsync=False)
        except OSError as exc:
            raise KafkaStorageError(f"close of {self._directory} failed: {exc}") from exc
        finally:
            self._closed = True

    def delete(self) -> None:
        """Remove the partition's directory and everything in it."""
        for seg in self.segments:
            seg.release()
        self._closed = True
        shutil.rmtree(self._directory, ignore_errors=True)

    def release(self) -> None:
        """Close file descriptors without flushing or marking a clean shutdown (what a
        crash leaves behind; tests use it to simulate one)."""
        for seg in self.segments:
            seg.release()
        self._closed = True

    # -- helpers ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise KafkaStorageError(f"the log in {self._directory} is closed")

    def _set_log_start_offset(self, offset: int) -> None:
        self._log_start_offset = offset
        write_offset(self._directory / LOG_START_OFFSET_FILE, offset)
        self._producers.prune_aborted(offset)  # no read starts below it any more

    def _set_recovery_point(self, offset: int) -> None:
        if offset == self._recovery_point and (self._directory / RECOVERY_POINT_FILE).exists():
            return
        self._recovery_point = offset
        write_offset(self._directory / RECOVERY_POINT_FILE, offset, fsync=False)


def _swap_file(directory: Path, base_offset: int) -> Path:
    return segment_file(directory, base_offset, LOG_SUFFIX + SWAP_SUFFIX)


def fsync_path(path: Path) -> None:
    """Make a file's data, or a directory's entries (renames, new files), durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_segment_name(name: str) -> bool:
    stem = name[: -len(LOG_SUFFIX)]
    return len(stem) == 20 and stem.isdigit()


def _now_ms() -> int:
    return int(time.time() * 1000)
