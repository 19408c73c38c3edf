"""A sorted (key, value) index held in two arrays in memory and mirrored to a file.

The common part of the offset index and the time index: entries arrive in increasing key
order, lookups are a bisect over the key array, and the file is Kafka's layout (fixed-size
big-endian entries, key then value, no header). Appends only touch memory; `flush()`
writes the new entries in one go, so an append costs no system call. After a crash the
file may lag the log: the partition's recovery rebuilds the indexes of the segments it
recovers.

Unlike Kafka the file is not preallocated or memory-mapped: arrays of int32/int64 are as
compact as the mapped file and a bisect over them is a C loop.
"""

from __future__ import annotations

import os
import struct
import sys
from array import array
from bisect import bisect_right
from pathlib import Path

__all__ = ["SparseIndex"]

_LITTLE = sys.byteorder == "little"


class SparseIndex:
    KEY_TYPE = "i"  # array typecode of the key
    VALUE_TYPE = "i"
    ENTRY = struct.Struct(">ii")

    __slots__ = ("path", "keys", "values", "_persisted")

    def __init__(
        self, path: Path, keys: array | None = None, values: array | None = None, persisted: int = 0
    ):
        self.path = path
        self.keys = keys if keys is not None else array(self.KEY_TYPE)
        self.values = values if values is not None else array(self.VALUE_TYPE)
        self._persisted = persisted

    # -- file ---------------------------------------------------------------------------

    @classmethod
    def _read(cls, path: Path) -> tuple[array, array] | None:
        """The file's (keys, values); None if it is missing or malformed (size or key order)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        size = cls.ENTRY.size
        if len(data) % size:
            return None
        keys, values = cls._decode(data)
        for i in range(1, len(keys)):
            if keys[i] <= keys[i - 1]:
                return None
        return keys, values

    @classmethod
    def _decode(cls, data: bytes) -> tuple[array, array]:
        if cls.KEY_TYPE == cls.VALUE_TYPE == "i":
            both = array("i", data)
            if _LITTLE:
                both.byteswap()
            return both[0::2], both[1::2]
        keys, values = array(cls.KEY_TYPE), array(cls.VALUE_TYPE)
        for k, v in cls.ENTRY.iter_unpack(data):
            keys.append(k)
            values.append(v)
        return keys, values

    def _encode(self, start: int) -> bytes:
        n = len(self.keys) - start
        if self.KEY_TYPE == self.VALUE_TYPE == "i":
            both = array("i", bytes(8 * n))
            both[0::2] = self.keys[start:]
            both[1::2] = self.values[start:]
            if _LITTLE:
                both.byteswap()
            return both.tobytes()
        out = bytearray(self.ENTRY.size * n)
        pack, size = self.ENTRY.pack_into, self.ENTRY.size
        for i in range(n):
            pack(out, i * size, self.keys[start + i], self.values[start + i])
        return bytes(out)

    def flush(self, fsync: bool = False) -> None:
        """Write the entries appended since the last flush (and fsync when asked)."""
        if self._persisted == len(self.keys) and not fsync:
            return
        with open(self.path, "ab") as f:
            if self._persisted < len(self.keys):
                f.write(self._encode(self._persisted))
                self._persisted = len(self.keys)
            if fsync:
                f.flush()
                os.fsync(f.fileno())

    def rewrite(self) -> None:
        """Replace the file with the in-memory entries (after a rebuild)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(self._encode(0))
        os.replace(tmp, self.path)
        self._persisted = len(self.keys)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)

    # -- entries ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.keys)

    def _append(self, key: int, value: int) -> None:
        self.keys.append(key)
        self.values.append(value)

    def _floor(self, key: int) -> int:
        """Index of the last entry with entry key <= key, or -1."""
        return bisect_right(self.keys, key) - 1

    def _truncate_entries(self, n: int) -> None:
        """Keep the first n entries, in memory and on disk."""
        if n >= len(self.keys):
            return
        del self.keys[n:]
        del self.values[n:]
        if self._persisted > n:
            try:
                os.truncate(self.path, n * self.ENTRY.size)
            except FileNotFoundError:
                pass
            self._persisted = n

    def clear(self) -> None:
        self._truncate_entries(0)
