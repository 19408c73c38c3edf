"""The broker's log cleaner: compacts its compacted partition logs, one at a time (Kafka's LogCleaner).

Each round plans a clean of every hosted log whose cleanup.policy contains compact
(engine/log/cleaner.py decides whether it needs one), picks the dirtiest, cleans it in a
worker thread and swaps the result in on the event loop. A round that cleaned nothing
waits log.cleaner.backoff.ms — or less, when that setting changes (Kafka restarts its
cleaner threads on that reconfiguration). log.cleaner.enable=false turns it off.

log.cleaner.io.max.bytes.per.second (dynamic) paces the bytes the cleaner reads; Kafka's
throttle also counts those it writes, which are at most as many.

Kafka marks a partition uncleanable after an unexpected error and skips it until restart;
so does this task. Deviation: one cleaner (log.cleaner.threads is accepted, not used).
"""

from __future__ import annotations

import asyncio
import logging

from partita.engine.broker.partition import now_ms
from partita.engine.log import cleaner
from partita.engine.log.cleaner import CleanAborted, CleanJob
from partita.engine.log.pacing import SharedByteRate

log = logging.getLogger(__name__)
_NO_LIMIT = "1.7976931348623157E308"


class LogCleanerTask:
    def __init__(self, broker):
        self.broker = broker
        self.uncleanable: set[tuple[str, int]] = set()
        self._job: CleanJob | None = None
        self.rounds_cleaned = 0
        self._pace = SharedByteRate(self._io_limit)

    def _io_limit(self) -> int:
        """log.cleaner.io.max.bytes.per.second (a double; Kafka's default, Double.MAX_VALUE, is no
        limit), read by the cleaning thread at every chunk."""
        limit = float(self.broker.setting("log.cleaner.io.max.bytes.per.second", _NO_LIMIT))
        return 0 if limit >= 2**62 else max(1, int(limit))

    def _backoff_ms(self) -> int:
        return int(self.broker.setting("log.cleaner.backoff.ms", "15000"))

    async def run(self) -> None:
        while True:
            cleaned = False
            if self.broker.setting("log.cleaner.enable", "true").lower() == "true":
                try:
                    cleaned = await self.clean_dirtiest()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("log cleaner round failed")
            if not cleaned:
                await self._back_off()

    async def _back_off(self) -> None:
        backoff = self._backoff_ms()
        await self.broker.wait_for_metadata(lambda _image: self._backoff_ms() != backoff, backoff / 1000)

    async def clean_dirtiest(self) -> bool:
        """Clean the dirtiest log that needs it; True if a cleaned result was swapped in."""
        dedupe = int(self.broker.setting("log.cleaner.dedupe.buffer.size", str(cleaner.DEFAULT_DEDUPE_BUFFER_BYTES)))
        now = now_ms()
        best = None
        for key, plog in self.broker.logs.all().items():
            if key in self.uncleanable or not plog.config.compact_enabled:
                continue
            partition = self.broker.replicas.get(*key)
            if partition is None:
                continue
            job = cleaner.plan(plog, partition.high_watermark, now, dedupe)
            if job is not None and (best is None or job.cleanable_ratio > best[2].cleanable_ratio):
                best = (key, plog, job)
        if best is None:
            return False
        key, plog, job = best
        job.pace = self._pace
        self._job = job
        try:
            result = await asyncio.to_thread(cleaner.clean, job)
        except (CleanAborted, FileNotFoundError) as exc:
            log.info("cleaning of %s-%d abandoned: %s", *key, exc)
            return False
        except Exception:
            log.exception("cleaning of %s-%d failed; it is uncleanable until the broker restarts", *key)
            self.uncleanable.add(key)
            return False
        finally:
            self._job = None
        if self.broker.logs.get(*key) is not plog:  # deleted or moved to another log dir meanwhile
            plog.swap_cleaned(result)  # closed: discards the result
            return False
        if not plog.swap_cleaned(result):
            log.info("cleaning of %s-%d abandoned: the log changed meanwhile", *key)
            return False
        self.rounds_cleaned += 1
        log.info(
            "cleaned %s-%d up to offset %d: %d bytes read, %d written, %d segment(s) now",
            *key, result.end_offset, result.bytes_read, result.bytes_written, len(plog.segments),
        )
        return True

    def stop(self) -> None:
        """Make a clean in progress give up at its next batch (the worker thread cannot be cancelled)."""
        job = self._job
        if job is not None:
            job.stop.set()
