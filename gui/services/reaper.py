"""Frees big, finished object graphs (old tables) a slice at a time.

Dropping the last reference to a refresh's tables frees about a million objects in one C-level
cascade: tens of milliseconds in whichever thread drops it. A `Dismantler` takes big containers
apart `CHUNK` items at a time, and `step()` stops after a time budget, so the GUI thread can do
it a few milliseconds per event-loop turn (partita.gui.qt.stepwise). It runs on the GUI thread
rather than on a thread of its own: a second thread holding the GIL, if the OS preempts it on a
busy machine, keeps the GUI thread waiting until it gets a core back.

A container someone else still references is left alone (only our reference is dropped).
"""

from __future__ import annotations

import dataclasses
import sys
import time

CHUNK = 256


def _big(v) -> bool:
    if isinstance(v, (list, tuple, dict)):
        return len(v) > CHUNK
    return dataclasses.is_dataclass(v) and not isinstance(v, type)


class Dismantler:
    def __init__(self) -> None:
        self._stack: list = []
        self._items: list = []  # the list being freed now, CHUNK items per round

    def add(self, obj) -> None:
        """Take `obj` apart (call it with your last reference; don't use obj after)."""
        if obj is not None:
            self._stack.append(obj)

    @property
    def busy(self) -> bool:
        return bool(self._stack or self._items)

    def step(self, budget_s: float) -> bool:
        """Free for about `budget_s` seconds; True while there is more to free."""
        deadline = time.perf_counter() + budget_s
        stack = self._stack
        while stack or self._items:
            if self._items:
                chunk = self._items[-CHUNK:]
                del self._items[-CHUNK:]
                stack.extend(v for v in chunk if _big(v))  # big items are taken apart in turn
                del chunk
            else:
                x = stack.pop()
                if sys.getrefcount(x) > 2:  # `x` and getrefcount's argument: anything more is another owner
                    del x  # still in use elsewhere: just drop our reference
                elif isinstance(x, list):
                    self._items = x
                elif isinstance(x, tuple):
                    self._items = list(x)
                elif isinstance(x, dict):
                    self._items = list(x.values())
                    x.clear()
                else:  # a dataclass shell (ViewData, Table, ClusterSummary): take its big parts
                    stack.extend(v for v in (getattr(x, f.name) for f in dataclasses.fields(x)) if _big(v))
                    cached = getattr(x, "__dict__", None)
                    if cached:
                        stack.extend(v for v in cached.values() if _big(v))
                x = None
            if time.perf_counter() >= deadline:
                break
        return self.busy
