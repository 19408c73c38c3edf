"""The GUI process's handle on its builder process: start it, run one refresh through it, stop it.

`refresh()` blocks, so the bridge calls it on its worker thread. It only reads the socket (which
releases the GIL) and returns the refresh's frames still pickled: the GUI thread unpickles them
itself, a few milliseconds per event-loop turn (partita.gui.qt.stepwise). No other thread of
the GUI process holds the GIL for long, so none can keep the GUI thread waiting for it (a
thread the OS preempts while it holds the GIL would, for as long as it waits for a core).

A builder that dies is reported as a failed refresh (the poller backs off and shows the banner)
and the next refresh starts a new one.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

from partita.engine.cluster.processes import module_command

from . import slices, view_builder

log = logging.getLogger(__name__)

# between frames, the wait for the socket wakes this often to see whether the refresh was cancelled
CANCEL_CHECK_S = 0.1


class _Child:
    """A started builder process and our end of its socket pair.

    Started with subprocess, not multiprocessing: a "spawn" Process brings multiprocessing's
    resource tracker along (another Python process, ~13 MB, for semaphores the builder never
    uses). The builder's end of the socket is its only link to us: when we close ours or die, it
    reads EOF and exits, so no builder outlives its console."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        levels = {name: logging.getLogger(name).getEffectiveLevel() for name in ("", "kafka")}
        # the builder imports what we can import (a factory may live in a test or bench module)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if isinstance(p, str) and p))
        try:
            self.popen = subprocess.Popen(
                [*module_command("partita.gui.services.view_builder"), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        try:
            self.conn.send(levels)
        except OSError:
            pass  # it died at once: the first refresh reports it (BuilderDied) and starts another

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None


_spare: _Child | None = None
_spare_lock = threading.Lock()


def prestart() -> None:
    """Start one builder process now, for the first connection to take: its Python start and
    imports (a few hundred milliseconds) then overlap the window's own start instead of adding
    to the time before the first view."""
    global _spare
    with _spare_lock:
        if _spare is None:
            _spare = _Child()


def _take_spare() -> _Child | None:
    global _spare
    with _spare_lock:
        child, _spare = _spare, None
    if child is not None and not child.alive:
        _reap(child, 0)
        return None
    return child


@atexit.register
def _discard_spare() -> None:
    child = _take_spare()
    if child is not None:
        _reap(child, 1.0)


def _reap(child: _Child, grace: float) -> int | None:
    """Close our end (the builder exits at EOF), wait `grace` seconds, then SIGTERM, then
    SIGKILL; return its exit code (negative: the signal that ended it)."""
    child.conn.close()
    popen = child.popen
    for ending in (None, popen.terminate, popen.kill):
        if ending is not None:
            if popen.poll() is not None:
                break
            ending()
        try:
            popen.wait(grace if ending is None else 1.0)
            break
        except subprocess.TimeoutExpired:
            continue
    if popen.returncode is None:
        popen.wait()
    return popen.returncode


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
        self._child: _Child | None = None
        self._conn: Connection | None = None

    @property
    def pid(self) -> int | None:
        c = self._child
        return c.popen.pid if c is not None else None

    def _start(self) -> None:
        factory = pickle.dumps(self.client_factory)  # a factory that cannot be pickled starts nothing
        child = _take_spare() or _Child()
        try:
            child.conn.send_bytes(factory)
        except OSError:
            pass  # it died already: the refresh's send reports it
        self._child, self._conn = child, child.conn
        self.started += 1

    def refresh(self, sort_specs: dict, cancelled: Callable[[], bool] = lambda: False) -> Received:
        """One refresh: the frames of the ViewData the builder made. Raises RefreshFailed (with
        the builder's reason), BuilderDied or RefreshCancelled."""
        if self._child is None:
            self._start()
        try:
            return self._exchange(sort_specs, cancelled)
        except RefreshFailed:  # at the end of an answer (or the builder is gone): the socket is clean
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
        child, self._child, self._conn = self._child, None, None
        code = _reap(child, self.stop_grace) if child is not None else None
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        log.warning("builder process ended (%s)", how)
        return BuilderDied(f"the console's builder process ended ({how}); a new one starts with the next refresh")

    def stop(self) -> None:
        """End the builder process and wait for it: first by closing the socket (it closes its
        client and exits), then, after `stop_grace` seconds (a refresh stuck on an unreachable
        cluster), SIGTERM, then SIGKILL."""
        child, self._child, self._conn = self._child, None, None
        if child is not None:
            _reap(child, self.stop_grace)
