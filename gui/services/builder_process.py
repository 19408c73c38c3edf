"""The GUI process's handle on its builder process: start it, run one refresh through it, stop it.

`refresh()` blocks, so the bridge calls it on its worker thread. It only reads the pipe (which
releases the GIL) and returns the refresh's frames still pickled: the GUI thread unpickles them
itself, a few milliseconds per event-loop turn (partita.gui.qt.stepwise). No other thread of
the GUI process holds the GIL for long, so none can keep the GUI thread waiting for it (a
thread the OS preempts while it holds the GIL would, for as long as it waits for a core).

A builder that dies is reported as a failed refresh (the poller backs off and shows the banner)
and the next refresh starts a new one.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import slices, view_builder

log = logging.getLogger(__name__)

# between frames, the wait for the pipe wakes this often to see whether the refresh was cancelled
CANCEL_CHECK_S = 0.1
_CONTEXT = multiprocessing.get_context("spawn")


class RefreshFailed(Exception):
    """The builder could not read the cluster; the message is its reason."""


class BuilderDied(RefreshFailed):
    """The builder process ended in the middle of a refresh."""


class RefreshCancelled(Exception):
    """`cancelled()` became true while waiting for the builder."""


@dataclass(frozen=True)
class Received:
    """One refresh's frames as the builder sent them (see slices.py), not unpickled yet."""

    frames: list[bytes]
    requested_at: float  # time.perf_counter() when the refresh was asked for
    first_frame_at: float  # … when its first frame arrived (the builder had finished building)
    received_at: float  # … when the last one had

    @property
    def size(self) -> int:
        return sum(map(len, self.frames))


class BuilderProcess:
    def __init__(self, client_factory: Callable[[], object], *, stop_grace: float = 1.0) -> None:
        self.client_factory = client_factory
        self.stop_grace = stop_grace
        self.started = 0  # builder processes started so far
        self._process = None
        self._conn = None

    @property
    def pid(self) -> int | None:
        p = self._process
        return p.pid if p is not None else None

    def _start(self) -> None:
        here, there = _CONTEXT.Pipe(duplex=True)
        levels = {"": logging.getLogger().getEffectiveLevel(), "kafka": logging.getLogger("kafka").getEffectiveLevel()}
        process = _CONTEXT.Process(
            target=view_builder.serve,
            args=(there, self.client_factory, levels),
            name="partita-builder",
            daemon=True,  # multiprocessing terminates it at a normal exit of the GUI process
        )
        process.start()
        # only the builder holds its end now: when it exits, our next read is an EOF, not a hang
        there.close()
        self._process, self._conn = process, here
        self.started += 1

    def refresh(self, sort_specs: dict, cancelled: Callable[[], bool] = lambda: False) -> Received:
        """One refresh: the frames of the ViewData the builder made. Raises RefreshFailed (with
        the builder's reason), BuilderDied or RefreshCancelled."""
        if self._process is None:
            self._start()
        try:
            return self._exchange(sort_specs, cancelled)
        except RefreshFailed:  # at the end of an answer (or the builder is gone): the pipe is clean
            raise
        except BaseException:  # in the middle of an answer: a new builder for the next refresh
            self.stop()
            raise

    def _exchange(self, sort_specs: dict, cancelled: Callable[[], bool]) -> Received:
        conn = self._conn
        requested_at = time.perf_counter()
        try:
            conn.send((view_builder.REFRESH, dict(sort_specs)))
        except OSError:
            raise self._died() from None
        frames: list[bytes] = []
        first_at = 0.0
        while True:
            while not conn.poll(CANCEL_CHECK_S):
                if cancelled():
                    raise RefreshCancelled()
            try:
                frame = conn.recv_bytes()
            except (EOFError, OSError):
                raise self._died() from None
            tag = frame[:1]
            if tag == view_builder.FAILED:
                raise RefreshFailed(frame[1:].decode(errors="replace"))
            if not frames:
                first_at = time.perf_counter()
            frames.append(frame)
            if tag == slices.GRAPH:  # the last frame of a refresh
                return Received(frames, requested_at, first_at, time.perf_counter())

    def _died(self) -> BuilderDied:
        process, self._process = self._process, None
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        code = None
        if process is not None:
            process.join(self.stop_grace)
            code = process.exitcode
            if code is None:  # the pipe broke but the process lives on: don't leave it behind
                _end(process)
                code = process.exitcode
            process.close()
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        log.warning("builder process ended (%s)", how)
        return BuilderDied(f"the console's builder process ended ({how}); a new one starts with the next refresh")

    def stop(self) -> None:
        """End the builder process and wait for it: first by closing the pipe (it closes its
        client and exits), then, after `stop_grace` seconds (a refresh stuck on an unreachable
        cluster), SIGTERM, then SIGKILL."""
        process, self._process = self._process, None
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        if process is None:
            return
        process.join(self.stop_grace)
        _end(process)
        process.close()


def _end(process) -> None:
    if process.exitcode is None:
        process.terminate()
        process.join(1.0)
    if process.exitcode is None:
        process.kill()
        process.join()
