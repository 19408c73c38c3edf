"""Sends a big object graph between processes as many small pickles.

One `pickle.loads` of a whole refresh (tables of 50,000 rows, about a million objects) takes
over a hundred milliseconds of one uninterrupted C call. `frames(obj)` cuts every list, tuple
and dict longer than `items_per_slice` out of the graph and sends its items in slices, each
pickled on its own; `Assembler` gathers the slices and, on the last frame (the graph with the
cut-out containers as references), puts the graph back together. Whoever unpickles then never
spends longer than one slice's `loads` at a time (about a millisecond for 2,000 table rows): the
GUI thread does it, a few slices per event-loop turn (partita.gui.qt.stepwise).

Containers nested inside a cut-out container's items travel whole (correct, just not sliced):
in a ViewData the big containers are all fields of tables and indexes, not nested in each other.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator

ITEMS_PER_SLICE = 2000
SLICE = b"S"  # tag of a frame holding (container number, items)
GRAPH = b"G"  # tag of the last frame: the object graph, cut-out containers as references
_CUT = (list, tuple, dict)


class _Cutter(pickle.Pickler):
    """Pickles a graph, leaving out big containers (pickled as a reference to their number)."""

    def __init__(self, file, min_items: int) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.min_items = min_items
        self.cut: list = []  # the containers left out, in reference order (kept alive: ids stay unique)
        self._numbers: dict[int, int] = {}

    def persistent_id(self, obj):
        kind = type(obj)
        if kind not in _CUT or len(obj) <= self.min_items:
            return None
        n = self._numbers.get(id(obj))
        if n is None:  # the same container referenced twice is sent once
            n = self._numbers[id(obj)] = len(self.cut)
            self.cut.append(obj)
        return (n, _CUT.index(kind))


def frames(obj, items_per_slice: int = ITEMS_PER_SLICE) -> Iterator[bytes]:
    """The frames that carry `obj`: slices of its big containers, then the graph."""
    graph = io.BytesIO()
    cutter = _Cutter(graph, items_per_slice)
    cutter.dump(obj)
    for n, container in enumerate(cutter.cut):
        items = list(container.items()) if type(container) is dict else container
        for start in range(0, len(items), items_per_slice):
            yield SLICE + pickle.dumps((n, items[start : start + items_per_slice]), pickle.HIGHEST_PROTOCOL)
    yield GRAPH + graph.getvalue()


class _Joiner(pickle.Unpickler):
    def __init__(self, file, parts: dict[int, list]) -> None:
        super().__init__(file)
        self._parts = parts

    def persistent_load(self, pid):
        n, kind = pid
        items = self._parts[n]
        if kind == 0:
            return items
        return tuple(items) if kind == 1 else dict(items)


class Assembler:
    """Gathers the frames of one object graph; `feed` returns the graph once it is whole."""

    def __init__(self) -> None:
        self._parts: dict[int, list] = {}

    def reset(self) -> dict[int, list]:
        """Start over; returns what was gathered so far (for the caller to free as it likes)."""
        parts, self._parts = self._parts, {}
        return parts

    def feed(self, frame: bytes):
        """None until the last frame; then the object `frames()` was given."""
        tag, body = frame[:1], memoryview(frame)[1:]
        if tag == SLICE:
            n, items = pickle.loads(body)
            part = self._parts.get(n)
            if part is None:
                self._parts[n] = items if type(items) is list else list(items)  # a tuple's slices are tuples
            else:
                part.extend(items)
            return None
        if tag == GRAPH:
            parts, self._parts = self._parts, {}
            return _Joiner(io.BytesIO(body), parts).load()
        raise ValueError(f"not a slice frame: tag {bytes(tag)!r}")
