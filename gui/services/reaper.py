"""Frees big, finished object graphs (old snapshots and tables) a little at a time.

Dropping the last reference to a 50,000-partition snapshot frees about a million objects in one
C-level cascade that holds the GIL for tens of milliseconds, in whatever thread happens to drop
it — the GUI thread, if it held the last reference. `dispose(obj)` hands the reference to a
background thread that takes big containers apart in slices and yields the GIL between slices.
A container someone else still references is left alone (only our reference is dropped).
"""

from __future__ import annotations

import dataclasses
import queue
import sys
import threading
import time

CHUNK = 256
_queue: queue.SimpleQueue = queue.SimpleQueue()
_thread: threading.Thread | None = None
_lock = threading.Lock()


def dispose(obj) -> None:
    """Let the reaper thread drop `obj` (call it with your last reference; don't use obj after)."""
    global _thread
    if obj is None:
        return
    if _thread is None:
        with _lock:
            if _thread is None:
                _thread = threading.Thread(target=_run, name="partita-reaper", daemon=True)
                _thread.start()
    _queue.put(obj)


def _run() -> None:
    while True:
        obj = _queue.get()
        stack = [obj]
        del obj
        _dismantle(stack)


def _big(v) -> bool:
    if isinstance(v, (list, tuple, dict)):
        return len(v) > CHUNK
    return dataclasses.is_dataclass(v) and not isinstance(v, type)


def _dismantle(stack: list) -> None:
    while stack:
        x = stack.pop()
        if sys.getrefcount(x) > 2:  # our `x` and getrefcount's argument: anything more is another owner
            continue  # still in use elsewhere: just drop our reference
        if isinstance(x, list):
            _slice_free(x)
        elif isinstance(x, tuple):
            items = list(x)
            del x
            _slice_free(items)
        elif isinstance(x, dict):
            values = list(x.values())
            x.clear()
            _slice_free(values)
        else:  # a dataclass shell (ViewData, ClusterSnapshot, Table, RawCluster): take its big parts
            stack.extend(v for v in (getattr(x, f.name) for f in dataclasses.fields(x)) if _big(v))
            cached = getattr(x, "__dict__", None)
            if cached:
                stack.extend(v for v in cached.values() if _big(v))
        time.sleep(0)


def _slice_free(items: list) -> None:
    """Free the items of a list we own, CHUNK at a time, yielding the GIL in between."""
    while items:
        del items[-CHUNK:]
        time.sleep(0)
