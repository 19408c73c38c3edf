"""Byte-rate pacing shared by worker threads: the broker's log-dir moves
(`replica.alter.log.dirs.io.max.bytes.per.second`) and its log cleaner
(`log.cleaner.io.max.bytes.per.second`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["SharedByteRate"]


class SharedByteRate:
    """Paces the bytes of several threads together to at most `rate()` bytes/s (read at every
    chunk, so a changed limit applies at once; <= 0 means unlimited). Each chunk takes its
    length / rate on one shared timeline, and its copier waits until its turn on it is over."""

    def __init__(self, rate: Callable[[], int], clock: Callable[[], float] = time.monotonic):
        self._rate = rate
        self._clock = clock
        self._lock = threading.Lock()
        self._busy_until = 0.0

    def delay_after(self, nbytes: int) -> float:
        """Seconds to wait after copying `nbytes`."""
        rate = self._rate()
        if rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._busy_until = max(self._busy_until, now) + nbytes / rate
            return max(0.0, self._busy_until - now)
