"""All partition logs of one broker, spread over its log directories.

Each log dir holds one `<topic>-<partition>` directory per hosted replica (topic names may
contain dashes and dots, so the partition is what follows the last dash). On start every
such directory is opened (recovered if needed); a directory being deleted
(`<name>.<id>-delete`) or moved in (`<name>.<id>-future`) that a crash left behind is
finished off or discarded, and a move a crash cut between its two renames is completed.
Moves between log dirs run in steps (log_move.py) so the broker can copy in the background.
New partitions go to the log dir with the fewest partitions,
as Kafka places them. A `.lock` file per log dir (flock) keeps two brokers off one dir.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import uuid
from pathlib import Path

from .config import LogConfig
from .errors import KafkaStorageError
from .log_move import FUTURE_SUFFIX, MOVED_FROM_FILE, LogMove, MoveCancelled
from .pacing import SharedByteRate
from .partition_log import PartitionLog

__all__ = ["LogManager", "parse_partition_dir"]

log = logging.getLogger(__name__)

_DELETE_SUFFIX = "-delete"
_FUTURE_SUFFIX = FUTURE_SUFFIX
_LOCK_FILE = ".lock"


def parse_partition_dir(name: str) -> tuple[str, int] | None:
    """("my.topic-name", 3) for "my.topic-name-3"; None for anything else."""
    topic, dash, partition = name.rpartition("-")
    if not dash or not topic or not partition.isdigit() or name.endswith((_DELETE_SUFFIX, _FUTURE_SUFFIX)):
        return None
    return topic, int(partition)


class LogManager:
    def __init__(self, log_dirs: list[Path], default_config: LogConfig | None = None):
        if not log_dirs:
            raise ValueError("at least one log dir is needed")
        self.log_dirs = [Path(d) for d in log_dirs]
        self.default_config = default_config or LogConfig()
        self._logs: dict[tuple[str, int], PartitionLog] = {}
        self._counts: dict[Path, int] = {d: 0 for d in self.log_dirs}  # partitions per log dir
        self._locks: list[int] = []
        for d in self.log_dirs:
            d.mkdir(parents=True, exist_ok=True)
            self._lock(d)
        for d in self.log_dirs:
            self._discover(d)

    def _lock(self, d: Path) -> None:
        fd = os.open(d / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            self._unlock()
            raise KafkaStorageError(f"log dir {d} is in use by another process") from exc
        self._locks.append(fd)

    def _unlock(self) -> None:
        for fd in self._locks:
            os.close(fd)  # closing releases the flock
        self._locks.clear()

    def _discover(self, d: Path) -> None:
        for child in sorted(d.iterdir()):
            if not child.is_dir():
                continue
            name = child.name
            if name.endswith(_DELETE_SUFFIX):
                shutil.rmtree(child, ignore_errors=True)  # a deletion a crash interrupted
                continue
            if name.endswith(_FUTURE_SUFFIX):
                log.warning("discarding %s: an interrupted move between log dirs", child)
                shutil.rmtree(child, ignore_errors=True)
                continue
            key = parse_partition_dir(name)
            if key is None:
                continue
            if key in self._logs and self._finish_interrupted_move(key, child):
                continue
            if key in self._logs:
                first = self._logs[key].directory
                self.close()
                raise KafkaStorageError(f"{key[0]}-{key[1]} is in two log dirs: {first} and {child}")
            if (child / MOVED_FROM_FILE).exists():
                self._retire_moved_from(child)
            self._add(key, PartitionLog.open(child, self.default_config))

    def _finish_interrupted_move(self, key: tuple[str, int], child: Path) -> bool:
        """A crash came between a move's two renames: the partition is in two dirs and the
        copy names the original. Keep the copy; True if that settled it."""
        first = self._logs[key].directory
        if (child / MOVED_FROM_FILE).exists() and self._retire_moved_from(child) == first:
            self._remove(key).release()
            self._add(key, PartitionLog.open(child, self.default_config))
            return True
        return False  # (a copy found first retired its original before that one was reached)

    def _retire_moved_from(self, moved: Path) -> Path | None:
        """Delete the old directory a completed move's note names (if still there) and the note."""
        note = moved / MOVED_FROM_FILE
        try:
            source = Path(note.read_text().strip())
        except OSError:
            return None
        if source.name == moved.name and source != moved and source.parent in self.log_dirs:
            log.warning("finishing the move of %s to %s that a crash interrupted", source, moved.parent)
            shutil.rmtree(source, ignore_errors=True)
        note.unlink(missing_ok=True)
        return source

    def _add(self, key: tuple[str, int], plog: PartitionLog) -> PartitionLog:
        self._logs[key] = plog
        parent = plog.directory.parent
        self._counts[parent] = self._counts.get(parent, 0) + 1
        return plog

    def _remove(self, key: tuple[str, int]) -> PartitionLog | None:
        plog = self._logs.pop(key, None)
        if plog is not None:
            self._counts[plog.directory.parent] -= 1
        return plog

    # -- lookup -------------------------------------------------------------------------

    def get(self, topic: str, partition: int) -> PartitionLog | None:
        return self._logs.get((topic, partition))

    def all(self) -> dict[tuple[str, int], PartitionLog]:
        return dict(self._logs)

    def dir_of(self, topic: str, partition: int) -> Path | None:
        """The log dir (not the partition dir) holding the partition."""
        plog = self._logs.get((topic, partition))
        return plog.directory.parent if plog is not None else None

    def sizes_by_dir(self) -> dict[Path, dict[tuple[str, int], int]]:
        """DescribeLogDirs: for every log dir, the size of each partition in it."""
        out: dict[Path, dict[tuple[str, int], int]] = {d: {} for d in self.log_dirs}
        for key, plog in self._logs.items():
            out.setdefault(plog.directory.parent, {})[key] = plog.size_bytes
        return out

    # -- changes ------------------------------------------------------------------------

    def create(
        self, topic: str, partition: int, config: LogConfig | None = None, log_dir: Path | None = None
    ) -> PartitionLog:
        """The partition's log, created in `log_dir` (default: the dir with the fewest
        partitions). An existing log is returned as it is, with `config` applied."""
        key = (topic, partition)
        existing = self._logs.get(key)
        if existing is not None:
            if config is not None:
                existing.config = config
            return existing
        if not topic or "/" in topic or topic in (".", ".."):
            raise ValueError(f"invalid topic name {topic!r}")
        target = Path(log_dir) if log_dir is not None else self._least_loaded_dir()
        if target not in self.log_dirs:
            raise ValueError(f"{target} is not one of this broker's log dirs")
        return self._add(
            key, PartitionLog.open(target / f"{topic}-{partition}", config or self.default_config)
        )

    def _least_loaded_dir(self) -> Path:
        return min(self.log_dirs, key=lambda d: self._counts[d])

    def delete(self, topic: str, partition: int) -> bool:
        """Remove the partition's log and its files; False if there was none.

        The directory is first renamed to `<name>.<id>-delete` (as Kafka does), so a crash
        during the removal cannot bring the partition back on the next start.
        """
        plog = self._remove((topic, partition))
        if plog is None:
            return False
        plog.release()
        src = plog.directory
        doomed = src.with_name(f"{src.name}.{uuid.uuid4().hex}{_DELETE_SUFFIX}")
        try:
            os.rename(src, doomed)
        except OSError:
            doomed = src
        shutil.rmtree(doomed, ignore_errors=True)
        return True

    def begin_move(self, topic: str, partition: int, to_dir: Path, pace: SharedByteRate | None = None) -> LogMove | None:
        """A move of the partition to `to_dir` (see log_move.py), its bulk copy paced by `pace`;
        None if it is there already. The caller runs copy_bulk (in a thread) and complete_move."""
        plog = self._logs.get((topic, partition))
        if plog is None:
            raise KeyError(f"no log for {topic}-{partition}")
        to_dir = Path(to_dir)
        if to_dir not in self.log_dirs:
            raise ValueError(f"{to_dir} is not one of this broker's log dirs")
        if plog.directory.parent == to_dir:
            return None
        return LogMove(plog, to_dir, pace)

    def complete_move(self, move: LogMove) -> tuple[PartitionLog, Path]:
        """Close the log, catch the copy up and open the log in its new dir. Returns the new log
        and the old directory, renamed `<name>.<id>-delete` for the caller to remove (a crash
        before that is finished off at the next start). On failure the log stays where it was."""
        key = parse_partition_dir(move.source.name)
        plog = self._logs.get(key) if key else None
        if plog is not move.plog or plog.closed:
            move.discard()
            raise KafkaStorageError(f"{move.source} changed during the move to {move.to_dir}")
        config = plog.config
        plog.close()
        self._remove(key)
        try:
            target = move.finish()
        except (OSError, MoveCancelled) as exc:
            move.discard()
            self._add(key, PartitionLog.open(move.source, config))
            if isinstance(exc, MoveCancelled):
                raise
            raise KafkaStorageError(f"moving {move.source} to {move.to_dir} failed: {exc}") from exc
        retired = move.source.with_name(f"{move.source.name}.{uuid.uuid4().hex}{_DELETE_SUFFIX}")
        os.rename(move.source, retired)
        (target / MOVED_FROM_FILE).unlink(missing_ok=True)
        return self._add(key, PartitionLog.open(target, config)), retired

    def apply_retention(self, now_ms: int, high_watermarks: dict[tuple[str, int], int] | None = None) -> int:
        """Retention over every log; returns the bytes deleted. A failing log is logged and skipped."""
        deleted = 0
        for key, plog in list(self._logs.items()):
            try:
                hw = high_watermarks.get(key) if high_watermarks else None
                deleted += plog.apply_retention(now_ms, hw)
            except Exception:
                log.exception("retention of %s-%d failed", *key)
        return deleted

    def remove_expired_producers(self, now_ms: int, expiration_ms: int) -> int:
        """Forget idle producers in every log (Kafka's PeriodicProducerExpirationCheck); returns how many."""
        return sum(plog.remove_expired_producers(now_ms, expiration_ms) for plog in list(self._logs.values()))

    def flush(self) -> None:
        for plog in self._logs.values():
            plog.flush()

    def close(self) -> None:
        """Close every log cleanly (the next start skips recovery) and release the dirs."""
        for key, plog in self._logs.items():
            try:
                plog.close()
            except Exception:
                log.exception("closing %s-%d failed", *key)
        self._logs.clear()
        self._counts = {d: 0 for d in self.log_dirs}
        self._unlock()
