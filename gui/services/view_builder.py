"""The builder process: reads the cluster and builds every table, away from the GUI process.

Snapshot assembly and table building are about a second of pure Python per refresh at 50,000
partitions. On a thread of the GUI process that second holds the GIL in long stretches and
stalls the GUI thread; in a process of its own it cannot. The GUI process asks for one refresh
at a time (`REFRESH` with the views' sort specs) and gets the ViewData back in slices (see
slices.py), or a `FAILED` frame with the reason.

No Qt here; the process is a fresh Python (builder_process._Child), not a fork: the GUI process
has Qt and threads, which a forked child would inherit half-alive. `main` is its entry point.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection

from partita.gui.domain.history import lag_of_groups, problem_rows
from partita.gui.domain.view_data import build_view_data

from . import history, slices

log = logging.getLogger(__name__)

REFRESH = "refresh"
BUILDER_NICENESS = 10
FAILED = b"F"  # tag of a frame saying a refresh failed: the reason follows, UTF-8


def main() -> None:
    """Entry point: argv[1] is our end of the socket pair. The GUI process sends the log levels
    at once, and the connection's client factory (pickled) when a connection takes this process:
    until then it waits with its modules imported (builder_process.prestart)."""
    # Ctrl-C in a terminal reaches the whole process group: the GUI process decides when we stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(int(sys.argv[1]))
    try:
        log_levels = conn.recv()
        factory_pickle = conn.recv_bytes()
    except (EOFError, OSError):
        return  # a spare the console never used
    try:
        client_factory = pickle.loads(factory_pickle)
    except Exception as e:  # every refresh says why (a bug: factories are importable by design)
        client_factory = _Unloadable(f"the builder cannot load the connection's client factory: {e!r}")
    serve(conn, client_factory, log_levels)


class _Unloadable:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __call__(self):
        raise RuntimeError(self.reason)


def serve(conn, client_factory: Callable[[], object], log_levels: dict[str, int]) -> None:
    """One refresh per request until the GUI process closes its end of the socket (or dies: its
    end closes then too, so no builder outlives its console)."""
    logging.basicConfig(format="%(asctime)s %(name)s [builder] %(message)s")
    for name, level in log_levels.items():
        logging.getLogger(name).setLevel(level)
    # as in the GUI process (partita.gui.app.tune_gc): a refresh allocates about a million
    # acyclic objects, and full collections of them would only add CPU time to every refresh
    gc.set_threshold(700, 10, 1_000_000)
    client = None
    previous = None
    niced = False
    store = _history_store()
    try:
        while True:
            try:
                kind, sort_specs = conn.recv()
            except (EOFError, OSError):
                return
            if kind != REFRESH:
                continue
            try:
                if client is None:
                    client = client_factory()
                t0 = time.perf_counter()
                snapshot = client.snapshot()
                view = build_view_data(snapshot, previous, sort_specs, fetched_in=time.perf_counter() - t0)
            except Exception as e:  # the reason goes to the banner; the next request tries again
                conn.send_bytes(FAILED + (str(e) or type(e).__name__).encode())
                continue
            for frame in slices.frames(view):
                conn.send_bytes(frame)
            if store is not None:  # after the frames: the views do not wait for the disk
                _record(store, snapshot, view)
            # for the next refresh's events and rates, which need no groups (a third of a snapshot)
            previous = replace(snapshot, groups=())
            del snapshot
            del view
            if not niced:
                # the first refresh is the one an operator waits for (a blank window); the later
                # ones are background work: where the builder and the GUI process compete for a
                # core, the GUI should win
                os.nice(BUILDER_NICENESS)
                niced = True
    except (BrokenPipeError, ConnectionResetError, EOFError):
        return  # the GUI process closed its end while we were sending: it wants no more
    finally:
        if store is not None:
            store.close()
        if client is not None:
            close = getattr(client, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    pass


def _history_store() -> history.HistoryStore | None:
    if os.environ.get(history.ENV_OFF, "").lower() in ("off", "0", "no"):
        return None
    try:
        return history.HistoryStore()
    except Exception as e:  # a read-only or full disk: the console works on, without history
        log.warning("no history this session: %s", e)
        return None


def _record(store: history.HistoryStore, snapshot, view) -> None:
    try:
        total_lag, lagging = lag_of_groups(view.groups)
        store.record(snapshot.cluster_id or snapshot.bootstrap, snapshot.taken_at, view.health,
                     view.rates.messages_per_s if view.rates is not None else None,
                     list(view.event_lines), problem_rows(view.partitions), total_lag, lagging)
    except Exception as e:
        log.warning("history not written: %s", e)


if __name__ == "__main__":
    # builder_process starts us with module_command (python -m, or the frozen bundle's runner):
    # serve from the module under its own name, so loggers and pickles name it as when imported
    from partita.gui.services.view_builder import main as _main

    _main()
