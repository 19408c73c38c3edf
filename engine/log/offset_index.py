"""The sparse offset index of one segment: offset -> byte position in the .log file.

Kafka's `.index` format: 8-byte entries, offset relative to the segment's base offset
(int32) then position (int32). The segment adds an entry for a batch once more than
`index.interval.bytes` of log have been written since the previous entry, so a lookup
lands at most about that many bytes before the wanted batch and the reader scans
headers from there. Entries are keyed by the batch's base offset.
"""

from __future__ import annotations

import struct
from bisect import bisect_left, bisect_right
from pathlib import Path

from .sparse_index import SparseIndex

__all__ = ["OffsetIndex"]


class OffsetIndex(SparseIndex):
    KEY_TYPE = "i"
    VALUE_TYPE = "i"
    ENTRY = struct.Struct(">ii")

    __slots__ = ("base_offset",)

    def __init__(self, path: Path, base_offset: int, keys=None, values=None, persisted: int = 0):
        super().__init__(path, keys, values, persisted)
        self.base_offset = base_offset

    @classmethod
    def create(cls, path: Path, base_offset: int) -> OffsetIndex:
        with open(path, "wb"):
            pass
        return cls(path, base_offset)

    @classmethod
    def load(cls, path: Path, base_offset: int, log_size: int) -> OffsetIndex | None:
        """The index from disk, or None when missing or inconsistent with a log of `log_size` bytes."""
        loaded = cls._read(path)
        if loaded is None:
            return None
        keys, values = loaded
        positions = values
        if len(keys) and (keys[0] < 0 or positions[-1] >= max(log_size, 1)):
            return None
        for i in range(1, len(positions)):
            if positions[i] <= positions[i - 1]:
                return None
        return cls(path, base_offset, keys, values, len(keys))

    def append(self, offset: int, position: int) -> None:
        self._append(offset - self.base_offset, position)

    def lookup(self, offset: int) -> int:
        """Byte position of the last indexed batch starting at or before `offset` (0 if none)."""
        i = self._floor(offset - self.base_offset)
        return self.values[i] if i >= 0 else 0

    def last_entry_within(self, position: int, below_offset: int) -> tuple[int, int] | None:
        """The last entry at a byte position <= `position` whose offset is < `below_offset`."""
        i = (
            min(bisect_right(self.values, position), bisect_left(self.keys, below_offset - self.base_offset))
            - 1
        )
        if i < 0:
            return None
        return self.base_offset + self.keys[i], self.values[i]

    def truncate_to(self, offset: int) -> None:
        """Drop the entries for offsets >= `offset`."""
        self._truncate_entries(self._floor(offset - self.base_offset - 1) + 1)

    def last_entry(self) -> tuple[int, int]:
        if not self.keys:
            return self.base_offset, 0
        return self.base_offset + self.keys[-1], self.values[-1]
