"""The leader epoch cache of one partition: for each leader epoch, its first offset.

Followers ask the leader where an epoch ends (OffsetForLeaderEpoch) and truncate there
before fetching, which is what keeps replicas identical across leader changes (KIP-101,
KIP-279). Persisted in `leader-epoch-checkpoint` in Kafka's text format:
    0                 <- version
    2                 <- number of entries
    0 0               <- "epoch startOffset", oldest first
    3 1200
Rewritten atomically (temp file, rename) whenever it changes, which happens once per
leader epoch or truncation, never per append; `sync()` makes it durable and the log calls
it where it fsyncs its data (roll, flush, close), so creating thousands of partitions
costs no fsync each. A checkpoint lost to a power failure is harmless: recovery re-reads
the epochs of the batches it recovers, and a damaged file is rebuilt from the batch
headers. The rules follow Kafka's LeaderEpochFileCache: `assign`, `end_offset_for`,
`truncate_from_end/start`.
"""

from __future__ import annotations

import logging
import os
from bisect import bisect_left, bisect_right
from pathlib import Path

__all__ = ["LeaderEpochCache", "CHECKPOINT_FILE", "UNDEFINED_EPOCH", "UNDEFINED_EPOCH_OFFSET"]

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "leader-epoch-checkpoint"
UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1


class LeaderEpochCache:
    def __init__(self, directory: Path):
        self.path = directory / CHECKPOINT_FILE
        self._epochs: list[int] = []
        self._starts: list[int] = []
        self.loaded_ok = True
        self._unsynced = False
        self._load()

    # -- file -----------------------------------------------------------------------------

    def _load(self) -> None:
        try:
            lines = self.path.read_text().split("\n")
        except FileNotFoundError:
            return
        try:
            if int(lines[0]) != 0:
                raise ValueError(f"unknown version {lines[0]!r}")
            count = int(lines[1])
            entries = []
            for line in lines[2 : 2 + count]:
                epoch, start = line.split()
                entries.append((int(epoch), int(start)))
            if len(entries) != count:
                raise ValueError(f"{count} entries announced, {len(entries)} found")
        except (ValueError, IndexError) as exc:
            log.warning("ignoring malformed %s: %s", self.path, exc)
            self.loaded_ok = False
            return
        for epoch, start in entries:
            self._put(epoch, start)

    def _write(self) -> None:
        lines = ["0", str(len(self._epochs))] + [
            f"{e} {s}" for e, s in zip(self._epochs, self._starts, strict=True)
        ]
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, self.path)
        self._unsynced = True

    def sync(self) -> None:
        """fsync the checkpoint if it changed since the last sync."""
        if not self._unsynced:
            return
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            self._unsynced = False
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._unsynced = False

    # -- queries --------------------------------------------------------------------------

    def entries(self) -> list[tuple[int, int]]:
        return list(zip(self._epochs, self._starts, strict=True))

    @property
    def latest_epoch(self) -> int:
        return self._epochs[-1] if self._epochs else UNDEFINED_EPOCH

    def start_offset_of(self, epoch: int) -> int | None:
        i = bisect_left(self._epochs, epoch)
        if i < len(self._epochs) and self._epochs[i] == epoch:
            return self._starts[i]
        return None

    def epoch_for_offset(self, offset: int) -> int:
        """The epoch in which `offset` was written (UNDEFINED_EPOCH before the first entry)."""
        i = bisect_right(self._starts, offset) - 1
        return self._epochs[i] if i >= 0 else UNDEFINED_EPOCH

    def end_offset_for(self, requested_epoch: int, log_end_offset: int) -> tuple[int, int]:
        """(epoch, end offset) as OffsetForLeaderEpoch answers for `requested_epoch`:
        the latest epoch ends at the log end offset; an older one at the start of the next
        known epoch, reported with the largest known epoch <= the requested one; an epoch
        below every entry ends where the first entry starts; an unknown newer epoch (or -1)
        gives (-1, -1)."""
        if requested_epoch == UNDEFINED_EPOCH or not self._epochs:
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if requested_epoch == self._epochs[-1]:
            return requested_epoch, log_end_offset
        higher = bisect_right(self._epochs, requested_epoch)
        if higher == len(self._epochs):
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if higher == 0:
            return requested_epoch, self._starts[0]
        return self._epochs[higher - 1], self._starts[higher]

    # -- changes --------------------------------------------------------------------------

    def assign(self, epoch: int, start_offset: int) -> bool:
        """Record that `epoch` starts at `start_offset`; True if the cache changed.

        No change when it is the latest epoch at an equal or later offset. Otherwise entries
        that the new one contradicts (an epoch >= it, or a start offset >= its start) go.
        """
        if epoch < 0 or start_offset < 0:
            raise ValueError(f"invalid epoch entry ({epoch}, {start_offset})")
        if self._epochs and epoch == self._epochs[-1] and start_offset >= self._starts[-1]:
            return False
        while self._epochs and (self._epochs[-1] >= epoch or self._starts[-1] >= start_offset):
            self._epochs.pop()
            self._starts.pop()
        self._put(epoch, start_offset)
        self._write()
        return True

    def _put(self, epoch: int, start: int) -> None:
        self._epochs.append(epoch)
        self._starts.append(start)

    def truncate_from_end(self, end_offset: int) -> None:
        """Forget epochs starting at or after `end_offset` (the log was truncated there)."""
        n = len(self._starts)
        while n and self._starts[n - 1] >= end_offset:
            n -= 1
        if n < len(self._starts):
            del self._epochs[n:]
            del self._starts[n:]
            self._write()

    def truncate_from_start(self, start_offset: int) -> None:
        """The log now starts at `start_offset`: drop older epochs, the one covering it
        now starts there."""
        i = bisect_right(self._starts, start_offset)
        if i == 0:
            return
        epoch = self._epochs[i - 1]
        if i == 1 and self._starts[0] == start_offset:
            return
        del self._epochs[:i]
        del self._starts[:i]
        self._epochs.insert(0, epoch)
        self._starts.insert(0, start_offset)
        self._write()

    def clear(self) -> None:
        if self._epochs or self.path.exists():
            self._epochs.clear()
            self._starts.clear()
            self._write()
