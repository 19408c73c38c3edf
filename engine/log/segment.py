"""One log segment: `<base:020d>.log` with its `.index` and `.timeindex`.

A segment is an append-only file of whole batches plus two sparse indexes. It knows byte
positions and batch headers, nothing of producers or epochs. Reads are `os.pread` on a
file descriptor opened on first use, so a broker with many partitions holds descriptors
only for the segments it touches (every active segment, and old ones once read).

Segments other than the active one load their indexes lazily: opening a partition with a
long history reads no index until a fetch or a timestamp lookup needs one. The largest
timestamp of an old segment (for retention) comes from the last 12 bytes of its
`.timeindex`, which `seal()` writes when the segment stops being active.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from crc32c import crc32c

from .batch import CRC_START, HEADER_SIZE, LOG_OVERHEAD, MIN_BATCH_LENGTH, BatchHeader, read_header
from .errors import KafkaStorageError
from .offset_index import OffsetIndex
from .time_index import TimeIndex

__all__ = ["Segment", "segment_file", "LOG_SUFFIX", "INDEX_SUFFIX", "TIME_INDEX_SUFFIX"]

log = logging.getLogger(__name__)

LOG_SUFFIX = ".log"
INDEX_SUFFIX = ".index"
TIME_INDEX_SUFFIX = ".timeindex"

# Header scans read this much at a time: many small batches per system call, and no
# more than this wasted per large batch (whose body a header scan does not need).
_SCAN_CHUNK = 32 * 1024
# Recovery reads whole batches to check their CRCs, in chunks of this size.
_RECOVERY_CHUNK = 4 * 1024 * 1024
_TIME_ENTRY = struct.Struct(">qi")


def _pwritev_all(fd: int, parts: list, position: int) -> int:
    """pwritev every buffer, going on after a short write; returns the bytes written."""
    total = 0
    while parts:
        # Linux accepts at most IOV_MAX (1024) buffers per call.
        chunk = parts[:1024]
        want = sum(len(p) for p in chunk)
        n = os.pwritev(fd, chunk, position + total)
        total += n
        if n == want:
            parts = parts[1024:]
            continue
        # Short write: drop what was written and retry the rest.
        rest = []
        for p in parts:
            if n >= len(p):
                n -= len(p)
            else:
                rest.append(memoryview(p)[n:])
                n = 0
        parts = rest
    return total


def segment_file(directory: Path, base_offset: int, suffix: str) -> Path:
    return directory / f"{base_offset:020d}{suffix}"


class Segment:
    __slots__ = (
        "directory",
        "base_offset",
        "log_path",
        "size",
        "index_interval_bytes",
        "created_ms",
        "_fd",
        "_offset_index",
        "_time_index",
        "_next_offset",
        "_max_timestamp",
        "_offset_of_max_timestamp",
        "_bytes_since_index",
        "_rolling_timestamp",
        "_dirty",
    )

    def __init__(
        self, directory: Path, base_offset: int, size: int, index_interval_bytes: int, created_ms: int
    ):
        self.directory = directory
        self.base_offset = base_offset
        self.log_path = segment_file(directory, base_offset, LOG_SUFFIX)
        self.size = size
        self.index_interval_bytes = index_interval_bytes
        self.created_ms = created_ms
        self._fd: int | None = None
        self._offset_index: OffsetIndex | None = None
        self._time_index: TimeIndex | None = None
        self._next_offset: int | None = None
        self._max_timestamp: int | None = None
        self._offset_of_max_timestamp = base_offset
        self._bytes_since_index = 0
        self._rolling_timestamp: int | None = None
        self._dirty = False  # written since the last fsync

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    def create(cls, directory: Path, base_offset: int, index_interval_bytes: int, now_ms: int) -> Segment:
        """A new empty segment (replacing leftover files of the same base offset)."""
        seg = cls(directory, base_offset, 0, index_interval_bytes, now_ms)
        seg._fd = os.open(seg.log_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        seg._offset_index = OffsetIndex.create(
            segment_file(directory, base_offset, INDEX_SUFFIX), base_offset
        )
        seg._time_index = TimeIndex.create(
            segment_file(directory, base_offset, TIME_INDEX_SUFFIX), base_offset
        )
        seg._next_offset = base_offset
        seg._max_timestamp = -1
        seg._rolling_timestamp = -1
        return seg

    @classmethod
    def open(cls, directory: Path, base_offset: int, index_interval_bytes: int, now_ms: int) -> Segment:
        """An existing segment; indexes load on first use."""
        path = segment_file(directory, base_offset, LOG_SUFFIX)
        return cls(directory, base_offset, path.stat().st_size, index_interval_bytes, now_ms)

    @property
    def fd(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(self.log_path, os.O_RDWR)
            except OSError as exc:
                raise KafkaStorageError(f"cannot open {self.log_path}: {exc}") from exc
        return self._fd

    def flush(self) -> None:
        """Write buffered index entries and fsync the log and both indexes (if anything
        changed since the last flush: idle partitions cost no fsync)."""
        dirty = self._dirty
        if dirty and self._fd is not None:
            os.fsync(self._fd)
        if self._offset_index is not None:
            self._offset_index.flush(fsync=dirty)
        if self._time_index is not None:
            self._time_index.flush(fsync=dirty)
        self._dirty = False

    def seal(self) -> None:
        """This segment stops being the active one: record its largest timestamp in the time
        index (retention reads it from there) and make everything durable."""
        if self.max_timestamp >= 0:
            tindex = self.time_index
            before = len(tindex)
            tindex.maybe_append(self.max_timestamp, self._offset_of_max_timestamp)
            if len(tindex) != before:
                self._dirty = True
        self.flush()

    def close(self, *, seal: bool = False) -> None:
        if seal and self._fd is not None:
            self.seal()
        else:
            if self._offset_index is not None:
                self._offset_index.flush()
            if self._time_index is not None:
                self._time_index.flush()
        self.release()

    def release(self) -> None:
        """Close the file descriptor (the segment reopens it when used again)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def delete(self) -> None:
        self.release()
        for suffix in (LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX):
            segment_file(self.directory, self.base_offset, suffix).unlink(missing_ok=True)

    # -- indexes (lazy) -------------------------------------------------------------------

    @property
    def offset_index(self) -> OffsetIndex:
        if self._offset_index is None:
            path = segment_file(self.directory, self.base_offset, INDEX_SUFFIX)
            index = OffsetIndex.load(path, self.base_offset, self.size)
            if index is None:
                log.warning("rebuilding missing or corrupt index %s", path)
                self.rebuild_indexes()
            else:
                self._offset_index = index
        return self._offset_index

    @property
    def time_index(self) -> TimeIndex:
        if self._time_index is None:
            path = segment_file(self.directory, self.base_offset, TIME_INDEX_SUFFIX)
            index = TimeIndex.load(path, self.base_offset)
            if index is None:
                log.warning("rebuilding missing or corrupt time index %s", path)
                self.rebuild_indexes()
            else:
                self._time_index = index
        return self._time_index

    def rebuild_indexes(self) -> None:
        """Recreate both indexes (and the largest timestamp) from the batch headers."""
        index = OffsetIndex(segment_file(self.directory, self.base_offset, INDEX_SUFFIX), self.base_offset)
        tindex = TimeIndex(
            segment_file(self.directory, self.base_offset, TIME_INDEX_SUFFIX), self.base_offset
        )
        self._index_batches(index, tindex, self.scan(0))
        index.rewrite()
        tindex.rewrite()
        self._offset_index, self._time_index = index, tindex

    def _index_batches(self, index: OffsetIndex, tindex: TimeIndex, batches) -> None:
        """Replay the indexing rule of `append` over (position, header) pairs; sets the tail state."""
        max_ts, max_off = -1, self.base_offset
        since = 0
        next_offset = self.base_offset
        first_ts = None
        interval = self.index_interval_bytes
        for pos, h in batches:
            if first_ts is None:
                first_ts = h.max_timestamp
            last = h.base_offset + h.last_offset_delta
            if h.max_timestamp > max_ts:
                max_ts, max_off = h.max_timestamp, last
            if since > interval:
                index.append(h.base_offset, pos)
                tindex.maybe_append(max_ts, max_off)
                since = 0
            since += h.length + LOG_OVERHEAD
            next_offset = last + 1
        if max_ts >= 0:
            tindex.maybe_append(max_ts, max_off)
        self._max_timestamp, self._offset_of_max_timestamp = max_ts, max_off
        self._bytes_since_index = since
        self._next_offset = next_offset
        self._rolling_timestamp = first_ts if first_ts is not None else -1

    # -- state ----------------------------------------------------------------------------

    @property
    def max_timestamp(self) -> int:
        """Largest batch maxTimestamp in the segment (-1 if none has a timestamp)."""
        if self._max_timestamp is None:
            self._load_max_timestamp()
        return self._max_timestamp

    @property
    def offset_of_max_timestamp(self) -> int:
        if self._max_timestamp is None:
            self._load_max_timestamp()
        return self._offset_of_max_timestamp

    def _load_max_timestamp(self) -> None:
        if self._time_index is not None:
            self._max_timestamp, self._offset_of_max_timestamp = self._time_index.last_entry()
            return
        # Only the last entry of the file: no need to load the whole time index.
        path = segment_file(self.directory, self.base_offset, TIME_INDEX_SUFFIX)
        try:
            with open(path, "rb") as f:
                end = f.seek(0, os.SEEK_END)
                if end and end % _TIME_ENTRY.size == 0:
                    f.seek(end - _TIME_ENTRY.size)
                    ts, rel = _TIME_ENTRY.unpack(f.read(_TIME_ENTRY.size))
                    self._max_timestamp, self._offset_of_max_timestamp = ts, self.base_offset + rel
                    return
                if end == 0:
                    self._max_timestamp = -1
                    return
        except FileNotFoundError:
            pass
        self.time_index  # noqa: B018 - rebuilds the index, which sets the largest timestamp
        if self._max_timestamp is None:
            self._max_timestamp, self._offset_of_max_timestamp = self._time_index.last_entry()

    def largest_timestamp(self) -> int:
        """What time-based retention compares: the largest timestamp, or the file's
        modification time when no batch has one (Kafka's rule)."""
        ts = self.max_timestamp
        if ts >= 0:
            return ts
        try:
            return int(self.log_path.stat().st_mtime * 1000)
        except FileNotFoundError:
            return -1

    @property
    def next_offset(self) -> int:
        """Offset after the last batch (the base offset when empty)."""
        self._ensure_tail()
        return self._next_offset

    def load_tail(self) -> bool:
        """Find the last batch: scan from the last index entry to the end, checking CRCs.

        Cheap (about index.interval.bytes plus one batch). False when those bytes are not
        a clean run of whole batches (torn or damaged after the last shutdown): the caller
        must then `recover()` the segment. On False the tail state is left unknown.
        """
        index = self.offset_index
        _, position = index.last_entry()
        end = position
        next_offset = self.base_offset
        max_ts, max_off = -1, self.base_offset
        for pos, h, buf, off in self._walk(position, self.size, need_body=True):
            total = h.length + LOG_OVERHEAD
            with memoryview(buf) as view:
                if crc32c(view[off + CRC_START : off + total]) != h.crc:
                    break
            end = pos + total
            next_offset = h.base_offset + h.last_offset_delta + 1
            if h.max_timestamp > max_ts:
                max_ts, max_off = h.max_timestamp, next_offset - 1
        if end != self.size or (position > 0 and end == position):
            return False
        self._next_offset = next_offset
        self._bytes_since_index = self.size - position
        if self._max_timestamp is None:
            self._load_max_timestamp()
        if max_ts > self._max_timestamp:
            self._max_timestamp, self._offset_of_max_timestamp = max_ts, max_off
        return True

    def _ensure_tail(self) -> None:
        if self._next_offset is None and not self.load_tail():
            log.warning(
                "%s: bytes after the last index entry are not whole batches; rebuilding", self.log_path
            )
            self.rebuild_indexes()

    def rolling_timestamp(self) -> int:
        """The first batch's maxTimestamp (what segment.ms measures from), -1 if none."""
        if self._rolling_timestamp is None:
            self._rolling_timestamp = -1
            for _, h in self.scan(0):
                self._rolling_timestamp = h.max_timestamp
                break
        return self._rolling_timestamp

    # -- reading --------------------------------------------------------------------------

    def read(self, position: int, size: int) -> bytes:
        size = min(size, self.size - position)
        if size <= 0:
            return b""
        try:
            data = os.pread(self.fd, size, position)
            while len(data) < size:
                more = os.pread(self.fd, size - len(data), position + len(data))
                if not more:
                    break
                data += more
        except OSError as exc:
            raise KafkaStorageError(f"read of {self.log_path} failed: {exc}") from exc
        return data

    def scan(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, BatchHeader]]:
        """(position, header) of each batch from `start`, reading headers only.

        Stops at the end, or quietly at the first batch that is incomplete or whose header
        is implausible (recovery deals with those).
        """
        for pos, h, _, _ in self._walk(start, self.size if end is None else end, need_body=False):
            yield pos, h

    def find(self, offset: int) -> tuple[int, BatchHeader] | None:
        """The first batch whose last offset is >= `offset`, via the index then a header scan."""
        for pos, h in self.scan(self.offset_index.lookup(offset)):
            if h.base_offset + h.last_offset_delta >= offset:
                return pos, h
        return None

    def _walk(self, start: int, end: int, need_body: bool):
        """(position, header, buffer, offset in buffer) per batch; the buffer holds the
        whole batch when `need_body`."""
        pos = start
        chunk = _RECOVERY_CHUNK if need_body else _SCAN_CHUNK
        fd = self.fd
        while pos + HEADER_SIZE <= end:
            buf = os.pread(fd, min(chunk, end - pos), pos)
            n = len(buf)
            off = 0
            while off + HEADER_SIZE <= n:
                h = read_header(buf, off)
                total = h.length + LOG_OVERHEAD
                if h.magic != 2 or h.length < MIN_BATCH_LENGTH or pos + off + total > end:
                    return
                if need_body and off + total > n:
                    if off == 0:
                        buf = os.pread(fd, total, pos)  # one batch larger than the chunk
                        n = len(buf)
                        if n < total:
                            return
                        continue
                    break
                yield pos + off, h, buf, off
                off += total
            if off == 0:
                return
            pos += off

    # -- writing --------------------------------------------------------------------------

    def append(self, parts: list, batches: list[tuple[int, int, int, int, int]], length: int) -> None:
        """Write `parts` (buffers that together make whole batches, `length` bytes) at the
        end in one pwritev, and index the batches.

        `batches` holds (position in the written data, base offset, last offset, max
        timestamp, size) for each batch. On a write error the file is cut back and nothing
        changes.
        """
        # Tail state and indexes first (loaded already for an active segment), so that a
        # failed write leaves everything as it was.
        index = self.offset_index
        tindex = self.time_index
        if self._max_timestamp is None:
            self._load_max_timestamp()
        self._ensure_tail()
        start = self.size
        fd = self.fd
        try:
            written = _pwritev_all(fd, parts, start)
        except OSError as exc:
            try:
                os.ftruncate(fd, start)
            except OSError:
                pass
            raise KafkaStorageError(f"append to {self.log_path} failed: {exc}") from exc
        assert written == length, (written, length)
        self._dirty = True
        if start == 0:
            self._rolling_timestamp = batches[0][3]
        interval = self.index_interval_bytes
        max_ts = self._max_timestamp
        since = self._bytes_since_index
        for rel, base, last, ts, size in batches:
            if ts > max_ts:
                max_ts = ts
                self._offset_of_max_timestamp = last
            if since > interval:
                index.append(base, start + rel)
                tindex.maybe_append(max_ts, self._offset_of_max_timestamp)
                since = 0
            since += size
        self._max_timestamp = max_ts
        self._bytes_since_index = since
        self._next_offset = batches[-1][2] + 1
        self.size = start + length

    def truncate_to(self, offset: int) -> int:
        """Remove every batch whose last offset is >= `offset`; returns the bytes removed.

        A batch straddling `offset` goes too: offsets are only ever cut at batch boundaries.
        """
        found = self.find(offset)
        if found is None:
            return 0
        position, header = found
        removed = self.size - position
        os.ftruncate(self.fd, position)
        self._dirty = True
        self.size = position
        index, tindex = self.offset_index, self.time_index
        index.truncate_to(header.base_offset)
        tindex.truncate_to(header.base_offset)
        # The kept time index entries cover everything up to the last kept offset-index
        # entry; scan the rest for the tail state.
        max_ts, max_off = tindex.last_entry()
        _, from_pos = index.last_entry()
        next_offset = self.base_offset
        for _, h in self.scan(from_pos):
            next_offset = h.base_offset + h.last_offset_delta + 1
            if h.max_timestamp > max_ts:
                max_ts, max_off = h.max_timestamp, next_offset - 1
        self._next_offset = next_offset
        self._max_timestamp, self._offset_of_max_timestamp = max_ts, max_off
        self._bytes_since_index = position - from_pos
        if position == 0:
            self._rolling_timestamp = -1
        return removed

    # -- recovery -------------------------------------------------------------------------

    def recover(self, on_batch=None) -> int:
        """Check every batch (header sanity and CRC32C), cut the file at the first bad or
        torn one, rebuild both indexes; returns the number of bytes dropped.
        `on_batch(header)` sees each good batch (the leader epoch cache uses it)."""
        index = OffsetIndex(segment_file(self.directory, self.base_offset, INDEX_SUFFIX), self.base_offset)
        tindex = TimeIndex(
            segment_file(self.directory, self.base_offset, TIME_INDEX_SUFFIX), self.base_offset
        )
        self.size = os.fstat(self.fd).st_size
        valid_end = 0

        def checked():
            nonlocal valid_end
            for pos, h, buf, off in self._walk(0, self.size, need_body=True):
                total = h.length + LOG_OVERHEAD
                with memoryview(buf) as view:
                    if crc32c(view[off + CRC_START : off + total]) != h.crc:
                        return
                valid_end = pos + total
                if on_batch is not None:
                    on_batch(h)
                yield pos, h

        self._index_batches(index, tindex, checked())
        dropped = self.size - valid_end
        if dropped:
            os.ftruncate(self.fd, valid_end)
            self.size = valid_end
        self._dirty = True  # recovery may follow a crash: make what it kept durable
        index.rewrite()
        tindex.rewrite()
        self._offset_index, self._time_index = index, tindex
        return dropped
