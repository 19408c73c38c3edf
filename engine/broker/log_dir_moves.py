"""Replica moves between this broker's log dirs (AlterReplicaLogDirs), in the background.

The one owner of the moves in flight. As in Kafka, AlterReplicaLogDirs answers once the
move has started; the partition keeps serving while its files are copied in a worker
thread, and only the catch-up and the swap run on the event loop (log_move.py). Until the
swap, DescribeLogDirs lists the copy in the target dir as a future replica with its lag.
Asking to move a replica to the dir it is in cancels a move in flight, and asking for
another dir replaces it (Kafka does both); deleting the replica or stopping the broker
cancels it too. `replica.alter.log.dirs.io.max.bytes.per.second` (a dynamic broker config,
what `kafka-reassign-partitions --replica-alter-log-dirs-throttle` sets) limits the copying of
all moves on this broker together.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from partita.engine.log.errors import LogError
from partita.engine.log.log_move import LogMove, MoveCancelled
from partita.engine.log.pacing import SharedByteRate
from partita.engine.protocol.errors import ErrorCode

log = logging.getLogger(__name__)
_IO_LIMIT = "replica.alter.log.dirs.io.max.bytes.per.second"


@dataclass(frozen=True)
class FutureReplica:
    """A copy in progress, as DescribeLogDirs reports it."""

    topic: str
    index: int
    log_dir: Path
    size: int
    offset_lag: int


class LogDirMoves:
    def __init__(self, broker):
        self.broker = broker
        self._moves: dict[tuple[str, int], tuple[LogMove, asyncio.Task]] = {}
        self._pace = SharedByteRate(self._io_limit)

    def _io_limit(self) -> int:
        """replica.alter.log.dirs.io.max.bytes.per.second, as Broker.setting resolves it (read by
        the copying threads at every chunk)."""
        return int(self.broker.setting(_IO_LIMIT, "0") or 0)

    def start(self, partition, target: Path) -> ErrorCode:
        key = (partition.topic, partition.index)
        current = self._moves.get(key)
        if current is not None:
            if current[0].to_dir == target:
                return ErrorCode.none
            self.cancel(key)
        try:
            move = self.broker.logs.begin_move(partition.topic, partition.index, target, self._pace)
        except (KeyError, ValueError):
            return ErrorCode.log_dir_not_found
        if move is None:  # already there: nothing to do (a move in flight was cancelled above)
            return ErrorCode.none
        task = asyncio.get_running_loop().create_task(self._run(key, partition, move))
        self._moves[key] = (move, task)
        log.info("moving %s-%d from %s to %s", *key, move.source.parent, target)
        return ErrorCode.none

    async def _run(self, key: tuple[str, int], partition, move: LogMove) -> None:
        try:
            await asyncio.to_thread(move.copy_bulk)
            # The bulk copy took a while: the replica may have been removed or recreated since.
            if move.cancelled or self.broker.replicas.get(*key) is not partition or partition.log is not move.plog:
                move.discard()
                return
            new_log, retired = self.broker.logs.complete_move(move)
            partition.log = new_log
            log.info("moved %s-%d to %s", *key, move.to_dir)
            await asyncio.to_thread(shutil.rmtree, retired, True)
        except MoveCancelled:
            log.info("the move of %s-%d to %s was cancelled", *key, move.to_dir)
        except (LogError, OSError) as exc:
            log.warning("moving %s-%d to %s failed: %s", *key, move.to_dir, exc)
            move.discard()
        finally:
            if self._moves.get(key, (None,))[0] is move:
                del self._moves[key]

    def cancel(self, key: tuple[str, int]) -> None:
        entry = self._moves.pop(key, None)
        if entry is not None:
            entry[0].cancel()  # the worker thread notices within one chunk and removes the copy

    def cancel_all(self) -> None:
        for key in list(self._moves):
            self.cancel(key)

    def in_flight(self) -> list[FutureReplica]:
        out = []
        for (topic, index), (move, _task) in self._moves.items():
            lag = max(0, move.plog.log_end_offset - move.offset_copied()) if not move.plog.closed else 0
            out.append(FutureReplica(topic, index, move.to_dir, move.copied_bytes, lag))
        return out
