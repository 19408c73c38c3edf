"""Refreshes a snapshot in the background: fixed interval while the cluster answers, exponential
backoff while it doesn't, and prompt cancellation. No Qt here: the Qt bridge runs `run` on its
worker thread and turns the callbacks into queued signals."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollFailure:
    reason: str
    failures: int  # consecutive
    retry_in: float
    since: float  # wall-clock time of the first failure in this run of failures


class Poller:
    def __init__(
        self,
        fetch: Callable[[], object],
        *,
        interval: float = 5.0,
        first_retry: float = 1.0,
        max_backoff: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fetch = fetch
        self.interval = interval
        self.first_retry = first_retry
        self.max_backoff = max_backoff
        self.clock = clock
        self.failures = 0
        self._failing_since: float | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()

    def delay_after(self, failures: int) -> float:
        """Seconds to wait before the next refresh, given the consecutive failures so far."""
        if failures <= 0:
            return self.interval
        return min(self.max_backoff, self.first_retry * 2 ** (failures - 1))

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def refresh_now(self) -> None:
        self._wake.set()

    def poll_once(self, on_result: Callable[[object], None], on_failure: Callable[[PollFailure], None]) -> float:
        """One refresh; returns the delay before the next one."""
        try:
            result = self.fetch()
        except Exception as e:  # the poller survives anything a refresh throws
            self.failures += 1
            if self._failing_since is None:
                self._failing_since = self.clock()
            delay = self.delay_after(self.failures)
            log.info("refresh failed (%d in a row): %s", self.failures, e)
            if not self._stop.is_set():
                on_failure(PollFailure(str(e) or type(e).__name__, self.failures, delay, self._failing_since))
            return delay
        self.failures = 0
        self._failing_since = None
        if not self._stop.is_set():
            on_result(result)
        return self.interval

    def run(self, on_result: Callable[[object], None], on_failure: Callable[[PollFailure], None]) -> None:
        """Refresh until `stop()`. Blocks; run it on a worker thread."""
        while not self._stop.is_set():
            self._wake.clear()
            delay = self.poll_once(on_result, on_failure)
            self._wake.wait(delay)
