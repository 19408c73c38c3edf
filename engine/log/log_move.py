"""Moving a partition's log to another log dir while it stays in use (AlterReplicaLogDirs).

Kafka fills a "future" replica in the target dir in the background and swaps it in once
it has caught up, so the partition keeps serving during the move. Here in two steps:

1. `copy_bulk()`, in a worker thread: every file of the partition's directory is copied
   into `<target dir>/<topic>-<p>.<id>-future` while the log goes on taking appends,
   rolling, deleting old segments and cleaning; what was copied of each file is noted.
2. `finish()`, on the event loop with the log closed (nothing else touches it then):
   only what changed since is copied again. A segment that only grew gets the bytes
   appended to it; a file replaced (cleaned segment, checkpoints) or rewritten in place
   (the indexes of the segments that were active) is copied whole, as is every changed
   file if the log was truncated meanwhile; files deleted meanwhile are dropped. Then
   the copies are fsynced and the future directory takes the partition's name, with a
   `moved-from` note naming the old directory until the caller has retired that one.

`cancel()` stops the bulk copy within one chunk and removes the future directory. A crash
leaves a `-future` directory that the next start discards. The bulk copy can be paced (the
broker's `replica.alter.log.dirs.io.max.bytes.per.second`, shared by its moves: pacing.SharedByteRate);
the catch-up is not, as in Kafka, where the final swap does not wait for the quota either.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from .pacing import SharedByteRate
from .partition_log import PartitionLog, fsync_path
from .segment import LOG_SUFFIX

__all__ = ["LogMove", "MoveCancelled", "FUTURE_SUFFIX", "MOVED_FROM_FILE"]

FUTURE_SUFFIX = "-future"
MOVED_FROM_FILE = "moved-from"  # in a moved partition's dir until its old dir is retired
_CHUNK = 1024 * 1024  # bytes per sendfile call: a cancel or a new pace waits at most this long
_OFFSET_DIGITS = 20


class MoveCancelled(Exception):
    """The move was cancelled, or the partition's directory went away, during the copy."""


@dataclass(frozen=True)
class _Copied:
    inode: int
    size: int
    mtime_ns: int


def _segment_base(name: str) -> int | None:
    """The offset a segment or snapshot file is named after; None for other files."""
    head = name[:_OFFSET_DIGITS]
    return int(head) if len(head) == _OFFSET_DIGITS and head.isdigit() else None


class LogMove:
    def __init__(self, plog: PartitionLog, to_dir: Path, pace: SharedByteRate | None = None):
        self.plog = plog
        self.pace = pace
        self.source = plog.directory
        self.to_dir = Path(to_dir)
        self.future = self.to_dir / f"{self.source.name}.{uuid.uuid4().hex}{FUTURE_SUFFIX}"
        self.copied_bytes = 0  # read by DescribeLogDirs while the copy runs
        self.copied_offset = plog.log_start_offset  # every record below this is in the future dir
        self._log_in_copy: tuple[int, int] | None = None  # (segment base offset, bytes copied of it)
        self._bases = [seg.base_offset for seg in plog.segments]
        self._end_at_start = plog.log_end_offset
        # Segments from this one on were active at some point of the copy: their indexes may
        # have changed in place without a visible change of size or (coarse) mtime.
        self._active_base_at_start = plog.active.base_offset
        self._truncations_at_start = plog.truncations
        self._files: dict[str, _Copied] = {}
        self._cancelled = threading.Event()

    @property
    def target(self) -> Path:
        return self.to_dir / self.source.name

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        self._cancelled.set()

    # -- step 1: the bulk, in a worker thread -------------------------------------------------

    def copy_bulk(self) -> None:
        """Copy every file as it is now; raises MoveCancelled (the future dir removed) when cancelled
        or when the partition's directory disappears (the topic was deleted)."""
        try:
            self.future.mkdir()
            try:
                names = sorted(e.name for e in os.scandir(self.source) if e.is_file(follow_symlinks=False))
            except FileNotFoundError:
                raise MoveCancelled(f"{self.source} is gone") from None
            for name in names:
                try:
                    self._copy_whole(name)
                except FileNotFoundError:
                    continue  # deleted meanwhile (retention, cleaning): nothing to move
                if name.endswith(LOG_SUFFIX):
                    self._note_segment_copied(_segment_base(name))
            self.copied_offset = max(self.copied_offset, self._end_at_start)
            for name in self._files:
                fsync_path(self.future / name)
        except BaseException:
            self.discard()
            if self.cancelled:
                raise MoveCancelled(f"the move of {self.source} to {self.to_dir} was cancelled") from None
            raise

    def offset_copied(self) -> int:
        """Every record below this offset is in the future dir, counting the part of the segment
        being copied (its offset index maps bytes to offsets): DescribeLogDirs' lag of a future
        replica is the log end minus this, as Kafka's (its log end offset). On the event loop."""
        in_copy = self._log_in_copy
        if in_copy is None:
            return self.copied_offset
        base, position = in_copy
        segment = next((seg for seg in self.plog.segments if seg.base_offset == base), None)
        if segment is None:
            return self.copied_offset
        entry = segment.offset_index.last_entry_within(position, self._segment_end(base))
        return max(self.copied_offset, entry[0] if entry is not None else base)

    def _note_segment_copied(self, base: int | None) -> None:
        if base is None:
            return
        self.copied_offset = max(self.copied_offset, self._segment_end(base))

    def _segment_end(self, base: int) -> int:
        """The offset after the last record of the segment starting at `base`, as the log was when
        the move began."""
        return next((b for b in self._bases if b > base), self._end_at_start)

    # -- step 2: the catch-up, on the event loop --------------------------------------------

    def finish(self) -> Path:
        """Bring the future dir up to date with the closed log and give it the partition's name;
        returns that path. The source is left as it is (the caller retires it)."""
        if self.cancelled:
            raise MoveCancelled(f"the move of {self.source} to {self.to_dir} was cancelled")
        truncated = self.plog.truncations != self._truncations_at_start
        present = {e.name: e.stat() for e in os.scandir(self.source) if e.is_file(follow_symlinks=False)}
        for gone in self._files.keys() - present.keys():
            (self.future / gone).unlink(missing_ok=True)
        for name, st in present.items():
            seen = self._files.get(name)
            base = _segment_base(name)
            may_change_in_place = base is None or base >= self._active_base_at_start
            unchanged = seen == _Copied(st.st_ino, st.st_size, st.st_mtime_ns)
            if unchanged and not (may_change_in_place and not name.endswith(LOG_SUFFIX)):
                continue
            if (seen is not None and not truncated and name.endswith(LOG_SUFFIX)
                    and seen.inode == st.st_ino and st.st_size >= seen.size and self._same_end(name, seen.size)):
                self._copy_tail(name, seen.size)  # append-only segment: only the new bytes
            else:
                self._copy_whole(name, paced=False)
            fsync_path(self.future / name)
        # Until the caller has retired the source, the partition exists in both dirs; this note
        # tells the next start which one is complete, should a crash come in between.
        marker = self.future / MOVED_FROM_FILE
        marker.write_text(str(self.source))
        fsync_path(marker)
        fsync_path(self.future)
        os.rename(self.future, self.target)
        fsync_path(self.to_dir)
        self.copied_offset = self.plog.log_end_offset
        return self.target

    def _same_end(self, name: str, size: int) -> bool:
        """Whether the last bytes copied still match the source (a write that failed and was cut
        back, then overwritten, would not: the whole file is copied again then)."""
        start = max(0, size - 4096)
        with open(self.source / name, "rb") as src, open(self.future / name, "rb") as dst:
            return os.pread(src.fileno(), size - start, start) == os.pread(dst.fileno(), size - start, start)

    def discard(self) -> None:
        shutil.rmtree(self.future, ignore_errors=True)

    # -- copying ----------------------------------------------------------------------------

    def _copy_whole(self, name: str, paced: bool = True) -> None:
        base = _segment_base(name) if name.endswith(LOG_SUFFIX) else None
        with open(self.source / name, "rb") as src, open(self.future / name, "wb") as dst:
            st = os.fstat(src.fileno())
            # Up to the size seen now; bytes appended later are the catch-up's.
            try:
                copied = self._send(src.fileno(), dst.fileno(), 0, st.st_size, paced, segment_base=base)
            finally:
                self._log_in_copy = None
            self._files[name] = _Copied(st.st_ino, copied, st.st_mtime_ns)
        os.utime(self.future / name, ns=(st.st_atime_ns, st.st_mtime_ns))  # time-based rolling reads it

    def _copy_tail(self, name: str, start: int) -> None:
        with open(self.source / name, "rb") as src, open(self.future / name, "r+b") as dst:
            st = os.fstat(src.fileno())
            os.ftruncate(dst.fileno(), start)
            dst.seek(start)
            copied = self._send(src.fileno(), dst.fileno(), start, st.st_size - start, paced=False)
            self._files[name] = _Copied(st.st_ino, start + copied, st.st_mtime_ns)
        os.utime(self.future / name, ns=(st.st_atime_ns, st.st_mtime_ns))

    def _send(self, src_fd: int, dst_fd: int, offset: int, count: int, paced: bool = True,
              segment_base: int | None = None) -> int:
        """sendfile from `offset` for `count` bytes (less if the file is shorter now), in chunks
        between which a cancel is noticed and the pace kept. Works across file systems, unlike
        copy_file_range."""
        done = 0
        while done < count:
            if self._cancelled.is_set():
                raise MoveCancelled(f"the move of {self.source} to {self.to_dir} was cancelled")
            n = os.sendfile(dst_fd, src_fd, offset + done, min(_CHUNK, count - done))
            if n == 0:
                break
            done += n
            self.copied_bytes += n
            if segment_base is not None:
                self._log_in_copy = (segment_base, offset + done)
            if paced and self.pace is not None:
                delay = self.pace.delay_after(n)
                if delay > 0 and self._cancelled.wait(delay):
                    raise MoveCancelled(f"the move of {self.source} to {self.to_dir} was cancelled")
        return done
