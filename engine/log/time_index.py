"""The sparse time index of one segment: the largest timestamp so far -> its offset.

Kafka's `.timeindex` format: 12-byte entries, timestamp (int64) then offset relative to
the segment's base offset (int32). An entry is added alongside an offset-index entry
when the segment's largest timestamp has grown, and once more when the segment stops
being active, so the last entry is the segment's largest timestamp (what time-based
retention and ListOffsets MAX_TIMESTAMP need without reading the log).
"""

from __future__ import annotations

import struct
from pathlib import Path

from .sparse_index import SparseIndex

__all__ = ["TimeIndex"]


class TimeIndex(SparseIndex):
    KEY_TYPE = "q"
    VALUE_TYPE = "i"
    ENTRY = struct.Struct(">qi")

    __slots__ = ("base_offset",)

    def __init__(self, path: Path, base_offset: int, keys=None, values=None, persisted: int = 0):
        super().__init__(path, keys, values, persisted)
        self.base_offset = base_offset

    @classmethod
    def create(cls, path: Path, base_offset: int) -> TimeIndex:
        with open(path, "wb"):
            pass
        return cls(path, base_offset)

    @classmethod
    def load(cls, path: Path, base_offset: int) -> TimeIndex | None:
        loaded = cls._read(path)
        if loaded is None:
            return None
        keys, values = loaded
        offsets = values
        for i in range(1, len(offsets)):
            if offsets[i] < offsets[i - 1]:
                return None
        return cls(path, base_offset, keys, values, len(keys))

    def maybe_append(self, timestamp: int, offset: int) -> None:
        """Add (timestamp, offset) if the timestamp is larger than the last entry's."""
        if timestamp < 0:
            return
        if self.keys and timestamp <= self.keys[-1]:
            return
        self._append(timestamp, offset - self.base_offset)

    def lookup(self, timestamp: int) -> tuple[int, int]:
        """(timestamp, offset) of the last entry with timestamp <= `timestamp`; (-1, base) if none."""
        i = self._floor(timestamp)
        if i < 0:
            return -1, self.base_offset
        return self.keys[i], self.base_offset + self.values[i]

    def last_entry(self) -> tuple[int, int]:
        if not self.keys:
            return -1, self.base_offset
        return self.keys[-1], self.base_offset + self.values[-1]

    def truncate_to(self, offset: int) -> None:
        """Drop the entries pointing at offsets >= `offset`."""
        rel = offset - self.base_offset
        n = len(self.values)
        while n and self.values[n - 1] >= rel:
            n -= 1
        self._truncate_entries(n)
